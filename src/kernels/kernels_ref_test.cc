// SPDX-License-Identifier: MIT
// Checks the scalar reference kernels themselves on tiny cases whose answers were worked out by
// hand (and, for the transcendental parts, in double precision), so the SIMD tests compare
// against something known to be right.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "base/dtype.h"
#include "kernels/conv1d.h"
#include "kernels/elementwise.h"
#include "kernels/matmul.h"
#include "kernels/rmsnorm.h"
#include "kernels/ssm_scan.h"

namespace mamba {
namespace {

double SiluD(double v) { return v / (1.0 + std::exp(-v)); }

TEST(KernelsRefTest, MatMulRefTwoByThree) {
  // W = [[1, 2, 3], [4, 5, 6]]; x0 = [1, 0.5, -1] -> [-1, 0.5]; x1 = [2, 0, 1] -> [5, 14].
  const float w32[6] = {1, 2, 3, 4, 5, 6};
  uint16_t w16[6], wbf[6];
  for (int i = 0; i < 6; ++i) {
    w16[i] = F32ToF16(w32[i]);
    wbf[i] = F32ToBF16(w32[i]);
  }
  // x rows 4 apart (stride > cols), y rows 3 apart (stride > rows).
  const float x[8] = {1, 0.5f, -1, 99, 2, 0, 1, 99};
  for (DType dt : {DType::kF32, DType::kF16, DType::kBF16}) {
    const void* data = dt == DType::kF32   ? static_cast<const void*>(w32)
                       : dt == DType::kF16 ? static_cast<const void*>(w16)
                                           : static_cast<const void*>(wbf);
    const WeightMatrix w{dt, data, 2, 3};
    float y[6] = {7, 7, 7, 7, 7, 7};
    MatMulRef(w, x, 4, 2, y, 3);
    EXPECT_EQ(y[0], -1.0f) << DTypeName(dt);
    EXPECT_EQ(y[1], 0.5f) << DTypeName(dt);
    EXPECT_EQ(y[2], 7.0f) << DTypeName(dt);  // stride padding untouched
    EXPECT_EQ(y[3], 5.0f) << DTypeName(dt);
    EXPECT_EQ(y[4], 14.0f) << DTypeName(dt);
  }
}

TEST(KernelsRefTest, RmsNormRefByHand) {
  // x = [3, 4], eps = 0.5: mean(x^2) = 12.5, + eps = 13 -> scale = 1/sqrt(13); w = [1, 2].
  const float x[2] = {3, 4};
  const float w[2] = {1, 2};
  float out[2];
  RmsNormRef(x, 2, w, 1, 2, 0.5f, out, 2);
  EXPECT_NEAR(out[0], 3.0 / std::sqrt(13.0), 1e-6);  // 0.8320503
  EXPECT_NEAR(out[1], 8.0 / std::sqrt(13.0), 1e-6);  // 2.2188008
}

TEST(KernelsRefTest, CausalConvRefByHand) {
  // One channel, K = 3, taps w = [1, -2, 0.5], bias 0.5, state = [1, 2] (older first),
  // x = [3, -1, 4, 0]. Pre-activations:
  //   t0: 1*1 + -2*2 + 0.5*3 + 0.5   = -1
  //   t1: 1*2 + -2*3 + 0.5*-1 + 0.5  = -4
  //   t2: 1*3 + -2*-1 + 0.5*4 + 0.5  = 7.5
  //   t3: 1*-1 + -2*4 + 0.5*0 + 0.5  = -8.5
  // New state = last two inputs = [4, 0].
  const float w[3] = {1, -2, 0.5f};
  const float bias = 0.5f;
  float state[2] = {1, 2};
  const float x[4] = {3, -1, 4, 0};
  float out[4];
  CausalConv1dArgs a;
  a.n_tokens = 4;
  a.channels = 1;
  a.d_conv = 3;
  a.x = x;
  a.x_stride = 1;
  a.weight = w;
  a.bias = &bias;
  a.conv_state = state;
  a.out = out;
  a.out_stride = 1;
  CausalConv1dSiluRef(a);
  const double pre[4] = {-1, -4, 7.5, -8.5};
  for (int t = 0; t < 4; ++t) EXPECT_NEAR(out[t], SiluD(pre[t]), 1e-6) << "t=" << t;
  EXPECT_EQ(state[0], 4.0f);
  EXPECT_EQ(state[1], 0.0f);

  // T = 1 < K-1: state [1, 2], x = [3] -> pre = 1*1 - 2*2 + 0.5*3 + 0.5 = -1, state -> [2, 3].
  state[0] = 1;
  state[1] = 2;
  a.n_tokens = 1;
  CausalConv1dSiluRef(a);
  EXPECT_NEAR(out[0], SiluD(-1.0), 1e-6);
  EXPECT_EQ(state[0], 2.0f);
  EXPECT_EQ(state[1], 3.0f);
}

TEST(KernelsRefTest, SoftplusRefThreshold) {
  EXPECT_EQ(SoftplusRef(25.0f), 25.0f);  // above the threshold: identity
  EXPECT_EQ(SoftplusRef(20.5f), 20.5f);
  EXPECT_NEAR(SoftplusRef(0.0f), std::log(2.0), 1e-7);
  EXPECT_NEAR(SoftplusRef(-30.0f), std::exp(-30.0), 1e-20);  // log1p(e^-30) ~ e^-30
  EXPECT_NEAR(SoftplusRef(19.0f), 19.0 + std::log1p(std::exp(-19.0)), 2e-6);
}

TEST(KernelsRefTest, SelectiveScanRefOneStepByHand) {
  // d_inner = 1, d_state = 2. dt = softplus(0.3 + 0.2) = log(1 + e^0.5) = 0.97407698418...
  // S_n = exp(dt * A_n) * S0_n + dt * x * B_n; y = (S . C + D * x) * silu(z).
  const float dt_raw = 0.3f, dt_bias = 0.2f, x = 2.0f, D = 0.5f, z = 1.0f;
  const float A[2] = {-1.0f, -0.5f}, B[2] = {1.0f, 3.0f}, C[2] = {2.0f, -1.0f};
  float S[2] = {0.5f, -1.0f};
  float y = 0;
  SelectiveScanArgs a;
  a.n_tokens = 1;
  a.d_inner = 1;
  a.d_state = 2;
  a.x = &x;
  a.x_stride = 1;
  a.dt = &dt_raw;
  a.dt_stride = 1;
  a.dt_bias = &dt_bias;
  a.A = A;
  a.B = B;
  a.B_stride = 2;
  a.C = C;
  a.C_stride = 2;
  a.D = &D;
  a.z = &z;
  a.z_stride = 1;
  a.state = S;
  a.y = &y;
  a.y_stride = 1;
  SelectiveScanRef(a);
  const double dt = std::log1p(std::exp(0.5));
  EXPECT_NEAR(dt, 0.974076984180107, 1e-12);
  const double s0 = std::exp(-dt) * 0.5 + dt * 2 * 1;         // 0.18877... + 1.94815... = 2.1369
  const double s1 = std::exp(-0.5 * dt) * -1.0 + dt * 2 * 3;  // -0.61443... + 5.84446... = 5.2300
  const double yd = (s0 * 2 + s1 * -1 + 0.5 * 2) * SiluD(1.0);
  EXPECT_NEAR(S[0], s0, 1e-6);
  EXPECT_NEAR(S[1], s1, 1e-6);
  EXPECT_NEAR(y, yd, 1e-6);
  EXPECT_NEAR(s0, 2.1369, 1e-4);
  EXPECT_NEAR(s1, 5.2300, 1e-4);
}

TEST(KernelsRefTest, AddInPlaceRefAndArgMax) {
  float acc[3] = {1, 2, 3};
  const float x[3] = {0.5f, -2, 10};
  AddInPlaceRef(acc, x, 3);
  EXPECT_EQ(acc[0], 1.5f);
  EXPECT_EQ(acc[1], 0.0f);
  EXPECT_EQ(acc[2], 13.0f);
  const float v[6] = {-5, 3, 7, 7, -1, 7};
  EXPECT_EQ(ArgMax(v, 6), 2);  // ties: lowest index
  EXPECT_EQ(ArgMax(v, 1), 0);
}

}  // namespace
}  // namespace mamba
