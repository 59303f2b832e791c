// SPDX-License-Identifier: MIT
// DownloadModel: which files of a Mamba repository to fetch (config, weights in one of three
// layouts, tokenizer with the GPT-NeoX fallback, small optional JSON files), all at one commit.
#include <filesystem>
#include <fstream>
#include <set>

#include <nlohmann/json.hpp>

#include "base/log.h"
#include "download/fetch_file.h"
#include "download/hf_cache.h"

namespace mamba {

namespace fs = std::filesystem;

namespace {

// The shard file names listed in a model.safetensors.index.json, sorted and unique.
StatusOr<std::set<std::string>> ShardNames(const std::string& index_path) {
  std::ifstream in(index_path, std::ios::binary);
  if (!in) return IoError("cannot open '" + index_path + "'");
  nlohmann::json index = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (index.is_discarded() || !index.is_object()) {
    return InvalidArgumentError("'" + index_path + "': not a JSON object");
  }
  auto map = index.find("weight_map");
  if (map == index.end() || !map->is_object() || map->empty()) {
    return InvalidArgumentError("'" + index_path + "': missing or empty 'weight_map'");
  }
  std::set<std::string> shards;
  for (const auto& [tensor, shard] : map->items()) {
    if (!shard.is_string()) {
      return InvalidArgumentError("'" + index_path + "': weight_map['" + tensor +
                                  "'] is not a file name");
    }
    const std::string name = shard.get<std::string>();
    MAMBA_RETURN_IF_ERROR(ValidateRepoFilename(name).WithPrefix(index_path));
    shards.insert(name);
  }
  return shards;
}

// Fetches `filename` if the repository has it. Returns true when fetched, false when it is absent
// (or not cached while offline); other failures are errors.
StatusOr<bool> FetchIfPresent(const std::string& repo_id, const std::string& filename,
                              const DownloadOptions& options) {
  Missing missing = Missing::kNo;
  StatusOr<std::string> path = FetchFile(repo_id, filename, options, &missing);
  if (path.ok()) return true;
  if (path.status().code() == StatusCode::kNotFound &&
      (missing == Missing::kEntry || missing == Missing::kUnknown404 ||
       missing == Missing::kNotCached)) {
    return false;
  }
  return path.status();
}

// The weights in the first layout the repository has.
Status FetchWeights(const std::string& repo_id, const DownloadOptions& options,
                    const std::string& snapshot) {
  MAMBA_ASSIGN_OR_RETURN(bool single, FetchIfPresent(repo_id, "model.safetensors", options));
  if (single) return Status::Ok();
  const std::string index_name = "model.safetensors.index.json";
  MAMBA_ASSIGN_OR_RETURN(bool sharded, FetchIfPresent(repo_id, index_name, options));
  if (sharded) {
    MAMBA_ASSIGN_OR_RETURN(std::set<std::string> shards,
                           ShardNames((fs::path(snapshot) / index_name).string()));
    for (const std::string& shard : shards) {
      Missing missing = Missing::kNo;
      StatusOr<std::string> path = FetchFile(repo_id, shard, options, &missing);
      if (!path.ok()) return path.status().WithPrefix(index_name + " names shard '" + shard + "'");
    }
    return Status::Ok();
  }
  MAMBA_ASSIGN_OR_RETURN(bool bin, FetchIfPresent(repo_id, "pytorch_model.bin", options));
  if (bin) return Status::Ok();
  return NotFoundError("repository '" + repo_id + "' has no weights (model.safetensors, " +
                       index_name + " or pytorch_model.bin)" +
                       (options.offline ? " in the cache (offline mode)" : ""));
}

// tokenizer.json from the repository, else GPT-NeoX-20B's copied into the snapshot directory.
Status FetchTokenizer(const std::string& repo_id, const DownloadOptions& options,
                      const std::string& snapshot) {
  MAMBA_ASSIGN_OR_RETURN(bool own, FetchIfPresent(repo_id, "tokenizer.json", options));
  if (own) return Status::Ok();
  const std::string target = (fs::path(snapshot) / "tokenizer.json").string();
  DownloadOptions fallback = options;
  fallback.revision = "main";
  StatusOr<std::string> neox = DownloadFile(kFallbackTokenizerRepo, "tokenizer.json", fallback);
  if (!neox.ok()) {
    const Status error = neox.status().WithPrefix(
        "'" + repo_id + "' has no tokenizer.json and the GPT-NeoX-20B one (" +
        kFallbackTokenizerRepo + ") could not be fetched");
    if (!options.offline) return error;
    Log(LogLevel::kWarning, "%s", error.message().c_str());
    return Status::Ok();
  }
  return CopyFileAtomically(*neox, target);
}

}  // namespace

StatusOr<std::string> DownloadModel(const std::string& repo_id, const DownloadOptions& in_options) {
  DownloadOptions options = in_options;
  while (!options.endpoint.empty() && options.endpoint.back() == '/') options.endpoint.pop_back();
  Missing missing = Missing::kNo;
  StatusOr<std::string> config = FetchFile(repo_id, "config.json", options, &missing);
  if (!config.ok()) {
    if (missing == Missing::kUnknown404) {
      return NotFoundError("repository '" + repo_id + "' not found on " + options.endpoint +
                           " (or it is private: set HF_TOKEN)");
    }
    if (missing == Missing::kEntry) {
      return NotFoundError("repository '" + repo_id + "' has no config.json at revision '" +
                           options.revision + "': is it a Mamba model repository?");
    }
    return config.status();
  }
  const std::string snapshot = fs::path(*config).parent_path().string();
  // Everything else comes from the commit config.json resolved to, even if the branch moves
  // meanwhile; cached files of a commit need no network at all.
  DownloadOptions pinned = options;
  pinned.revision = fs::path(snapshot).filename().string();

  MAMBA_RETURN_IF_ERROR(FetchWeights(repo_id, pinned, snapshot));
  MAMBA_RETURN_IF_ERROR(FetchTokenizer(repo_id, pinned, snapshot));
  for (const char* extra :
       {"generation_config.json", "tokenizer_config.json", "special_tokens_map.json"}) {
    MAMBA_ASSIGN_OR_RETURN(bool fetched, FetchIfPresent(repo_id, extra, pinned));
    (void)fetched;
  }
  return snapshot;
}

}  // namespace mamba
