// SPDX-License-Identifier: MIT
// The Mamba-2 selective scan over T tokens of one sequence: one scalar decay per head, the state
// of a head shared by its head_dim channels, B and C per group of heads, the D skip and the SiLU(z)
// gate fused in (the gate RMSNormGated applies before it normalizes, norm_before_gate=False).
// Reference: state-spaces/mamba mamba2.py step() / selective_state_update:
//   dt = softplus(dt_raw + dt_bias)                      per (token, head)
//   S[h] = exp(dt * A[h]) * S[h] + (dt * x[h]) B[g]^T    S[h]: [head_dim, d_state], g = group of h
//   y[h] = (S[h] C[g] + D[h] * x[h]) * silu(z[h])
#pragma once

#include <cstdint>

#include "threading/thread_pool.h"

namespace mamba {

struct HeadScanArgs {
  int64_t n_tokens = 0;  // T >= 1
  int64_t n_heads = 0;
  int64_t head_dim = 0;
  int64_t d_state = 0;
  int64_t n_groups = 1;      // divides n_heads; head h uses group h / (n_heads / n_groups)
  const float* x = nullptr;  // [T, n_heads * head_dim] (head h: channels h * head_dim ...)
  int64_t x_stride = 0;
  const float* dt = nullptr;  // [T, n_heads] without bias, row stride dt_stride
  int64_t dt_stride = 0;
  const float* dt_bias = nullptr;  // [n_heads], or null
  const float* A = nullptr;        // [n_heads] = -exp(A_log)
  const float* B = nullptr;        // [T, n_groups * d_state], row stride B_stride
  int64_t B_stride = 0;
  const float* C = nullptr;  // [T, n_groups * d_state], row stride C_stride
  int64_t C_stride = 0;
  const float* D = nullptr;  // [n_heads], or null for no skip
  const float* z = nullptr;  // [T, n_heads * head_dim] gate, row stride z_stride; null = none
  int64_t z_stride = 0;
  float* state = nullptr;  // [n_heads, head_dim, d_state], read and updated in place
  float* y = nullptr;      // [T, n_heads * head_dim], row stride y_stride; overlaps no input
  int64_t y_stride = 0;
};

// Parallel over heads on `pool` (null = inline). Results may differ from the scalar reference by
// float reassociation of the d_state sums and fused multiply-adds.
void SelectiveScanHeads(const HeadScanArgs& args, ThreadPool* pool);
void SelectiveScanHeadsRef(const HeadScanArgs& args);

}  // namespace mamba
