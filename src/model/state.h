// SPDX-License-Identifier: MIT
// SequenceState: the recurrent state of one sequence, fixed-size whatever its length. Per layer a
// conv window and an SSM state, both F32. This is everything a Mamba model remembers, so saving,
// restoring or forking a sequence is a copy of these two buffers.
#pragma once

#include <cstdint>

#include "base/aligned_buffer.h"

namespace mamba {

struct StateShape {
  int64_t n_layer = 0;
  int64_t conv_rows = 0;      // d_conv - 1 (the window before the current token)
  int64_t conv_channels = 0;  // d_inner (Mamba-1)
  int64_t ssm_size = 0;       // floats per layer: d_inner * d_state (Mamba-1)

  int64_t conv_per_layer() const { return conv_rows * conv_channels; }
};

class SequenceState {
 public:
  SequenceState() = default;
  explicit SequenceState(const StateShape& shape);
  SequenceState(SequenceState&&) = default;
  SequenceState& operator=(SequenceState&&) = default;

  // Deep copy; explicit because it allocates n_layer * (conv + ssm) floats.
  SequenceState Clone() const;
  // Back to the start of a sequence: zero state, n_past 0.
  void Reset();

  const StateShape& shape() const { return shape_; }
  // [conv_rows, conv_channels] of layer `layer`; row conv_rows-1 is the newest input.
  float* conv(int64_t layer) { return conv_.data() + layer * shape_.conv_per_layer(); }
  const float* conv(int64_t layer) const { return conv_.data() + layer * shape_.conv_per_layer(); }
  // [ssm_size] of layer `layer` (Mamba-1: [d_inner, d_state]).
  float* ssm(int64_t layer) { return ssm_.data() + layer * shape_.ssm_size; }
  const float* ssm(int64_t layer) const { return ssm_.data() + layer * shape_.ssm_size; }

  // Tokens consumed since the last Reset.
  int64_t n_past = 0;

 private:
  StateShape shape_;
  AlignedBuffer<float> conv_;  // [n_layer, conv_rows, conv_channels]
  AlignedBuffer<float> ssm_;   // [n_layer, ssm_size]
};

}  // namespace mamba
