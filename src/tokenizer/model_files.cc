// SPDX-License-Identifier: MIT
// Model-directory helpers for the tokenizer: where tokenizer.json is, and which ids start, end
// and pad generation.

#include "tokenizer/model_files.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

#include <nlohmann/json.hpp>

namespace mamba {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

bool IsRegularFile(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec);
}

Status ReadId(const json& obj, const char* key, const std::string& file,
              std::optional<int32_t>& out) {
  const auto it = obj.find(key);
  if (it == obj.end()) return Status::Ok();
  if (it->is_null()) {
    out.reset();
    return Status::Ok();
  }
  if (!it->is_number_integer() || it->get<int64_t>() < 0 || it->get<int64_t>() > INT32_MAX) {
    return InvalidArgumentError(file + ": " + key + ": expected a non-negative integer");
  }
  out = static_cast<int32_t>(it->get<int64_t>());
  return Status::Ok();
}

Status ReadIdList(const json& obj, const char* key, const std::string& file,
                  std::vector<int32_t>& out) {
  const auto it = obj.find(key);
  if (it == obj.end()) return Status::Ok();
  out.clear();
  if (it->is_null()) return Status::Ok();
  const auto valid = [](const json& v) {
    return v.is_number_integer() && v.get<int64_t>() >= 0 && v.get<int64_t>() <= INT32_MAX;
  };
  if (valid(*it)) {
    out.push_back(static_cast<int32_t>(it->get<int64_t>()));
    return Status::Ok();
  }
  if (!it->is_array()) {
    return InvalidArgumentError(file + ": " + key + ": expected an integer or a list of them");
  }
  for (const json& v : *it) {
    if (!valid(v)) {
      return InvalidArgumentError(file + ": " + key + ": expected non-negative integers");
    }
    out.push_back(static_cast<int32_t>(v.get<int64_t>()));
  }
  return Status::Ok();
}

Status MergeConfigFile(const fs::path& path, GenerationTokenIds& ids) {
  if (!IsRegularFile(path)) return Status::Ok();
  const std::string file = path.string();
  std::ifstream in(path, std::ios::binary);
  if (!in) return IoError(file + ": cannot open");
  std::ostringstream text;
  text << in.rdbuf();
  const json doc = json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return InvalidArgumentError(file + ": not valid JSON");
  if (!doc.is_object()) return InvalidArgumentError(file + ": the top level is not an object");
  MAMBA_RETURN_IF_ERROR(ReadId(doc, "bos_token_id", file, ids.bos));
  MAMBA_RETURN_IF_ERROR(ReadIdList(doc, "eos_token_id", file, ids.eos));
  return ReadId(doc, "pad_token_id", file, ids.pad);
}

}  // namespace

StatusOr<std::string> FindTokenizerFile(const std::string& model_path,
                                        const std::string& override_path) {
  if (!override_path.empty()) {
    if (!IsRegularFile(override_path)) {
      return NotFoundError("tokenizer file '" + override_path + "' does not exist");
    }
    return override_path;
  }
  std::error_code ec;
  const fs::path model(model_path);
  const fs::path dir = fs::is_directory(model, ec) ? model : model.parent_path();
  const fs::path candidate = (dir.empty() ? fs::path(".") : dir) / "tokenizer.json";
  if (!IsRegularFile(candidate)) {
    return NotFoundError("no tokenizer.json for model '" + model_path + "' (looked for '" +
                         candidate.string() + "'); pass the tokenizer file explicitly");
  }
  return candidate.string();
}

StatusOr<GenerationTokenIds> ReadGenerationTokenIds(const std::string& model_dir) {
  GenerationTokenIds ids;
  const fs::path dir(model_dir);
  try {
    MAMBA_RETURN_IF_ERROR(MergeConfigFile(dir / "config.json", ids));
    MAMBA_RETURN_IF_ERROR(MergeConfigFile(dir / "generation_config.json", ids));
  } catch (const std::exception& e) {
    return InternalError(model_dir + ": " + e.what());
  }
  return ids;
}

StatusOr<GenerationTokenIds> LoadGenerationTokenIds(const std::string& model_dir,
                                                    const Tokenizer& tokenizer) {
  MAMBA_ASSIGN_OR_RETURN(GenerationTokenIds ids, ReadGenerationTokenIds(model_dir));
  const std::optional<int32_t> eot = tokenizer.TokenId("<|endoftext|>");
  if (ids.eos.empty() && eot) ids.eos.push_back(*eot);
  if (!ids.bos && eot) ids.bos = eot;
  return ids;
}

}  // namespace mamba
