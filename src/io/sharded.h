// SPDX-License-Identifier: MIT
// Loader for sharded safetensors checkpoints described by `model.safetensors.index.json`
// (`{"metadata": {...}, "weight_map": {tensor_name: shard_file_name}}`). Layer: io.
#pragma once

#include <string>

#include "base/status.h"
#include "io/tensor_view.h"

namespace mamba {

// Reads the index at `index_json_path`, loads every distinct shard named in its weight_map
// (relative to the index's directory) with LoadSafetensorsFile and returns all their tensors as
// one set (no data is copied). Fails, naming the index, tensor and shard at fault, when: the index
// is not valid JSON or has no `weight_map` object; a shard name is not a string, is empty, is an
// absolute path or contains a `..` component; a shard fails to load; a tensor listed in the
// weight_map is missing from its shard; or a shard holds a tensor the weight_map does not assign
// to it.
StatusOr<TensorSet> LoadShardedSafetensors(const std::string& index_json_path,
                                           FileAccess access = FileAccess::kMap);

}  // namespace mamba
