// SPDX-License-Identifier: MIT
// Writes a Mamba-1 Checkpoint (any format we read) as a GGUF file laid out as llama.cpp's
// convert_hf_to_gguf.py lays it out, so llama.cpp and our reader load it. Layer: model.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
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
  // Optional: the stored type of each matrix (token_embd, output, ssm_in/x/dt/out), given its
  // GGUF name and source view (shape in PyTorch order). A type other than the source's is
  // produced by converting through F32 (F32/F16/BF16, or QuantizeRow for a block type; the
  // row length must then be a multiple of the block size). Unset: stored as is.
  std::function<DType(const std::string& gguf_name, const TensorView& src)> matrix_type;
  // Overrides general.file_type (default: from the embedding's dtype, see MambaGgufMetadata).
  std::optional<uint32_t> file_type;
  // With matrix_type: called after each matrix (its source name, matrices done so far).
  std::function<void(const std::string& src_name, int converted)> progress;
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
