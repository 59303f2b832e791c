// SPDX-License-Identifier: MIT
// Sharded safetensors: validates the index, loads each shard once and cross-checks the weight_map.
#include "io/sharded.h"

#include <map>
#include <string_view>
#include <utility>

#include <nlohmann/json.hpp>

#include "io/mapped_file.h"
#include "io/safetensors.h"

namespace mamba {
namespace {

using json = nlohmann::json;

// A shard name must stay inside the index's directory.
Status CheckShardName(const std::string& shard, const std::string& tensor,
                      const std::string& index_name) {
  const std::string where = index_name + ": tensor '" + tensor + "': shard '" + shard + "'";
  if (shard.empty())
    return InvalidArgumentError(index_name + ": tensor '" + tensor + "': empty shard name");
  if (shard.front() == '/' || shard.front() == '\\') {
    return InvalidArgumentError(where + " is an absolute path");
  }
  if (shard.find('\0') != std::string::npos) {
    return InvalidArgumentError(where + " contains a NUL byte");
  }
  size_t start = 0;
  while (start <= shard.size()) {
    size_t end = shard.find_first_of("/\\", start);
    if (end == std::string::npos) end = shard.size();
    if (std::string_view(shard).substr(start, end - start) == "..") {
      return InvalidArgumentError(where + " escapes the index directory ('..')");
    }
    start = end + 1;
  }
  return Status::Ok();
}

std::string DirectoryOf(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace

StatusOr<TensorSet> LoadShardedSafetensors(const std::string& index_json_path, FileAccess access) {
  const std::string& index_name = index_json_path;
  MAMBA_ASSIGN_OR_RETURN(std::shared_ptr<MappedFile> index_file, MappedFile::Open(index_json_path));
  const char* text = reinterpret_cast<const char*>(index_file->data());
  json index = json::parse(text, text + index_file->size(), nullptr, /*allow_exceptions=*/false);
  if (index.is_discarded()) return InvalidArgumentError(index_name + ": not valid JSON");
  if (!index.is_object()) return InvalidArgumentError(index_name + ": not a JSON object");
  auto map_it = index.find("weight_map");
  if (map_it == index.end()) return InvalidArgumentError(index_name + ": missing 'weight_map'");
  if (!map_it->is_object()) {
    return InvalidArgumentError(index_name + ": 'weight_map' is a " +
                                std::string(map_it->type_name()) + ", expected an object");
  }
  auto metadata_it = index.find("metadata");
  if (metadata_it != index.end() && !metadata_it->is_object() && !metadata_it->is_null()) {
    return InvalidArgumentError(index_name + ": 'metadata' is a " +
                                std::string(metadata_it->type_name()) + ", expected an object");
  }

  // tensor -> shard, validated; shard -> number of tensors assigned to it.
  std::map<std::string, std::string> weight_map;
  std::map<std::string, size_t> shard_counts;
  for (const auto& [tensor, shard_json] : map_it->items()) {
    if (!shard_json.is_string()) {
      return InvalidArgumentError(index_name + ": tensor '" + tensor + "': shard is a " +
                                  std::string(shard_json.type_name()) + ", expected a string");
    }
    const std::string& shard = shard_json.get_ref<const std::string&>();
    MAMBA_RETURN_IF_ERROR(CheckShardName(shard, tensor, index_name));
    weight_map.emplace(tensor, shard);
    ++shard_counts[shard];
  }

  const std::string dir = DirectoryOf(index_json_path);
  std::map<std::string, TensorSet> shards;
  for (const auto& [shard, count] : shard_counts) {
    const std::string shard_path = dir + "/" + shard;
    StatusOr<TensorSet> loaded = LoadSafetensorsFile(shard_path, access);
    if (!loaded.ok()) {
      return loaded.status().WithPrefix(index_name + ": shard '" + shard + "'");
    }
    for (const std::string& name : loaded->Names()) {
      auto it = weight_map.find(name);
      if (it == weight_map.end() || it->second != shard) {
        return InvalidArgumentError(
            index_name + ": shard '" + shard + "' holds tensor '" + name + "', which the " +
            (it == weight_map.end() ? std::string("weight_map does not list")
                                    : "weight_map assigns to shard '" + it->second + "'"));
      }
    }
    shards.emplace(shard, std::move(loaded).value());
  }

  TensorSet result;
  for (const auto& [tensor, shard] : weight_map) {
    const TensorView* view = shards.at(shard).Find(tensor);
    if (view == nullptr) {
      return NotFoundError(index_name + ": tensor '" + tensor + "' is not in its shard '" + shard +
                           "'");
    }
    MAMBA_RETURN_IF_ERROR(result.Add(*view).WithPrefix(index_name));
  }
  return result;
}

}  // namespace mamba
