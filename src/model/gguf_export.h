// SPDX-License-Identifier: MIT
// Writes a Mamba-1 Checkpoint (any format we read) as a GGUF file laid out as llama.cpp's
// convert_hf_to_gguf.py lays it out, so llama.cpp and our reader load it. Layer: model.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "base/status.h"
#include "io/gguf.h"
#include "model/checkpoint.h"

namespace mamba {

struct GgufExportOptions {
  std::string name = "mamba";  // general.name
  // Appended after the model keys (e.g. the tokenizer.ggml.* keys of the vocabulary).
  std::vector<std::pair<std::string, GgufValue>> extra_metadata;
};

// The llama.cpp metadata of `config` (general.*, mamba.*), in the converter's order.
// `file_type` is general.file_type (0 = all F32, 1 = mostly F16, 32 = mostly BF16).
std::vector<std::pair<std::string, GgufValue>> MambaGgufMetadata(const ModelConfig& config,
                                                                 const std::string& name,
                                                                 uint32_t file_type);

// Writes `ck` (Mamba-1 only) to `path` like the converter does: matrices (embedding, head,
// in/x/dt/out projections) in their stored dtype; norms, biases, D and the squeezed conv weight
// upcast to F32; ssm_a = -exp(A_log) computed in float32, rounded to A_log's dtype (as the
// converter computes it in the checkpoint dtype) and stored as F32. Errors name the tensor.
Status WriteMambaGguf(const Checkpoint& ck, const std::string& path,
                      const GgufExportOptions& options = {});

}  // namespace mamba
