// SPDX-License-Identifier: MIT
// Scalar reference twin of RmsNorm.
#include <cmath>

#include "kernels/rmsnorm.h"

namespace mamba {

// torch: out = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * weight
void RmsNormRef(const float* x, int64_t x_stride, const float* weight, int64_t n, int64_t d,
                float eps, float* out, int64_t out_stride) {
  for (int64_t i = 0; i < n; ++i) {
    const float* xi = x + i * x_stride;  // [d]
    float* oi = out + i * out_stride;    // [d]
    float sum_sq = 0.0f;
    for (int64_t j = 0; j < d; ++j) sum_sq += xi[j] * xi[j];
    const float scale = 1.0f / std::sqrt(sum_sq / static_cast<float>(d) + eps);
    for (int64_t j = 0; j < d; ++j) oi[j] = xi[j] * scale * weight[j];
  }
}

}  // namespace mamba
