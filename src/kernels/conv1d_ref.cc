// SPDX-License-Identifier: MIT
// Scalar reference twin of CausalConv1dSilu: the Mamba depthwise causal conv1d + bias + SiLU,
// one token and one channel at a time, with the carried [K-1, channels] input state.
#include <cmath>

#include "base/check.h"
#include "kernels/conv1d.h"

namespace mamba {

void CausalConv1dSiluRef(const CausalConv1dArgs& a) {
  const int64_t T = a.n_tokens;
  const int64_t ch = a.channels;
  const int64_t K = a.d_conv;
  MAMBA_DCHECK(T >= 1 && ch >= 0 && K >= 1);
  for (int64_t t = 0; t < T; ++t) {
    float* ot = a.out + t * a.out_stride;  // [channels]
    for (int64_t c = 0; c < ch; ++c) {
      // torch: x = conv1d(cat(conv_state, x), w, bias, groups=d)[..., :T]
      //   acc[t] = bias + sum_k w[c, 0, k] * xin[t - (K-1) + k]
      float acc = a.bias != nullptr ? a.bias[c] : 0.0f;
      for (int64_t k = 0; k < K; ++k) {
        const int64_t s = t - (K - 1) + k;  // source token, < 0 means from conv_state
        const float v = s < 0 ? a.conv_state[(K - 1 + s) * ch + c] : a.x[s * a.x_stride + c];
        acc += a.weight[c * K + k] * v;
      }
      // silu(v) = v * sigmoid(v) = v / (1 + exp(-v))
      ot[c] = acc / (1.0f + std::exp(-acc));
    }
  }
  // conv_state <- the last K-1 inputs (row j = token T-(K-1)+j of this call; negative means an
  // older input, which sits in old row T+j). Increasing j reads only rows >= j: safe in place.
  for (int64_t j = 0; j < K - 1; ++j) {
    const int64_t s = T - (K - 1) + j;
    float* row = a.conv_state + j * ch;  // [channels]
    for (int64_t c = 0; c < ch; ++c) {
      row[c] = s < 0 ? a.conv_state[(T + j) * ch + c] : a.x[s * a.x_stride + c];
    }
  }
}

}  // namespace mamba
