// SPDX-License-Identifier: MIT
// RMSNorm over F32 rows (Highway, runtime dispatch): one vector pass for the sum of squares (two
// accumulators), one for the scaled product. Scalar twin: rmsnorm_ref.cc.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/rmsnorm.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"

#include <cmath>
#include <cstdint>

HWY_BEFORE_NAMESPACE();
namespace mamba {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Rows are independent; within a row every x[j] is read before out[j] is written, so out may
// alias x.
void RmsNormSimd(const float* x, int64_t x_stride, const float* HWY_RESTRICT weight, int64_t n,
                 int64_t d, float eps, float* out, int64_t out_stride) {
  const hn::ScalableTag<float> df;
  const int64_t N = static_cast<int64_t>(hn::Lanes(df));
  for (int64_t i = 0; i < n; ++i) {
    const float* xi = x + i * x_stride;  // [d]
    float* oi = out + i * out_stride;    // [d]
    auto s0 = hn::Zero(df);
    auto s1 = hn::Zero(df);
    int64_t j = 0;
    for (; j + 2 * N <= d; j += 2 * N) {
      const auto a = hn::LoadU(df, xi + j);
      const auto b = hn::LoadU(df, xi + j + N);
      s0 = hn::MulAdd(a, a, s0);
      s1 = hn::MulAdd(b, b, s1);
    }
    for (; j + N <= d; j += N) {
      const auto a = hn::LoadU(df, xi + j);
      s0 = hn::MulAdd(a, a, s0);
    }
    float sum_sq = hn::GetLane(hn::SumOfLanes(df, hn::Add(s0, s1)));
    for (; j < d; ++j) sum_sq += xi[j] * xi[j];
    const float scale = 1.0f / std::sqrt(sum_sq / static_cast<float>(d) + eps);
    const auto vscale = hn::Set(df, scale);
    j = 0;
    for (; j + N <= d; j += N) {
      const auto v = hn::Mul(hn::Mul(hn::LoadU(df, xi + j), vscale), hn::LoadU(df, weight + j));
      hn::StoreU(v, df, oi + j);
    }
    for (; j < d; ++j) oi[j] = xi[j] * scale * weight[j];
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace mamba
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include "kernels/rmsnorm.h"

namespace mamba {

HWY_EXPORT(RmsNormSimd);

void RmsNorm(const float* x, int64_t x_stride, const float* weight, int64_t n, int64_t d, float eps,
             float* out, int64_t out_stride) {
  HWY_DYNAMIC_DISPATCH(RmsNormSimd)(x, x_stride, weight, n, d, eps, out, out_stride);
}

}  // namespace mamba
#endif  // HWY_ONCE
