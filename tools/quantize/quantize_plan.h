// SPDX-License-Identifier: MIT
// mamba-quantize's tensor-type plan (which GGUF tensor gets which type, as llama-quantize chooses
// for Mamba) and the conversion of a checkpoint into a quantized GGUF.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/dtype.h"
#include "base/status.h"

namespace mamba {

// A requested file type (the TYPE argument): the main matrix type, the type of the tied
// embedding / output head, and llama.cpp's general.file_type number.
struct QuantTarget {
  std::string name;  // "q4_k_m"
  DType matrix;      // ssm_in / ssm_x / ssm_out
  DType output;      // token_embd (tied head) and output.weight
  uint32_t file_type;
};

// The targets, in the order of the help text.
const std::vector<QuantTarget>& QuantTargets();
// Case-insensitive lookup ("Q4_K_M" and "q4_k_m" both work); nullopt when unknown.
std::optional<QuantTarget> FindQuantTarget(const std::string& name);

// The type of the GGUF matrix `gguf_name` with rows of `cols` elements under `target`:
// token_embd / output get target.output, the other matrices target.matrix; then QuantFallback
// for rows that fit no block (ssm_dt's dt_rank-wide rows -> F16). 1-D tensors, norms,
// ssm_conv1d, ssm_a and ssm_d are not matrices and always stay F32 (gguf_export does that).
DType PlanMatrixType(const QuantTarget& target, const std::string& gguf_name, int64_t cols);

struct QuantizeResult {
  uint64_t in_bytes = 0;   // weight bytes of the input checkpoint
  uint64_t out_bytes = 0;  // size of the written file
  bool has_vocab = false;  // the output carries tokenizer.ggml.* (llama.cpp needs them)
};

// Reads `in` (any format OpenCheckpoint takes), writes `out` as a llama.cpp-layout GGUF with the
// types of PlanMatrixType, copying the vocabulary (the GGUF's tokenizer.ggml.* keys, or the
// converter's keys built from tokenizer.json when the model has one). `progress(name, done,
// total)` is called after each converted matrix.
StatusOr<QuantizeResult> QuantizeModelFile(
    const std::string& in, const std::string& out, const QuantTarget& target,
    const std::function<void(const std::string&, int, int)>& progress = {});

}  // namespace mamba
