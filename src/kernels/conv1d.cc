// SPDX-License-Identifier: MIT
// CausalConv1dSilu (Highway, runtime dispatch): lanes are channels, so every tap is one vector
// multiply-add. Channels are processed in blocks (parallel over blocks); a block copies its taps
// tap-major into a stack buffer (the weights stay in the checkpoint's [channels, K] layout, read
// in place from the mapped file), runs all tokens, then updates its slice of conv_state. Leftover
// channels use 1-lane vectors with the same math. Scalar twin: conv1d_ref.cc.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/conv1d.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"

#include <algorithm>
#include <cstdint>

#include "base/check.h"
#include "kernels/activations-inl.h"
#include "kernels/conv1d.h"
#include "threading/thread_pool.h"

HWY_BEFORE_NAMESPACE();
namespace mamba {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// out[t, c : c + Lanes(d)] for one token t; tap(k) returns the vector of tap k of these channels.
template <class D, class TapFn>
HWY_INLINE void ConvToken(D d, const CausalConv1dArgs& a, const TapFn& tap, int64_t t, int64_t c) {
  const int64_t ch = a.channels;
  const int64_t K = a.d_conv;
  auto acc = a.bias != nullptr ? hn::LoadU(d, a.bias + c) : hn::Zero(d);
  for (int64_t k = 0; k < K; ++k) {
    const int64_t s = t - (K - 1) + k;  // source token; < 0: conv_state row K-1+s
    const float* src = s < 0 ? a.conv_state + (K - 1 + s) * ch : a.x + s * a.x_stride;
    acc = hn::MulAdd(tap(k), hn::LoadU(d, src + c), acc);
  }
  hn::StoreU(Silu(d, acc), d, a.out + t * a.out_stride + c);
}

// conv_state[j, c : c + Lanes(d)] <- input of token T-(K-1)+j (an older state row if < 0).
template <class D>
HWY_INLINE void UpdateState(D d, const CausalConv1dArgs& a, int64_t c) {
  const int64_t ch = a.channels;
  const int64_t T = a.n_tokens;
  for (int64_t j = 0; j < a.d_conv - 1; ++j) {  // increasing j reads only rows >= j
    const int64_t s = T - (a.d_conv - 1) + j;
    const float* src = s < 0 ? a.conv_state + (T + j) * ch : a.x + s * a.x_stride;
    hn::StoreU(hn::LoadU(d, src + c), d, a.conv_state + j * ch + c);
  }
}

constexpr int64_t kBlock = 64;        // channels per block: x/out rows of a block share cache lines
constexpr int64_t kTapFloats = 4096;  // the block's taps on the stack (16 KiB)
constexpr int64_t kPrefetchTokens = 8;

void CausalConv1dSiluSimd(const CausalConv1dArgs& a, ThreadPool* pool) {
  const hn::ScalableTag<float> df;
  const hn::CappedTag<float, 1> d1;
  const int64_t N = static_cast<int64_t>(hn::Lanes(df));
  // Channels per parallel chunk: whole blocks, and >= ~2K multiply-adds. A decode step (T = 1)
  // is split too: its few microseconds are spent waiting for the taps and the state to come
  // from memory (the weight stream of the layer before evicted them), and with the other
  // threads idle meanwhile (370m Q4_0 decode at 2 threads: 1.8 % of the time on one thread).
  const int64_t macs = std::max<int64_t>(1, a.n_tokens * a.d_conv);
  const int64_t grain = (std::max(kBlock, 2048 / macs) + kBlock - 1) / kBlock * kBlock;
  const int64_t K = a.d_conv;
  // Channels per block: kBlock, fewer for wide kernels so that [K, block] fits kTapFloats.
  const int64_t block = std::max<int64_t>(1, std::min(kBlock, kTapFloats / K));
  ParallelForOrInline(pool, a.channels, grain, [&](int64_t c0, int64_t c1) {
    HWY_ALIGN float taps[kTapFloats];  // [K, block]: taps[k * block + j] = weight[cb + j, k]
    for (int64_t cb = c0; cb < c1; cb += block) {
      const int64_t ce = std::min(cb + block, c1);
      int64_t c_vec = cb;  // channels [cb, c_vec) done by the K == 4 path
#if HWY_TARGET != HWY_SCALAR
      if (K == 4) {  // Mamba's width: de-interleave N channels' taps straight from [channels, 4]
        for (; c_vec + N <= ce; c_vec += N) {
          hn::Vec<decltype(df)> w[4];
          hn::LoadInterleaved4(df, a.weight + c_vec * 4, w[0], w[1], w[2], w[3]);
          auto tap = [&](int64_t k) HWY_ATTR { return w[k]; };
          for (int64_t t = 0; t < a.n_tokens; ++t) {
            // Token rows are far apart (the hardware prefetchers do not follow): fetch the
            // input and output lines of these channels kPrefetchTokens ahead.
            if (t + kPrefetchTokens < a.n_tokens) {
              __builtin_prefetch(a.x + (t + kPrefetchTokens) * a.x_stride + c_vec);
              __builtin_prefetch(a.out + (t + kPrefetchTokens) * a.out_stride + c_vec, 1);
            }
            ConvToken(df, a, tap, t, c_vec);
          }
        }
      }
#endif
      if (c_vec < ce) {
        for (int64_t j = c_vec - cb; j < ce - cb; ++j) {
          for (int64_t k = 0; k < K; ++k) taps[k * block + j] = a.weight[(cb + j) * K + k];
        }
        for (int64_t t = 0; t < a.n_tokens; ++t) {
          int64_t c = c_vec;
          for (; c + N <= ce; c += N) {
            auto tap = [&](int64_t k)
                           HWY_ATTR { return hn::LoadU(df, taps + k * block + (c - cb)); };
            ConvToken(df, a, tap, t, c);
          }
          for (; c < ce; ++c) {
            auto tap = [&](int64_t k)
                           HWY_ATTR { return hn::LoadU(d1, taps + k * block + (c - cb)); };
            ConvToken(d1, a, tap, t, c);
          }
        }
      }
      int64_t c = cb;
      for (; c + N <= ce; c += N) UpdateState(df, a, c);
      for (; c < ce; ++c) UpdateState(d1, a, c);
    }
  });
}

}  // namespace HWY_NAMESPACE
}  // namespace mamba
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace mamba {

HWY_EXPORT(CausalConv1dSiluSimd);

void CausalConv1dSilu(const CausalConv1dArgs& args, ThreadPool* pool) {
  MAMBA_DCHECK(args.n_tokens >= 1 && args.channels >= 0 && args.d_conv >= 1);
  HWY_DYNAMIC_DISPATCH(CausalConv1dSiluSimd)(args, pool);
}

}  // namespace mamba
#endif  // HWY_ONCE
