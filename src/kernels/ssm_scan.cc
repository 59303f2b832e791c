// SPDX-License-Identifier: MIT
// SelectiveScan, Mamba-1 (Highway, runtime dispatch). Per channel the state row [d_state] is
// contiguous, so the inner loop is vectorized over d_state (one AVX2 vector pair for d_state 16;
// narrower vectors when d_state is 8 or 4, 1-lane vectors for any remainder) and y is one
// horizontal sum per (token, channel). The per-channel scalar math (softplus, the D skip, the
// SiLU gate) is vectorized over a block of channels before and after. Parallel over channels.
// Accuracy vs SelectiveScanRef: hn::Exp/Log1p are within 1-2 ulp of libm; sums are reassociated.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/ssm_scan.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"

#include <algorithm>
#include <cstdint>

#include "base/check.h"
#include "kernels/activations-inl.h"
#include "kernels/ssm_scan.h"
#include "threading/thread_pool.h"

HWY_BEFORE_NAMESPACE();
namespace mamba {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

constexpr int64_t kBlock = 64;  // channels per block (stack buffers below)

// dt_out[j] = softplus(dt[t, c+j] + dt_bias[c+j]); dtx_out[j] = dt_out[j] * x[t, c+j].
template <class D>
HWY_INLINE void Prologue(D d, const SelectiveScanArgs& a, int64_t t, int64_t c, float* dt_out,
                         float* dtx_out) {
  auto v = hn::LoadU(d, a.dt + t * a.dt_stride + c);
  if (a.dt_bias != nullptr) v = hn::Add(v, hn::LoadU(d, a.dt_bias + c));
  const auto dt = Softplus(d, v);
  hn::StoreU(dt, d, dt_out);
  hn::StoreU(hn::Mul(dt, hn::LoadU(d, a.x + t * a.x_stride + c)), d, dtx_out);
}

// y[t, c+j] = (y_in[j] + D[c+j] * x[t, c+j]) * silu(z[t, c+j]).
template <class D>
HWY_INLINE void Epilogue(D d, const SelectiveScanArgs& a, int64_t t, int64_t c, const float* y_in) {
  auto y = hn::LoadU(d, y_in);
  if (a.D != nullptr) {
    y = hn::MulAdd(hn::LoadU(d, a.D + c), hn::LoadU(d, a.x + t * a.x_stride + c), y);
  }
  if (a.z != nullptr) y = hn::Mul(y, Silu(d, hn::LoadU(d, a.z + t * a.z_stride + c)));
  hn::StoreU(y, d, a.y + t * a.y_stride + c);
}

// One (token, channel) state update over lanes of DS; returns sum_n S[n] * C[n] for those lanes.
// S = exp(dt * A) * S + (dt * x) * B
template <class DS>
HWY_INLINE hn::Vec<DS> StateStep(DS ds, hn::Vec<DS> dt, hn::Vec<DS> dtx, const float* A, float* S,
                                 const float* B, const float* C, hn::Vec<DS> acc) {
  const auto dA = hn::Exp(ds, hn::Mul(dt, hn::LoadU(ds, A)));
  const auto s = hn::MulAdd(dA, hn::LoadU(ds, S), hn::Mul(dtx, hn::LoadU(ds, B)));
  hn::StoreU(s, ds, S);
  return hn::MulAdd(s, hn::LoadU(ds, C), acc);
}

// Channels [c0, c1) for all tokens; DS is the descriptor of the d_state loop.
template <class DS>
void ScanChannels(DS ds, const SelectiveScanArgs& a, int64_t c0, int64_t c1) {
  const hn::ScalableTag<float> df;
  const hn::CappedTag<float, 1> d1;
  const int64_t NF = static_cast<int64_t>(hn::Lanes(df));
  const int64_t NS = static_cast<int64_t>(hn::Lanes(ds));
  const int64_t n_state = a.d_state;
  HWY_ALIGN float dt_buf[kBlock];   // [block] softplus(dt)
  HWY_ALIGN float dtx_buf[kBlock];  // [block] dt * x
  HWY_ALIGN float y_buf[kBlock];    // [block] S C
  for (int64_t cb = c0; cb < c1; cb += kBlock) {
    const int64_t nb = std::min(kBlock, c1 - cb);
    for (int64_t t = 0; t < a.n_tokens; ++t) {
      int64_t j = 0;
      for (; j + NF <= nb; j += NF) Prologue(df, a, t, cb + j, dt_buf + j, dtx_buf + j);
      for (; j < nb; ++j) Prologue(d1, a, t, cb + j, dt_buf + j, dtx_buf + j);

      const float* Bt = a.B + t * a.B_stride;  // [d_state]
      const float* Ct = a.C + t * a.C_stride;  // [d_state]
      for (j = 0; j < nb; ++j) {
        const int64_t c = cb + j;
        float* S = a.state + c * n_state;     // [d_state]
        const float* Ac = a.A + c * n_state;  // [d_state]
        auto acc = hn::Zero(ds);
        int64_t n = 0;
        if (NS > 1) {
          const auto dt = hn::Set(ds, dt_buf[j]);
          const auto dtx = hn::Set(ds, dtx_buf[j]);
          for (; n + NS <= n_state; n += NS) {
            acc = StateStep(ds, dt, dtx, Ac + n, S + n, Bt + n, Ct + n, acc);
          }
        }
        auto acc1 = hn::Zero(d1);
        const auto dt1 = hn::Set(d1, dt_buf[j]);
        const auto dtx1 = hn::Set(d1, dtx_buf[j]);
        for (; n < n_state; ++n)
          acc1 = StateStep(d1, dt1, dtx1, Ac + n, S + n, Bt + n, Ct + n, acc1);
        y_buf[j] = hn::GetLane(hn::SumOfLanes(ds, acc)) + hn::GetLane(acc1);
      }

      for (j = 0; j + NF <= nb; j += NF) Epilogue(df, a, t, cb + j, y_buf + j);
      for (; j < nb; ++j) Epilogue(d1, a, t, cb + j, y_buf + j);
    }
  }
}

void SelectiveScanSimd(const SelectiveScanArgs& a, ThreadPool* pool) {
  const hn::ScalableTag<float> df;
  const hn::CappedTag<float, 8> d8;
  const hn::CappedTag<float, 4> d4;
  const int64_t n_state = a.d_state;
  // Widest descriptor that divides d_state, else the widest that fits (remainder 1 lane at a time).
  const int64_t lanes[3] = {static_cast<int64_t>(hn::Lanes(df)),
                            static_cast<int64_t>(hn::Lanes(d8)),
                            static_cast<int64_t>(hn::Lanes(d4))};
  int choice = -1;
  for (int i = 0; i < 3 && choice < 0; ++i) {
    if (n_state % lanes[i] == 0) choice = i;
  }
  for (int i = 0; i < 3 && choice < 0; ++i) {
    if (n_state >= lanes[i]) choice = i;
  }
  // Channels per parallel chunk: >= 16, and >= ~8K state updates per chunk.
  const int64_t work = std::max<int64_t>(1, a.n_tokens * n_state);
  const int64_t grain = (std::max<int64_t>(16, 8192 / work) + 15) / 16 * 16;
  ParallelForOrInline(pool, a.d_inner, grain, [&](int64_t c0, int64_t c1) {
    switch (choice) {
      case 0:
        return ScanChannels(df, a, c0, c1);
      case 1:
        return ScanChannels(d8, a, c0, c1);
      case 2:
        return ScanChannels(d4, a, c0, c1);
      default:
        return ScanChannels(hn::CappedTag<float, 1>(), a, c0, c1);
    }
  });
}

}  // namespace HWY_NAMESPACE
}  // namespace mamba
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace mamba {

HWY_EXPORT(SelectiveScanSimd);

void SelectiveScan(const SelectiveScanArgs& args, ThreadPool* pool) {
  MAMBA_DCHECK(args.n_tokens >= 1 && args.d_inner >= 0 && args.d_state >= 1);
  HWY_DYNAMIC_DISPATCH(SelectiveScanSimd)(args, pool);
}

}  // namespace mamba
#endif  // HWY_ONCE
