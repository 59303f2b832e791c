// SPDX-License-Identifier: MIT
// Model: the weights of a Mamba language model and its forward pass over a batch of sequences.
// Immutable after Load and safe to share between threads; all per-sequence data lives in
// SequenceState and all temporaries in a caller-owned Scratch.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "model/checkpoint.h"
#include "model/mixer.h"
#include "model/regrouped_weights.h"
#include "model/weight_binder.h"

namespace mamba {

// One forward call: the tokens of several sequences concatenated, the slices that say which rows
// belong to which sequence, and the rows whose logits are wanted.
struct ForwardBatch {
  std::span<const int32_t> tokens;      // [n_rows]
  std::span<const SeqSlice> seqs;       // partition of [0, n_rows) in order
  std::span<const int64_t> logit_rows;  // strictly increasing row indices, may be empty
  float* logits = nullptr;              // [logit_rows.size(), vocab_padded]
};

// What the tools' --no-regroup flag (Model::Load's regroup_weights = false) does, for their help.
inline constexpr char kNoRegroupHelp[] =
    "keep quantized matrices in the file's layout: skip copying Q8_0 / Q4_0 / Q4_1 / Q5_0 / Q5_1 "
    "/ Q4_K / Q5_K / Q6_K matrices into the layout the x86 kernels decode fastest (faster load, "
    "slower decode; as llama.cpp's --no-repack)";

class Model {
 public:
  // Opens the checkpoint at `path` (see OpenCheckpoint) and binds and validates every weight.
  // `regroup_weights`: rewrite the quantized matrices the dispatched kernels read faster
  // regrouped (RegroupedWeights); their stored bytes are then released.
  static StatusOr<std::unique_ptr<Model>> Load(const std::string& path,
                                               const std::string& config_path = "",
                                               FileAccess access = FileAccess::kMap,
                                               bool regroup_weights = true);

  const ModelConfig& config() const { return checkpoint_.config; }
  const Checkpoint& checkpoint() const { return checkpoint_; }
  StateShape state_shape() const { return arch_->state_shape(checkpoint_.config); }
  // A zeroed state for a new sequence.
  SequenceState NewState() const { return SequenceState(state_shape()); }
  // Bytes of weight data in the mapped files.
  size_t weight_bytes() const { return weight_bytes_; }
  // Where the bytes the forward pass reads for each checkpoint tensor are: the tensor's own, or
  // its regrouped copy (benchmarks stream them); and how many tensors were regrouped.
  std::vector<std::pair<const uint8_t*, size_t>> WeightMemory() const;
  int regrouped_tensors() const { return regrouped_tensors_; }

  // Runs the batch through the model, advancing each sequence's state (and n_past) past its
  // tokens. Fails (without touching any state) when a token id is outside [0, vocab_padded) or
  // the slices do not partition the tokens.
  Status Forward(const ForwardBatch& batch, Scratch& scratch, ThreadPool* pool) const;

 private:
  Model() = default;

  Checkpoint checkpoint_;
  std::unique_ptr<RegroupedWeights> regrouped_;  // null when not asked for
  int regrouped_tensors_ = 0;
  const ArchOps* arch_ = nullptr;
  WeightMatrix embedding_;                      // [vocab_padded, d_model]
  WeightMatrix lm_head_;                        // [vocab_padded, d_model] (the embedding when tied)
  std::vector<F32Param> norm_;                  // n_layer x [d_model]
  F32Param norm_f_;                             // [d_model]
  std::vector<std::unique_ptr<Mixer>> mixers_;  // n_layer
  size_t weight_bytes_ = 0;
};

}  // namespace mamba
