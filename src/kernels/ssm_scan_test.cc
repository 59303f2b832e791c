// SPDX-License-Identifier: MIT
// SelectiveScan vs SelectiveScanRef and a double-precision scan (with a propagated first-order
// error bound as the tolerance) on every compiled target: d_state 1/4/8/16/17, odd d_inner,
// strides, optional bias/D/z, pools, and multi-token calls equal to one-token calls.
#include "kernels/ssm_scan.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "kernels/kernel_test_util.h"
#include "threading/thread_pool.h"

namespace mamba {
namespace {

using kernels_test::ForEachTarget;
using kernels_test::kEps;
using kernels_test::RandomVec;

struct ScanCase {
  int64_t T, di, ds;
  int64_t xs, dts, bs, cs, zs, ys;  // row strides (wider than the rows)
  std::vector<float> x, dt, dt_bias, A, B, C, D, z, state0;
  bool use_bias, use_D, use_z;
};

ScanCase MakeCase(std::mt19937& rng, int64_t T, int64_t di, int64_t ds, bool use_bias, bool use_D,
                  bool use_z) {
  ScanCase c;
  c.T = T, c.di = di, c.ds = ds;
  c.xs = di + 1, c.dts = di + 2, c.bs = ds + 3, c.cs = ds + 1, c.zs = di + 4, c.ys = di + 3;
  c.x = RandomVec(rng, T * c.xs, -3.0f, 3.0f);
  c.dt = RandomVec(rng, T * c.dts, -6.0f, 25.0f);  // crosses the softplus threshold (20)
  c.dt_bias = RandomVec(rng, di, -1.0f, 1.0f);
  c.A = RandomVec(rng, di * ds, -2.0f, 2.0f);
  for (float& a : c.A) a = -std::exp(a);  // A = -exp(A_log)
  c.B = RandomVec(rng, T * c.bs, -2.0f, 2.0f);
  c.C = RandomVec(rng, T * c.cs, -2.0f, 2.0f);
  c.D = RandomVec(rng, di, -1.0f, 1.0f);
  c.z = RandomVec(rng, T * c.zs, -6.0f, 6.0f);
  for (size_t i = 0; i < c.z.size(); i += 7) c.z[i] *= 20.0f;  // gates beyond +-88 too
  c.state0 = RandomVec(rng, di * ds, -1.0f, 1.0f);
  c.use_bias = use_bias, c.use_D = use_D, c.use_z = use_z;
  return c;
}

// Args for tokens [t0, t1) writing y (stride c.ys) and updating `state`.
SelectiveScanArgs ArgsFor(const ScanCase& c, int64_t t0, int64_t t1, std::vector<float>& state,
                          std::vector<float>& y) {
  SelectiveScanArgs a;
  a.n_tokens = t1 - t0;
  a.d_inner = c.di;
  a.d_state = c.ds;
  a.x = c.x.data() + t0 * c.xs;
  a.x_stride = c.xs;
  a.dt = c.dt.data() + t0 * c.dts;
  a.dt_stride = c.dts;
  a.dt_bias = c.use_bias ? c.dt_bias.data() : nullptr;
  a.A = c.A.data();
  a.B = c.B.data() + t0 * c.bs;
  a.B_stride = c.bs;
  a.C = c.C.data() + t0 * c.cs;
  a.C_stride = c.cs;
  a.D = c.use_D ? c.D.data() : nullptr;
  a.z = c.use_z ? c.z.data() + t0 * c.zs : nullptr;
  a.z_stride = c.zs;
  a.state = state.data();
  a.y = y.data() + t0 * c.ys;
  a.y_stride = c.ys;
  return a;
}

// Scan in double, alongside a first-order bound on the error of any F32 evaluation that uses
// correctly-rounded-within-a-few-ulp exp/log1p: per step with u = kEps (2 ulp),
//   dt:  rel. error 4u (exp + log1p + add);   dA = exp(dt*A): rel. error |dt*A| * 5u + 2u;
//   eS' = |dA| eS + |dA S| relerr(dA) + |dt x B| 6u + u |S'|;
//   y:   sum_n (eS_n + (d_state + 2) u |S_n|) |C_n| + 2u |D x|, times |silu z|, plus 4u |out|
//        (and the SiLU underflow below).
// Returns outputs [T, di] (stride di) and bounds; `state` is updated in place.
void DoubleScan(const ScanCase& c, std::vector<double>& state, std::vector<double>& err,
                std::vector<double>& y, std::vector<double>& tol) {
  const double u = kEps;
  y.assign(c.T * c.di, 0);
  tol.assign(c.T * c.di, 0);
  for (int64_t t = 0; t < c.T; ++t) {
    for (int64_t d = 0; d < c.di; ++d) {
      const double v =
          static_cast<double>(c.dt[t * c.dts + d]) + (c.use_bias ? c.dt_bias[d] : 0.0f);
      const double dt = v > 20 ? v : std::log1p(std::exp(v));
      const double x = c.x[t * c.xs + d];
      double acc = 0, acc_err = 0;
      for (int64_t n = 0; n < c.ds; ++n) {
        const double dtA = dt * c.A[d * c.ds + n];
        const double dA = std::exp(dtA);
        const double dBx = dt * x * c.B[t * c.bs + n];
        double& S = state[d * c.ds + n];
        double& e = err[d * c.ds + n];
        const double S_new = dA * S + dBx;
        e = dA * e + std::fabs(dA * S) * (std::fabs(dtA) * 5 * u + 2 * u) + std::fabs(dBx) * 6 * u +
            u * std::fabs(S_new);
        S = S_new;
        const double Cn = c.C[t * c.cs + n];
        acc += S * Cn;
        acc_err += (e + (c.ds + 2) * u * std::fabs(S)) * std::fabs(Cn);
      }
      if (c.use_D) {
        acc += c.D[d] * x;
        acc_err += 2 * u * std::fabs(c.D[d] * x);
      }
      double gate = 1;
      if (c.use_z) {
        const double z = c.z[t * c.zs + d];
        gate = z / (1 + std::exp(-z));
      }
      y[t * c.di + d] = acc * gate;
      // Below z = -88.72, exp(-z) overflows in F32 and silu(z) becomes -0; the true |silu| there
      // is < 3e-37.
      tol[t * c.di + d] = acc_err * std::fabs(gate) + 4 * u * std::fabs(acc * gate) +
                          3e-37 * (std::fabs(acc) + acc_err) + 1e-38;
    }
  }
}

// Checks y (stride c.ys) and the final state against the double scan.
void Check(const ScanCase& c, const std::vector<float>& y, const std::vector<float>& state,
           const char* what) {
  std::vector<double> s(c.state0.begin(), c.state0.end()), e(c.di * c.ds, 0), yd, tol;
  DoubleScan(c, s, e, yd, tol);
  for (int64_t t = 0; t < c.T; ++t) {
    for (int64_t d = 0; d < c.di; ++d) {
      ASSERT_LE(std::fabs(y[t * c.ys + d] - yd[t * c.di + d]), tol[t * c.di + d])
          << what << " y t=" << t << " d=" << d << " got " << y[t * c.ys + d] << " want "
          << yd[t * c.di + d];
    }
    for (int64_t d = c.di; d < c.ys; ++d) ASSERT_EQ(y[t * c.ys + d], -7.0f) << what << " padding";
  }
  for (int64_t i = 0; i < c.di * c.ds; ++i) {
    ASSERT_LE(std::fabs(state[i] - s[i]), e[i] + 1e-44) << what << " state " << i;
  }
}

TEST(SelectiveScanTest, MatchesRefAllTargets) {
  std::mt19937 rng(42);
  ThreadPool pool2(2), pool3(3);
  int variant = 0;
  for (int64_t ds : {1, 4, 8, 16, 17}) {
    for (int64_t di : {1, 5, 37, 130}) {
      for (int64_t T : {1, 3, 7}) {
        ++variant;
        const ScanCase c =
            MakeCase(rng, T, di, ds, variant % 4 != 1, variant % 4 != 2, variant % 4 != 3);
        std::vector<float> ref_y(T * c.ys, -7.0f), ref_state = c.state0;
        SelectiveScanRef(ArgsFor(c, 0, T, ref_state, ref_y));
        Check(c, ref_y, ref_state, "Ref");
        ForEachTarget([&](const std::string&) {
          for (ThreadPool* pool : {static_cast<ThreadPool*>(nullptr), &pool2, &pool3}) {
            SCOPED_TRACE(testing::Message() << "d_state=" << ds << " d_inner=" << di << " T=" << T
                                            << " bias/D/z=" << c.use_bias << c.use_D << c.use_z
                                            << " pool=" << (pool ? pool->num_threads() : 0));
            std::vector<float> y(T * c.ys, -7.0f), state = c.state0;
            SelectiveScan(ArgsFor(c, 0, T, state, y), pool);
            Check(c, y, state, "SIMD");
            // The same tokens one call at a time: the state carried between calls must give the
            // same outputs and final state, bit for bit (identical per-element operations).
            std::vector<float> y1(T * c.ys, -7.0f), state1 = c.state0;
            for (int64_t t = 0; t < T; ++t) SelectiveScan(ArgsFor(c, t, t + 1, state1, y1), pool);
            ASSERT_EQ(y1, y);
            ASSERT_EQ(state1, state);
          }
        });
        if (HasFailure()) return;
      }
    }
  }
}

// y written over dt (same pointer and stride), as the Mamba-1 mixer does: the same outputs and
// state as with a separate y, on every target, for the decode (T = 1) and prefill paths, and the
// scalar reference agrees too.
TEST(SelectiveScanTest, OutputOverDtEqualsSeparateOutput) {
  std::mt19937 rng(11);
  ThreadPool pool2(2);
  for (int64_t T : {1, 9}) {
    for (int64_t di : {5, 70}) {
      const ScanCase c = MakeCase(rng, T, di, 16, true, true, true);
      auto run = [&](bool alias, bool ref, std::vector<float>& state) {
        std::vector<float> y(T * c.ys, -7.0f);
        std::vector<float> dt = c.dt;  // the aliased run overwrites it
        SelectiveScanArgs a = ArgsFor(c, 0, T, state, y);
        a.dt = dt.data();
        if (alias) {
          a.y = dt.data();
          a.y_stride = c.dts;
        }
        if (ref) {
          SelectiveScanRef(a);
        } else {
          SelectiveScan(a, &pool2);
        }
        std::vector<float> out(T * c.di);  // [T, d_inner], compact
        const float* src = alias ? dt.data() : y.data();
        const int64_t stride = alias ? c.dts : c.ys;
        for (int64_t t = 0; t < T; ++t) {
          for (int64_t d = 0; d < c.di; ++d) out[t * c.di + d] = src[t * stride + d];
        }
        return out;
      };
      std::vector<float> s_ref = c.state0, s_ref_alias = c.state0;
      ASSERT_EQ(run(true, true, s_ref_alias), run(false, true, s_ref)) << "ref T=" << T;
      ASSERT_EQ(s_ref_alias, s_ref);
      ForEachTarget([&](const std::string&) {
        SCOPED_TRACE(testing::Message() << "T=" << T << " d_inner=" << di);
        std::vector<float> s_sep = c.state0, s_alias = c.state0;
        const std::vector<float> y_sep = run(false, false, s_sep);
        ASSERT_EQ(run(true, false, s_alias), y_sep);
        ASSERT_EQ(s_alias, s_sep);
      });
    }
  }
}

// A longer sequence at model-like width (d_inner 1536 would be slow under ASan; 300 keeps the
// several-blocks-per-thread structure) with 3 threads.
TEST(SelectiveScanTest, LongerSequence) {
  std::mt19937 rng(8);
  ThreadPool pool3(3);
  const ScanCase c = MakeCase(rng, 40, 300, 16, true, true, true);
  std::vector<float> ref_y(c.T * c.ys, -7.0f), ref_state = c.state0;
  SelectiveScanRef(ArgsFor(c, 0, c.T, ref_state, ref_y));
  Check(c, ref_y, ref_state, "Ref");
  ForEachTarget([&](const std::string&) {
    std::vector<float> y(c.T * c.ys, -7.0f), state = c.state0;
    SelectiveScan(ArgsFor(c, 0, c.T, state, y), &pool3);
    Check(c, y, state, "SIMD");
  });
}

// The state decay exp(dt * A) alone, to within 1.5 ulp of exp of the F32 product: dt > 20 passes
// softplus unchanged (the Mamba threshold), B = 0 and S = 1 leave S' = exp(dt * A). Arguments
// sweep [-87, 0] (below about -87.3 hn::Exp flushes to 0), for the decode (T = 1) path and the
// prefill (channel-lanes, T = 4: four decays multiplied, 1.5 ulp per step allowed) path,
// d_state 16 and 8.
TEST(SelectiveScanTest, StateDecayIsExpWithinOneAndAHalfUlp) {
  const float dt_value = 25.0f;
  for (int64_t ds : {16, 8}) {
    const int64_t di = 512;
    for (int64_t T : {1, 4}) {
      // The T-step decay exp(T dt A) stays a normal float: T dt A >= -87.
      std::vector<float> A(di * ds);
      for (size_t i = 0; i < A.size(); ++i) {
        A[i] = -87.0f / (dt_value * static_cast<float>(T)) * static_cast<float>(i) /
               static_cast<float>(A.size() - 1);
      }
      const std::vector<float> x(T * di, 1.0f), dt(T * di, dt_value), B(T * ds, 0.0f);
      const std::vector<float> C(T * ds, 0.0f);
      ForEachTarget([&](const std::string& target) {
        std::vector<float> state(di * ds, 1.0f), y(T * di);
        SelectiveScanArgs a;
        a.n_tokens = T, a.d_inner = di, a.d_state = ds;
        a.x = x.data(), a.x_stride = di, a.dt = dt.data(), a.dt_stride = di;
        a.A = A.data(), a.B = B.data(), a.B_stride = ds, a.C = C.data(), a.C_stride = ds;
        a.state = state.data(), a.y = y.data(), a.y_stride = di;
        SelectiveScan(a, nullptr);
        double worst = 0;
        for (size_t i = 0; i < A.size(); ++i) {
          const float arg = dt_value * A[i];
          const double want = std::exp(static_cast<double>(arg) * static_cast<double>(T));
          const double ulp = std::ldexp(1.0, std::ilogb(want) - 23);
          // T steps multiply T decays; each product rounds once more.
          const double err = std::fabs(state[i] - want) / ulp / static_cast<double>(T);
          worst = std::max(worst, err);
          ASSERT_LE(err, 1.5) << target << " d_state " << ds << " T " << T << " arg " << arg
                              << " got " << state[i] << " want " << want;
        }
        RecordProperty("worst_ulp_" + target + "_" + std::to_string(ds) + "_" + std::to_string(T),
                       std::to_string(worst));
      });
    }
  }
}

}  // namespace
}  // namespace mamba
