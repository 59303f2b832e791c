// SPDX-License-Identifier: MIT
// Causal depthwise 1-D convolution over time with a carried state, fused with bias and SiLU:
// the Mamba conv1d (groups = channels, padding = d_conv - 1, output truncated to the input length).
#pragma once

#include <cstdint>

#include "threading/thread_pool.h"

namespace mamba {

struct CausalConv1dArgs {
  int64_t n_tokens = 0;      // T >= 1
  int64_t channels = 0;      // d (d_inner for Mamba-1)
  int64_t d_conv = 0;        // kernel width K >= 1
  const float* x = nullptr;  // [T, channels], row stride x_stride: pre-conv inputs
  int64_t x_stride = 0;
  // [channels, K] as PyTorch stores it ([channels, 1, K] squeezed): weight[c * K + k] = w[c, 0, k]
  const float* weight = nullptr;
  const float* bias = nullptr;  // [channels], or null for no bias
  // [K-1, channels]: row j holds the input of token t0-(K-1)+j, where t0 is the first token of
  // this call (zeros at sequence start). On return it holds the last K-1 inputs (the newest in row
  // K-2), including inputs from before this call when T < K-1.
  float* conv_state = nullptr;
  float* out = nullptr;  // [T, channels], row stride out_stride: silu(bias + sum_k w[k] x[t-K+1+k])
  int64_t out_stride = 0;
};

// `out` must not overlap `x` or `conv_state`. Parallel over channels on `pool` (null = inline).
void CausalConv1dSilu(const CausalConv1dArgs& args, ThreadPool* pool);
void CausalConv1dSiluRef(const CausalConv1dArgs& args);

}  // namespace mamba
