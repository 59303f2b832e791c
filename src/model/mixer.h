// SPDX-License-Identifier: MIT
// The seam between the generic model (embedding, residual stream, norms, head) and one
// architecture's sequence mixer. Mamba-1 lives in mamba1.cc; a new architecture is one new file
// plus one line in arch_registry.cc.
#pragma once

#include <cstdint>
#include <memory>
#include <span>

#include "base/aligned_buffer.h"
#include "base/status.h"
#include "model/config.h"
#include "model/state.h"
#include "model/weight_binder.h"
#include "threading/thread_pool.h"

namespace mamba {

// Rows [begin, begin + length) of a batch belong to one sequence, whose state is `state`.
struct SeqSlice {
  int64_t begin = 0;
  int64_t length = 0;
  SequenceState* state = nullptr;
};

// Reusable scratch buffers, grown on demand and kept between calls (not thread-safe).
class Scratch {
 public:
  // A buffer of at least `n` floats for `slot`; contents unspecified. Pointers from earlier calls
  // with the same slot are invalidated when it grows.
  float* Get(int slot, size_t n) {
    if (slot >= static_cast<int>(buffers_.size())) buffers_.resize(slot + 1);
    buffers_[slot].EnsureSize(n);
    return buffers_[slot].data();
  }

 private:
  std::vector<AlignedBuffer<float>> buffers_;
};

// rows[i * stride + j] += bias[j] for i < n, j < width; nothing when `bias` is empty (the
// projections' optional biases).
void AddBiasRows(float* rows, int64_t n, int64_t width, int64_t stride, const F32Param& bias);

class Mixer {
 public:
  virtual ~Mixer() = default;

  // Mixes the normalized residual rows of a batch of sequences.
  // in:  [n_rows, d_model] (row stride d_model), the output of the block's RMSNorm;
  // out: [n_rows, d_model], the mixer output (the caller adds it to the residual); may be `in`
  // itself (a mixer reads `in` only before it writes any of `out`).
  // `seqs` partition [0, n_rows) in order; each sequence's layer state (state->conv(layer),
  // state->ssm(layer)) is read and advanced past its rows.
  virtual void Forward(int64_t layer, const float* in, int64_t n_rows,
                       std::span<const SeqSlice> seqs, float* out, Scratch& scratch,
                       ThreadPool* pool) const = 0;
};

// What an architecture provides to the generic model.
struct ArchOps {
  // Shape of the recurrent state of one sequence.
  StateShape (*state_shape)(const ModelConfig& config);
  // Binds and validates the mixer weights of layer `layer` (tensor names under `prefix`, e.g.
  // "backbone.layers.3.mixer.").
  StatusOr<std::unique_ptr<Mixer>> (*load_mixer)(const ModelConfig& config,
                                                 const WeightBinder& weights,
                                                 const std::string& prefix);
};

// The ops of `arch`, or Unimplemented when the engine does not support it yet.
StatusOr<const ArchOps*> GetArchOps(Arch arch);

}  // namespace mamba
