// SPDX-License-Identifier: MIT
// SelectiveScanHeads (Mamba-2) vs SelectiveScanHeadsRef and a double-precision scan on every
// compiled target: d_state 16/17/128 (whole vectors and a remainder), 1 and 2 groups, strides,
// optional bias/D/z, pools, and a multi-token call equal to one-token calls.
#include "kernels/ssm_scan_heads.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "kernels/kernel_test_util.h"
#include "threading/thread_pool.h"

namespace mamba {
namespace {

using kernels_test::ForEachTarget;
using kernels_test::RandomVec;

struct Case {
  int64_t T, H, P, N, G;
  int64_t xs, dts, bs, cs, zs, ys;
  std::vector<float> x, dt, dt_bias, A, B, C, D, z, state0;
  bool bias, skip, gate;
};

Case Make(std::mt19937& rng, int64_t T, int64_t H, int64_t P, int64_t N, int64_t G, bool bias,
          bool skip, bool gate) {
  Case c;
  c.T = T, c.H = H, c.P = P, c.N = N, c.G = G;
  const int64_t di = H * P;
  c.xs = di + 3, c.dts = H + 1, c.bs = G * N + 2, c.cs = G * N + 5, c.zs = di + 1, c.ys = di + 2;
  c.x = RandomVec(rng, T * c.xs, -3.0f, 3.0f);
  c.dt = RandomVec(rng, T * c.dts, -6.0f, 25.0f);  // crosses the softplus threshold (20)
  c.dt_bias = RandomVec(rng, H, -1.0f, 1.0f);
  c.A = RandomVec(rng, H, -2.0f, 2.0f);
  for (float& a : c.A) a = -std::exp(a);
  c.B = RandomVec(rng, T * c.bs, -2.0f, 2.0f);
  c.C = RandomVec(rng, T * c.cs, -2.0f, 2.0f);
  c.D = RandomVec(rng, H, -1.0f, 1.0f);
  c.z = RandomVec(rng, T * c.zs, -6.0f, 6.0f);
  c.state0 = RandomVec(rng, di * N, -1.0f, 1.0f);
  c.bias = bias, c.skip = skip, c.gate = gate;
  return c;
}

HeadScanArgs ArgsFor(const Case& c, int64_t t0, int64_t t1, std::vector<float>& state,
                     std::vector<float>& y) {
  HeadScanArgs a;
  a.n_tokens = t1 - t0;
  a.n_heads = c.H, a.head_dim = c.P, a.d_state = c.N, a.n_groups = c.G;
  a.x = c.x.data() + t0 * c.xs, a.x_stride = c.xs;
  a.dt = c.dt.data() + t0 * c.dts, a.dt_stride = c.dts;
  a.dt_bias = c.bias ? c.dt_bias.data() : nullptr;
  a.A = c.A.data();
  a.B = c.B.data() + t0 * c.bs, a.B_stride = c.bs;
  a.C = c.C.data() + t0 * c.cs, a.C_stride = c.cs;
  a.D = c.skip ? c.D.data() : nullptr;
  a.z = c.gate ? c.z.data() + t0 * c.zs : nullptr, a.z_stride = c.zs;
  a.state = state.data();
  a.y = y.data() + t0 * c.ys, a.y_stride = c.ys;
  return a;
}

// The scan in double precision, straight from the formulas (independent of both kernels).
void ScanF64(const Case& c, std::vector<double>& state, std::vector<double>& y) {
  const int64_t per_group = c.H / c.G;
  for (int64_t t = 0; t < c.T; ++t) {
    for (int64_t h = 0; h < c.H; ++h) {
      const int64_t g = h / per_group;
      double v = c.dt[t * c.dts + h] + (c.bias ? c.dt_bias[h] : 0.0);
      const double dt = v > 20.0 ? v : std::log1p(std::exp(v));
      const double dA = std::exp(dt * c.A[h]);
      for (int64_t p = 0; p < c.P; ++p) {
        const int64_t ch = h * c.P + p;
        const double x = c.x[t * c.xs + ch];
        double acc = 0;
        for (int64_t n = 0; n < c.N; ++n) {
          double& s = state[ch * c.N + n];
          s = s * dA + dt * x * c.B[t * c.bs + g * c.N + n];
          acc += s * c.C[t * c.cs + g * c.N + n];
        }
        if (c.skip) acc += c.D[h] * x;
        if (c.gate) {
          const double z = c.z[t * c.zs + ch];
          acc *= z / (1.0 + std::exp(-z));
        }
        y[t * c.ys + ch] = acc;
      }
    }
  }
}

TEST(SelectiveScanHeadsTest, MatchesRefAndF64OnEveryTarget) {
  std::mt19937 rng(11);
  struct Shape {
    int64_t T, H, P, N, G;
  };
  const Shape shapes[] = {
      {1, 8, 16, 16, 1}, {5, 8, 16, 16, 2}, {3, 4, 8, 17, 1}, {2, 6, 4, 128, 3}, {7, 2, 3, 5, 1}};
  ThreadPool pool(3);
  for (const Shape& s : shapes) {
    for (int flags = 0; flags < 8; ++flags) {
      const Case c = Make(rng, s.T, s.H, s.P, s.N, s.G, flags & 1, flags & 2, flags & 4);
      SCOPED_TRACE(::testing::Message() << "T=" << s.T << " H=" << s.H << " P=" << s.P
                                        << " N=" << s.N << " G=" << s.G << " flags=" << flags);
      std::vector<double> s64(c.state0.begin(), c.state0.end()), y64(c.T * c.ys, 0.0);
      ScanF64(c, s64, y64);
      std::vector<float> sref = c.state0, yref(c.T * c.ys, 0.0f);
      SelectiveScanHeadsRef(ArgsFor(c, 0, c.T, sref, yref));
      // Tolerance: the states are sums of |S dA| + |dt x B| terms (< ~5e3 here) carried over
      // T steps; y sums N such products; both relative to F32 rounding.
      double ymax = 0, smax = 0;
      for (double v : y64) ymax = std::max(ymax, std::fabs(v));
      for (double v : s64) smax = std::max(smax, std::fabs(v));
      const double ytol = 1e-5 * (1 + ymax) * (c.N + 4) * c.T;
      const double stol = 1e-5 * (1 + smax) * c.T;
      for (size_t i = 0; i < sref.size(); ++i) ASSERT_NEAR(sref[i], s64[i], stol) << "ref state";
      for (int64_t t = 0; t < c.T; ++t) {
        for (int64_t ch = 0; ch < c.H * c.P; ++ch) {
          ASSERT_NEAR(yref[t * c.ys + ch], y64[t * c.ys + ch], ytol) << "ref y";
        }
      }
      ForEachTarget([&](const std::string&) {
        for (ThreadPool* p : {static_cast<ThreadPool*>(nullptr), &pool}) {
          std::vector<float> st = c.state0, y(c.T * c.ys, -7.0f);
          SelectiveScanHeads(ArgsFor(c, 0, c.T, st, y), p);
          for (size_t i = 0; i < st.size(); ++i) ASSERT_NEAR(st[i], s64[i], stol) << "state " << i;
          for (int64_t t = 0; t < c.T; ++t) {
            for (int64_t ch = 0; ch < c.H * c.P; ++ch) {
              ASSERT_NEAR(y[t * c.ys + ch], y64[t * c.ys + ch], ytol) << "y " << t << "," << ch;
            }
            // Padding between rows is never written.
            for (int64_t ch = c.H * c.P; ch < c.ys; ++ch) ASSERT_EQ(y[t * c.ys + ch], -7.0f);
          }
          // Token by token gives the bits of the whole call.
          std::vector<float> st1 = c.state0, y1(c.T * c.ys, -7.0f);
          for (int64_t t = 0; t < c.T; ++t) SelectiveScanHeads(ArgsFor(c, t, t + 1, st1, y1), p);
          ASSERT_EQ(st1, st);
          ASSERT_EQ(y1, y);
        }
      });
    }
  }
}

}  // namespace
}  // namespace mamba
