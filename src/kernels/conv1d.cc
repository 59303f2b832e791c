// SPDX-License-Identifier: MIT
// CausalConv1dSilu (Highway, runtime dispatch): lanes are channels (the weights are tap-major
// [K, channels] for exactly this), so every tap is one vector multiply-add. Channels are processed
// in blocks of kBlock (parallel over blocks); a block runs all tokens, then updates its slice of
// conv_state. Leftover channels use 1-lane vectors with the same math. Scalar twin: conv1d_ref.cc.
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

// out[t, c : c + Lanes(d)] for one token t.
template <class D>
HWY_INLINE void ConvToken(D d, const CausalConv1dArgs& a, int64_t t, int64_t c) {
  const int64_t ch = a.channels;
  const int64_t K = a.d_conv;
  auto acc = a.bias != nullptr ? hn::LoadU(d, a.bias + c) : hn::Zero(d);
  for (int64_t k = 0; k < K; ++k) {
    const int64_t s = t - (K - 1) + k;  // source token; < 0: conv_state row K-1+s
    const float* src = s < 0 ? a.conv_state + (K - 1 + s) * ch : a.x + s * a.x_stride;
    acc = hn::MulAdd(hn::LoadU(d, a.weight + k * ch + c), hn::LoadU(d, src + c), acc);
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

constexpr int64_t kBlock = 64;  // channels per block: x/out rows of a block share cache lines

void CausalConv1dSiluSimd(const CausalConv1dArgs& a, ThreadPool* pool) {
  const hn::ScalableTag<float> df;
  const hn::CappedTag<float, 1> d1;
  const int64_t N = static_cast<int64_t>(hn::Lanes(df));
  // Channels per parallel chunk: whole blocks, and >= ~32K multiply-adds so that a decode step
  // (T = 1: a few microseconds in all) stays on the calling thread.
  const int64_t macs = std::max<int64_t>(1, a.n_tokens * a.d_conv);
  const int64_t grain = (std::max(kBlock, 32768 / macs) + kBlock - 1) / kBlock * kBlock;
  ParallelForOrInline(pool, a.channels, grain, [&](int64_t c0, int64_t c1) {
    for (int64_t cb = c0; cb < c1; cb += kBlock) {
      const int64_t ce = std::min(cb + kBlock, c1);
      for (int64_t t = 0; t < a.n_tokens; ++t) {
        int64_t c = cb;
        for (; c + N <= ce; c += N) ConvToken(df, a, t, c);
        for (; c < ce; ++c) ConvToken(d1, a, t, c);
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
