// SPDX-License-Identifier: MIT
// The Mamba-1 selective scan over T tokens of one sequence, with the D skip and the SiLU(z) gate
// fused in. Reference: state-spaces/mamba selective_scan_ref / selective_state_update:
//   dt    = softplus(dt_raw + dt_bias)            (softplus(v) = v > 20 ? v : log1p(exp(v)))
//   S     = exp(dt * A) * S + (dt * x) B^T        S: [d_inner, d_state]
//   y     = (S C + D * x) * silu(z)
#pragma once

#include <cstdint>

#include "threading/thread_pool.h"

namespace mamba {

struct SelectiveScanArgs {
  int64_t n_tokens = 0;  // T >= 1
  int64_t d_inner = 0;
  int64_t d_state = 0;
  const float* x = nullptr;  // [T, d_inner] conv output (after SiLU), row stride x_stride
  int64_t x_stride = 0;
  const float* dt = nullptr;  // [T, d_inner] dt_proj output without bias, row stride dt_stride
  int64_t dt_stride = 0;
  const float* dt_bias = nullptr;  // [d_inner], or null
  const float* A = nullptr;        // [d_inner, d_state] = -exp(A_log)
  const float* B = nullptr;        // [T, d_state], row stride B_stride
  int64_t B_stride = 0;
  const float* C = nullptr;  // [T, d_state], row stride C_stride
  int64_t C_stride = 0;
  const float* D = nullptr;  // [d_inner], or null for no skip
  const float* z = nullptr;  // [T, d_inner] gate, row stride z_stride; null = no gate
  int64_t z_stride = 0;
  float* state = nullptr;  // [d_inner, d_state], read and updated in place
  // [T, d_inner] output, row stride y_stride: either dt itself (same pointer and stride; each
  // dt element is read before the y element over it is written) or overlapping no input element.
  float* y = nullptr;
  int64_t y_stride = 0;
};

// Parallel over d_inner channels on `pool` (null = inline). Results may differ from the scalar
// reference by float reassociation and the vector exp's error (documented in the kernel).
void SelectiveScan(const SelectiveScanArgs& args, ThreadPool* pool);
void SelectiveScanRef(const SelectiveScanArgs& args);

// softplus with the reference's threshold: v > 20 ? v : log1p(exp(v)).
float SoftplusRef(float v);

}  // namespace mamba
