// SPDX-License-Identifier: MIT
// RmsNorm vs RmsNormRef and a double-precision RMSNorm on every compiled target, including odd
// widths, padded strides and in-place use.
#include "kernels/rmsnorm.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "kernels/kernel_test_util.h"

namespace mamba {
namespace {

using kernels_test::ForEachTarget;
using kernels_test::kEps;
using kernels_test::RandomVec;

// out ([n, d], stride out_stride) vs double precision. The only long sum is sum(x^2) (positive
// terms, random-walk rounding ~ sqrt(d) eps relative, halved by the sqrt); the rest is a handful
// of roundings. So each element is within (sqrt(d) + 6) eps of |exact|. A sum over d-1 or d+1
// elements, or a missing eps, moves it by >= 1/(2d) relative: caught for d up to a few thousand.
void Check(const std::vector<float>& x, int64_t x_stride, const std::vector<float>& w, int64_t n,
           int64_t d, float eps, const std::vector<float>& out, int64_t out_stride,
           const char* what) {
  const double k = (std::sqrt(static_cast<double>(d)) + 6.0) * kEps;
  for (int64_t i = 0; i < n; ++i) {
    double ss = 0;
    for (int64_t j = 0; j < d; ++j)
      ss += static_cast<double>(x[i * x_stride + j]) * x[i * x_stride + j];
    const double scale = 1.0 / std::sqrt(ss / d + eps);
    for (int64_t j = 0; j < d; ++j) {
      const double want = x[i * x_stride + j] * scale * w[j];
      ASSERT_LE(std::fabs(out[i * out_stride + j] - want), k * std::fabs(want) + 1e-37)
          << what << " i=" << i << " j=" << j;
    }
  }
}

TEST(RmsNormTest, MatchesRefAllTargets) {
  std::mt19937 rng(7);
  for (int64_t d : {1, 3, 8, 17, 129, 1000, 2560}) {
    for (int64_t n : {1, 3, 5}) {
      const int64_t x_stride = d + 3, out_stride = d + 1;
      const float eps = 1e-5f;
      std::vector<float> x = RandomVec(rng, n * x_stride, -2.0f, 2.0f);
      const std::vector<float> w = RandomVec(rng, d, 0.5f, 1.5f);
      std::vector<float> ref(n * out_stride, -7.0f);
      RmsNormRef(x.data(), x_stride, w.data(), n, d, eps, ref.data(), out_stride);
      Check(x, x_stride, w, n, d, eps, ref, out_stride, "RmsNormRef");
      ForEachTarget([&](const std::string&) {
        SCOPED_TRACE(testing::Message() << "d=" << d << " n=" << n);
        std::vector<float> out(n * out_stride, -7.0f);
        RmsNorm(x.data(), x_stride, w.data(), n, d, eps, out.data(), out_stride);
        Check(x, x_stride, w, n, d, eps, out, out_stride, "RmsNorm");
        for (int64_t i = 0; i < n; ++i) {
          for (int64_t j = d; j < out_stride; ++j) ASSERT_EQ(out[i * out_stride + j], -7.0f);
        }
        // In place (out aliases x, same stride).
        std::vector<float> inplace = x;
        RmsNorm(inplace.data(), x_stride, w.data(), n, d, eps, inplace.data(), x_stride);
        Check(x, x_stride, w, n, d, eps, inplace, x_stride, "RmsNorm in place");
      });
    }
  }
}

TEST(RmsNormTest, ZeroRowIsZero) {
  const std::vector<float> x(9, 0.0f), w(9, 1.0f);
  ForEachTarget([&](const std::string&) {
    std::vector<float> out(9, -7.0f);
    RmsNorm(x.data(), 9, w.data(), 1, 9, 1e-5f, out.data(), 9);
    for (float v : out) EXPECT_EQ(v, 0.0f);
  });
}

}  // namespace
}  // namespace mamba
