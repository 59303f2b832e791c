// SPDX-License-Identifier: MIT
// Finds and opens a checkpoint the way users download it: a model directory (state-spaces or
// Hugging Face layout) or a weights file, with its config.json.
#pragma once

#include <memory>
#include <string>

#include "base/status.h"
#include "io/gguf.h"
#include "io/tensor_view.h"
#include "model/config.h"

namespace mamba {

struct Checkpoint {
  ModelConfig config;
  TensorSet tensors;
  std::string dir;           // the model directory (tokenizer.json etc. are looked up here)
  std::string config_path;   // the config.json that was read
  std::string weights_path;  // the weights file (or the shard index) that was read
  // Set when the weights are a GGUF file: its metadata (tokenizer.ggml.* etc.). config_path is
  // then empty, the config coming from the GGUF's own keys.
  std::shared_ptr<const GgufFile> gguf;
};

// `path`: a directory holding config.json and one of model.safetensors,
// model.safetensors.index.json (+ shards) or pytorch_model.bin, or else exactly one *.gguf file;
// or one of those files directly. `config_path`: overrides the config location (default:
// config.json next to the weights); a GGUF file carries its own config and ignores it.
// `access`: how the weights files get into memory (see FileAccess).
StatusOr<Checkpoint> OpenCheckpoint(const std::string& path, const std::string& config_path = "",
                                    FileAccess access = FileAccess::kMap);

}  // namespace mamba
