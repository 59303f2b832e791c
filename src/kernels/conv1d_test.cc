// SPDX-License-Identifier: MIT
// CausalConv1dSilu vs CausalConv1dSiluRef and a double-precision conv on every compiled target:
// odd channel counts, K = 1..4 and 100, strides, pools, T < K-1, and chunked calls equal one call.
#include "kernels/conv1d.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "kernels/kernel_test_util.h"
#include "threading/thread_pool.h"

namespace mamba {
namespace {

using kernels_test::ForEachTarget;
using kernels_test::kEps;
using kernels_test::RandomVec;

struct ConvCase {
  int64_t T, ch, K;
  std::vector<float> x;  // [T, x_stride]
  int64_t x_stride;
  std::vector<float> weight;  // [ch, K]
  std::vector<float> bias;    // [ch]
  std::vector<float> state;   // [K-1, ch] initial
};

ConvCase MakeCase(std::mt19937& rng, int64_t T, int64_t ch, int64_t K) {
  ConvCase c{T, ch, K, {}, ch + 5, {}, {}, {}};
  c.x = RandomVec(rng, T * c.x_stride, -3.0f, 3.0f);
  // Some large inputs so pre-activations reach beyond +-88 (exp overflow in SiLU) both ways.
  for (size_t i = 0; i < c.x.size(); i += 7) c.x[i] *= 40.0f;
  c.weight = RandomVec(rng, K * ch, -1.0f, 1.0f);
  c.bias = RandomVec(rng, ch, -1.0f, 1.0f);
  c.state = RandomVec(rng, (K - 1) * ch, -3.0f, 3.0f);
  return c;
}

// Runs `fn` (the kernel or the reference) over tokens [t0, t1) of the case with `state`.
template <class Fn>
void RunSpan(const ConvCase& c, int64_t t0, int64_t t1, std::vector<float>& state,
             std::vector<float>& out, int64_t out_stride, bool with_bias, const Fn& fn) {
  CausalConv1dArgs a;
  a.n_tokens = t1 - t0;
  a.channels = c.ch;
  a.d_conv = c.K;
  a.x = c.x.data() + t0 * c.x_stride;
  a.x_stride = c.x_stride;
  a.weight = c.weight.data();
  a.bias = with_bias ? c.bias.data() : nullptr;
  a.conv_state = state.data();
  a.out = out.data() + t0 * out_stride;
  a.out_stride = out_stride;
  fn(a);
}

// |silu'(v)| = |sig(v) (1 + v (1 - sig(v)))|.
double SiluSlope(double v) {
  const double sig = 1.0 / (1.0 + std::exp(-v));
  return std::fabs(sig * (1.0 + v * (1.0 - sig)));
}

// Double-precision check. pre = bias + sum_k w x has K+1 roundings of terms bounded by
// mag = |bias| + sum |w x|, scaled by the SiLU slope at pre; the SiLU itself adds a few roundings
// of |out|. Below -88.7, exp(-v) overflows and SiLU gives -0 (true value < 3e-37).
void Check(const ConvCase& c, bool with_bias, const std::vector<float>& out, int64_t out_stride,
           const std::vector<float>& final_state, const char* what) {
  const int64_t K = c.K, ch = c.ch;
  for (int64_t t = 0; t < c.T; ++t) {
    for (int64_t ci = 0; ci < ch; ++ci) {
      double pre = with_bias ? c.bias[ci] : 0.0, mag = std::fabs(pre);
      for (int64_t k = 0; k < K; ++k) {
        const int64_t s = t - (K - 1) + k;
        const double v = s < 0 ? c.state[(K - 1 + s) * ch + ci] : c.x[s * c.x_stride + ci];
        pre += c.weight[ci * K + k] * v;
        mag += std::fabs(c.weight[ci * K + k] * v);
      }
      const double want = pre / (1.0 + std::exp(-pre));
      // Error of pre, propagated through the SiLU slope: the largest |silu'| over the tiny
      // interval [pre - e, pre + e] (monotone there, or flat near its extrema: ends and middle).
      const double e = (K + 2) * kEps * mag;
      const double slope =
          std::max({SiluSlope(pre - e), SiluSlope(pre), SiluSlope(pre + e)}) * 1.01;
      const double tol = slope * e + 4 * kEps * std::fabs(want) + 3e-37;
      ASSERT_LE(std::fabs(out[t * out_stride + ci] - want), tol)
          << what << " t=" << t << " c=" << ci << " K=" << K;
    }
    for (int64_t ci = ch; ci < out_stride; ++ci) ASSERT_EQ(out[t * out_stride + ci], -7.0f);
  }
  for (int64_t j = 0; j < K - 1; ++j) {  // state = last K-1 inputs, older ones from the state
    for (int64_t ci = 0; ci < ch; ++ci) {
      const int64_t s = c.T - (K - 1) + j;
      const float want = s < 0 ? c.state[(c.T + j) * ch + ci] : c.x[s * c.x_stride + ci];
      ASSERT_EQ(final_state[j * ch + ci], want) << what << " state row " << j << " c=" << ci;
    }
  }
}

TEST(CausalConv1dTest, MatchesRefAllTargets) {
  std::mt19937 rng(21);
  ThreadPool pool2(2), pool3(3);
  // K = 100: the taps of a 64-channel block outgrow the kernel's stack buffer (smaller blocks).
  for (int64_t K : {1, 2, 3, 4, 100}) {
    for (int64_t ch : {1, 3, 8, 17, 64, 100, 130, 300, 2100}) {
      for (int64_t T : {1, 2, 3, 5, 9}) {
        if (ch == 2100 && T != 9) continue;  // wide enough to be split across the pool
        if (K == 100 && (ch == 2100 || T == 2)) continue;
        const ConvCase c = MakeCase(rng, T, ch, K);
        const int64_t out_stride = ch + 2;
        const bool with_bias = (ch + T) % 3 != 0;
        std::vector<float> ref(T * out_stride, -7.0f);
        std::vector<float> ref_state = c.state;
        RunSpan(c, 0, T, ref_state, ref, out_stride, with_bias,
                [](const CausalConv1dArgs& a) { CausalConv1dSiluRef(a); });
        Check(c, with_bias, ref, out_stride, ref_state, "Ref");
        ForEachTarget([&](const std::string&) {
          for (ThreadPool* pool : {static_cast<ThreadPool*>(nullptr), &pool2, &pool3}) {
            SCOPED_TRACE(testing::Message() << "K=" << K << " ch=" << ch << " T=" << T
                                            << " pool=" << (pool ? pool->num_threads() : 0));
            std::vector<float> out(T * out_stride, -7.0f);
            std::vector<float> state = c.state;
            RunSpan(c, 0, T, state, out, out_stride, with_bias,
                    [&](const CausalConv1dArgs& a) { CausalConv1dSilu(a, pool); });
            Check(c, with_bias, out, out_stride, state, "SIMD");
            // Same tokens in chunks (1, then 2, then the rest; T < K-1 pieces included) must give
            // the same outputs and final state, bit for bit: each output sees the same inputs.
            std::vector<float> out2(T * out_stride, -7.0f);
            std::vector<float> state2 = c.state;
            for (int64_t t0 = 0, len = 1; t0 < T; t0 += len, ++len) {
              const int64_t t1 = std::min(T, t0 + len);
              RunSpan(c, t0, t1, state2, out2, out_stride, with_bias,
                      [&](const CausalConv1dArgs& a) { CausalConv1dSilu(a, pool); });
            }
            ASSERT_EQ(out2, out);
            ASSERT_EQ(state2, state);
            if (HasFailure()) return;
          }
        });
        if (HasFailure()) return;
      }
    }
  }
}

// Decode-style calls (T = 1 each) on a state shorter than the call history: T < K-1 every time.
TEST(CausalConv1dTest, SingleTokenStepsEqualRef) {
  std::mt19937 rng(3);
  const ConvCase c = MakeCase(rng, 12, 37, 4);
  std::vector<float> ref(12 * 37, -7.0f), ref_state = c.state;
  for (int64_t t = 0; t < 12; ++t) {
    RunSpan(c, t, t + 1, ref_state, ref, 37, true,
            [](const CausalConv1dArgs& a) { CausalConv1dSiluRef(a); });
  }
  Check(c, true, ref, 37, ref_state, "Ref steps");
  ForEachTarget([&](const std::string&) {
    std::vector<float> out(12 * 37, -7.0f), state = c.state;
    for (int64_t t = 0; t < 12; ++t) {
      RunSpan(c, t, t + 1, state, out, 37, true,
              [](const CausalConv1dArgs& a) { CausalConv1dSilu(a, nullptr); });
    }
    Check(c, true, out, 37, state, "SIMD steps");
  });
}

}  // namespace
}  // namespace mamba
