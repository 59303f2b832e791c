// SPDX-License-Identifier: MIT
// RMSNorm over rows: out = x / sqrt(mean(x^2) + eps) * weight.
#pragma once

#include <cstdint>

namespace mamba {

// x, out: [n, d] F32, row strides x_stride / out_stride (out may alias x when strides match);
// weight: [d] F32. Mean of squares accumulated in F32 (the reference's float32 path).
void RmsNorm(const float* x, int64_t x_stride, const float* weight, int64_t n, int64_t d, float eps,
             float* out, int64_t out_stride);
void RmsNormRef(const float* x, int64_t x_stride, const float* weight, int64_t n, int64_t d,
                float eps, float* out, int64_t out_stride);

}  // namespace mamba
