// SPDX-License-Identifier: MIT
// SelectiveScan, Mamba-1 (Highway, runtime dispatch). Per channel the state row [d_state] is
// contiguous, so a call of few tokens (decode) vectorizes over d_state (one AVX2 vector pair for
// d_state 16; narrower vectors when d_state is 8 or 4, 1-lane vectors for any remainder) with one
// horizontal sum per (token, channel) for y (on AVX2 / AVX-512 formed for a vector of channels
// at once, in the same pairing). A call of several tokens (prefill) transposes the
// state and A of each vector of channels once and vectorizes over channels instead, repeating the
// same per-element operations in the same order (bit-identical; measured on Zen 4, T = 64,
// d_inner 1536, d_state 16: 1.27x faster with AVX-512, the same with AVX2). The per-channel
// scalar math (softplus, the D skip, the SiLU gate) is vectorized over channels before and after.
// Parallel over channels.
// Accuracy vs SelectiveScanRef: hn::Exp/Log1p (and ScanExp, the decay's exp on AVX-512) are
// within 1-2 ulp of libm; sums are reassociated.
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

#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX3
// AVX-512 (any width through AVX512VL): min / max that pass a NaN in v through, and v * 2^n
// with the result rounded into the subnormal range and to 0 / inf at the ends (vscalefps).
HWY_INLINE __m512 ClampPs(__m512 v, __m512 lo, __m512 hi) {
  return _mm512_max_ps(lo, _mm512_min_ps(hi, v));
}
HWY_INLINE __m256 ClampPs(__m256 v, __m256 lo, __m256 hi) {
  return _mm256_max_ps(lo, _mm256_min_ps(hi, v));
}
HWY_INLINE __m128 ClampPs(__m128 v, __m128 lo, __m128 hi) {
  return _mm_max_ps(lo, _mm_min_ps(hi, v));
}
HWY_INLINE __m512 ScalePow2(__m512 v, __m512 n) { return _mm512_scalef_ps(v, n); }
HWY_INLINE __m256 ScalePow2(__m256 v, __m256 n) { return _mm256_scalef_ps(v, n); }
HWY_INLINE __m128 ScalePow2(__m128 v, __m128 n) { return _mm_scalef_ps(v, n); }

// exp(v) for the state decay, in ~14 operations instead of hn::Exp's ~25 (the exp was most of a
// decode scan's work): v clamped to [-104, 89] (0 and inf beyond either way; NaN passes), n =
// round(v log2(e)), r = v - n ln(2) in two steps (Cody-Waite), exp(r) by the Cephes expf
// polynomial on [-ln(2) / 2, ln(2) / 2] (about 1 ulp), times 2^n exactly.
template <class D>
HWY_INLINE hn::Vec<D> ScanExp(D d, hn::Vec<D> v) {
  using V = hn::Vec<D>;
  v = V{ClampPs(v.raw, hn::Set(d, -104.0f).raw, hn::Set(d, 89.0f).raw)};
  const V n = hn::Round(hn::Mul(v, hn::Set(d, 1.44269504088896341f)));
  V r = hn::NegMulAdd(n, hn::Set(d, 0.693359375f), v);
  r = hn::NegMulAdd(n, hn::Set(d, -2.12194440e-4f), r);
  V p = hn::Set(d, 1.9875691500e-4f);
  p = hn::MulAdd(p, r, hn::Set(d, 1.3981999507e-3f));
  p = hn::MulAdd(p, r, hn::Set(d, 8.3334519073e-3f));
  p = hn::MulAdd(p, r, hn::Set(d, 4.1665795894e-2f));
  p = hn::MulAdd(p, r, hn::Set(d, 1.6666665459e-1f));
  p = hn::MulAdd(p, r, hn::Set(d, 5.0000001201e-1f));
  const V e = hn::Add(hn::MulAdd(p, hn::Mul(r, r), r), hn::Set(d, 1.0f));
  return V{ScalePow2(e.raw, n.raw)};
}
#else
template <class D>
HWY_INLINE hn::Vec<D> ScanExp(D d, hn::Vec<D> v) {
  return hn::Exp(d, v);
}
#endif

// S' = exp(dt * A) * S + (dt * x) * B, lane-wise: the one state-update arithmetic of both scan
// paths (their bit-identity rests on it).
template <class D>
HWY_INLINE hn::Vec<D> NewState(D d, hn::Vec<D> dt, hn::Vec<D> dtx, hn::Vec<D> A, hn::Vec<D> S,
                               hn::Vec<D> B) {
  return hn::MulAdd(ScanExp(d, hn::Mul(dt, A)), S, hn::Mul(dtx, B));
}

// One (token, channel) state update over lanes of DS; returns sum_n S[n] * C[n] for those lanes.
// S = exp(dt * A) * S + (dt * x) * B
template <class DS>
HWY_INLINE hn::Vec<DS> StateStep(DS ds, hn::Vec<DS> dt, hn::Vec<DS> dtx, const float* A, float* S,
                                 const float* B, const float* C, hn::Vec<DS> acc) {
  const auto s = NewState(ds, dt, dtx, hn::LoadU(ds, A), hn::LoadU(ds, S), hn::LoadU(ds, B));
  hn::StoreU(s, ds, S);
  return hn::MulAdd(s, hn::LoadU(ds, C), acc);
}

#undef MAMBA_SCAN_TRANSPOSED_SUMS  // per target (this file is compiled once per target)
#if HWY_ARCH_X86 && (HWY_TARGET == HWY_AVX2 || HWY_TARGET <= HWY_AVX3)
#define MAMBA_SCAN_TRANSPOSED_SUMS 1
// y[j] = SumHalves(v_j) for the NF = Lanes(ScalableTag<float>) vectors v_j = acc[j * NF ..
// (j + 1) * NF), j < NF, with SumHalves's exact pairing (lane i + lane i + NF / 2, then the same
// on the halves), so bit-identical to it; the sums of all NF vectors are formed together (a
// transposed reduction, ~3 shuffles and adds per vector instead of ~8 dependent ones).
// Per-channel horizontal sums were ~40 % of a decode scan on Zen 4.
#if HWY_TARGET <= HWY_AVX3
HWY_INLINE void SumHalvesTransposed(const float* HWY_RESTRICT acc, float* HWY_RESTRICT y) {
  // Level 1, w[k]: lanes 0-7 a(v_2k), 8-15 a(v_2k+1), a[i] = v[i] + v[i + 8].
  __m512 w[8];
  for (int k = 0; k < 8; ++k) {
    const __m512 v0 = _mm512_load_ps(acc + 32 * k), v1 = _mm512_load_ps(acc + 32 * k + 16);
    w[k] = _mm512_add_ps(_mm512_shuffle_f32x4(v0, v1, 0x44), _mm512_shuffle_f32x4(v0, v1, 0xEE));
  }
  // Level 2, u[m]: 128-bit block q holds b(v_4m+q), b[i] = a[i] + a[i + 4].
  __m512 u[4];
  for (int m = 0; m < 4; ++m) {
    u[m] = _mm512_add_ps(_mm512_shuffle_f32x4(w[2 * m], w[2 * m + 1], 0x88),
                         _mm512_shuffle_f32x4(w[2 * m], w[2 * m + 1], 0xDD));
  }
  // Level 3, t[h]: block q holds c(v_8h+q)[0..1], c(v_8h+4+q)[0..1], c[i] = b[i] + b[i + 2].
  __m512 t[2];
  for (int h = 0; h < 2; ++h) {
    t[h] = _mm512_add_ps(_mm512_shuffle_ps(u[2 * h], u[2 * h + 1], _MM_SHUFFLE(1, 0, 1, 0)),
                         _mm512_shuffle_ps(u[2 * h], u[2 * h + 1], _MM_SHUFFLE(3, 2, 3, 2)));
  }
  // Level 4: c[0] + c[1]; lane 4q + k holds channel 4k + q, permuted back to channel order.
  const __m512 r = _mm512_add_ps(_mm512_shuffle_ps(t[0], t[1], _MM_SHUFFLE(2, 0, 2, 0)),
                                 _mm512_shuffle_ps(t[0], t[1], _MM_SHUFFLE(3, 1, 3, 1)));
  const __m512i idx = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
  _mm512_store_ps(y, _mm512_permutexvar_ps(idx, r));
}
#else   // AVX2
HWY_INLINE void SumHalvesTransposed(const float* HWY_RESTRICT acc, float* HWY_RESTRICT y) {
  // Level 1, w[k]: lanes 0-3 a(v_2k), 4-7 a(v_2k+1), a[i] = v[i] + v[i + 4].
  __m256 w[4];
  for (int k = 0; k < 4; ++k) {
    const __m256 v0 = _mm256_load_ps(acc + 16 * k), v1 = _mm256_load_ps(acc + 16 * k + 8);
    w[k] =
        _mm256_add_ps(_mm256_permute2f128_ps(v0, v1, 0x20), _mm256_permute2f128_ps(v0, v1, 0x31));
  }
  // Level 2, u[m]: 128-bit half q holds b(v_4m+q)[0..1], b(v_4m+2+q)[0..1], b[i] = a[i] + a[i + 2].
  __m256 u[2];
  for (int m = 0; m < 2; ++m) {
    u[m] = _mm256_add_ps(_mm256_shuffle_ps(w[2 * m], w[2 * m + 1], _MM_SHUFFLE(1, 0, 1, 0)),
                         _mm256_shuffle_ps(w[2 * m], w[2 * m + 1], _MM_SHUFFLE(3, 2, 3, 2)));
  }
  // Level 3: b[0] + b[1]; half q lane k holds channel 2k + q, permuted back to channel order.
  const __m256 r = _mm256_add_ps(_mm256_shuffle_ps(u[0], u[1], _MM_SHUFFLE(2, 0, 2, 0)),
                                 _mm256_shuffle_ps(u[0], u[1], _MM_SHUFFLE(3, 1, 3, 1)));
  _mm256_store_ps(y, _mm256_permutevar8x32_ps(r, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7)));
}
#endif  // HWY_TARGET
#endif  // x86 AVX2 / AVX3

// A decode reads each channel's state row and A row from memory once per token (the weight
// stream evicts them between tokens), one cache line apart per channel: the hardware prefetchers
// stop at every 4 KiB page (64 channels at d_state 16), where the scan then stalls on memory.
// So the rows kPrefetchChannels ahead are prefetched (state with intent to write). A prefetch
// never faults, so running past the last channel is harmless.
constexpr int64_t kPrefetchChannels = 32;
// (Addresses formed as integers: they may lie past the arrays.)
HWY_INLINE void PrefetchStateRows(const float* state, const float* A, int64_t offset,
                                  int64_t n_floats) {
  const uintptr_t s = reinterpret_cast<uintptr_t>(state) + 4 * static_cast<uintptr_t>(offset);
  const uintptr_t a = reinterpret_cast<uintptr_t>(A) + 4 * static_cast<uintptr_t>(offset);
  for (uintptr_t i = 0; i < 4 * static_cast<uintptr_t>(n_floats); i += 64) {
    __builtin_prefetch(reinterpret_cast<const void*>(s + i), 1, 3);
    __builtin_prefetch(reinterpret_cast<const void*>(a + i), 0, 3);
  }
}

// Channels [c0, c1) (at most kBlock) for all tokens, lanes over d_state: per (token, channel) the
// state row is updated NS lanes at a time (acc lane i sums the states n = i mod NS in order, the
// leftover d_state % NS states one at a time in acc1), and y = SumHalves(acc) + acc1.
template <class DS>
void ScanBlockStateLanes(DS ds, const SelectiveScanArgs& a, int64_t c0, int64_t c1) {
  const hn::ScalableTag<float> df;
  const hn::CappedTag<float, 1> d1;
  const int64_t NF = static_cast<int64_t>(hn::Lanes(df));
  const int64_t NS = static_cast<int64_t>(hn::Lanes(ds));
  const int64_t n_state = a.d_state;
  const int64_t nb = c1 - c0;
  HWY_ALIGN float dt_buf[kBlock];   // [block] softplus(dt)
  HWY_ALIGN float dtx_buf[kBlock];  // [block] dt * x
  HWY_ALIGN float y_buf[kBlock];    // [block] S C
  // Locals, so the state stores do not make the compiler reload them from `a`.
  float* const state = a.state;  // [d_inner, d_state]
  const float* const A = a.A;    // [d_inner, d_state]
  for (int64_t t = 0; t < a.n_tokens; ++t) {
    int64_t j = 0;
    for (; j + NF <= nb; j += NF) Prologue(df, a, t, c0 + j, dt_buf + j, dtx_buf + j);
    for (; j < nb; ++j) Prologue(d1, a, t, c0 + j, dt_buf + j, dtx_buf + j);
    const float* Bt = a.B + t * a.B_stride;  // [d_state]
    const float* Ct = a.C + t * a.C_stride;  // [d_state]
    // Block channel j's states updated NS lanes at a time (when NS > 1): returns acc, and in
    // *n the states done (the rest go one at a time).
    auto vector_states = [&](int64_t j, int64_t* n_done) HWY_ATTR {
      float* S = state + (c0 + j) * n_state;     // [d_state]
      const float* Ac = A + (c0 + j) * n_state;  // [d_state]
      auto acc = hn::Zero(ds);
      int64_t n = 0;
      if (NS > 1) {
        const auto dt = hn::Set(ds, dt_buf[j]);
        const auto dtx = hn::Set(ds, dtx_buf[j]);
        for (; n + NS <= n_state; n += NS) {
          acc = StateStep(ds, dt, dtx, Ac + n, S + n, Bt + n, Ct + n, acc);
        }
      }
      *n_done = n;
      return acc;
    };
    j = 0;
#ifdef MAMBA_SCAN_TRANSPOSED_SUMS
    // NF channels at a time when d_state is whole vectors of NF lanes: the same per-channel
    // arithmetic (acc1 is zero, added as a zero vector), the horizontal sums formed together.
    if (NS == NF && n_state % NS == 0) {
      HWY_ALIGN float acc_buf[16 * 16];  // [NF channels, NF lanes], NF <= 16
      for (; j + NF <= nb; j += NF) {
        PrefetchStateRows(state, A, (c0 + j + kPrefetchChannels) * n_state, NF * n_state);
        for (int64_t i = 0; i < NF; ++i) {
          int64_t n;
          hn::Store(vector_states(j + i, &n), ds, acc_buf + i * NF);
        }
        SumHalvesTransposed(acc_buf, y_buf + j);
        hn::Store(hn::Add(hn::Load(df, y_buf + j), hn::Zero(df)), df, y_buf + j);
      }
    }
#endif
    for (; j < nb; ++j) {
      const int64_t c = c0 + j;
      float* S = state + c * n_state;     // [d_state]
      const float* Ac = A + c * n_state;  // [d_state]
      int64_t n;
      const auto acc = vector_states(j, &n);
      auto acc1 = hn::Zero(d1);
      const auto dt1 = hn::Set(d1, dt_buf[j]);
      const auto dtx1 = hn::Set(d1, dtx_buf[j]);
      for (; n < n_state; ++n) acc1 = StateStep(d1, dt1, dtx1, Ac + n, S + n, Bt + n, Ct + n, acc1);
      y_buf[j] = SumHalves(ds, acc) + hn::GetLane(acc1);
    }
    for (j = 0; j + NF <= nb; j += NF) Epilogue(df, a, t, c0 + j, y_buf + j);
    for (; j < nb; ++j) Epilogue(d1, a, t, c0 + j, y_buf + j);
  }
}

#if !HWY_HAVE_SCALABLE
// Lanes over channels pay off once the state and A are transposed once per call for many tokens:
// no horizontal sum per (token, channel), B[n] and C[n] broadcast once per NF channels.
constexpr int64_t kMinTokensChannelLanes = 4;
constexpr int64_t kMaxStateChannelLanes = 64;  // stack buffers below

// The per-token rows of x, dt, z and y are d_inner or more floats apart, too far for the hardware
// prefetchers, and a chunk's rows outgrow L2 (1.4b, 96 tokens: 4.5 MB): without a prefetch the
// loop waited on those loads for most of its time (1.4b F16 pp512 profile, 41 % of the scan's
// samples on the z load). Lines of channels [c, c + lanes) of token t are prefetched this many
// tokens ahead.
constexpr int64_t kScanPrefetchTokens = 8;

HWY_INLINE void PrefetchSpan(const float* p, int64_t lanes) {
  __builtin_prefetch(p);
  __builtin_prefetch(p + lanes - 1);
}

HWY_INLINE void PrefetchTokenRows(const SelectiveScanArgs& a, int64_t t, int64_t c, int64_t lanes) {
  PrefetchSpan(a.dt + t * a.dt_stride + c, lanes);
  PrefetchSpan(a.x + t * a.x_stride + c, lanes);
  if (a.z != nullptr) PrefetchSpan(a.z + t * a.z_stride + c, lanes);
  if (a.y != a.dt) PrefetchSpan(a.y + t * a.y_stride + c, lanes);
}

// Channels [c, c + Lanes(df)) for all tokens, lanes over channels, with exactly the operations of
// ScanBlockStateLanes<DS> for each (token, channel) in the same order (the per-lane accumulators
// acc[i] of DS become vectors P[i], SumHalves becomes vector adds of P[i] + P[i + h]), so the
// results are bit-identical to it: a sequence's outputs do not depend on how its tokens are split
// into calls. Needs n_state <= kMaxStateChannelLanes.
template <class DS>
void ScanGroupChannelLanes(DS, const SelectiveScanArgs& a, int64_t c) {
  const hn::ScalableTag<float> df;
  using V = hn::Vec<decltype(df)>;
  constexpr int64_t NF = static_cast<int64_t>(hn::MaxLanes(decltype(df)()));
  constexpr int64_t NS = static_cast<int64_t>(hn::MaxLanes(DS()));
  const int64_t n_state = a.d_state;
  const int64_t n_vec = NS > 1 ? n_state / NS * NS : 0;  // states summed in acc (the rest: acc1)
  HWY_ALIGN float St[kMaxStateChannelLanes * NF];        // [n_state, NF]: state of channel c + l
  HWY_ALIGN float At[kMaxStateChannelLanes * NF];        // [n_state, NF]
  for (int64_t l = 0; l < NF; ++l) {
    for (int64_t n = 0; n < n_state; ++n) {
      St[n * NF + l] = a.state[(c + l) * n_state + n];
      At[n * NF + l] = a.A[(c + l) * n_state + n];
    }
  }
  HWY_ALIGN float dt_buf[NF], dtx_buf[NF], y_buf[NF];
  for (int64_t t = 0; t < a.n_tokens; ++t) {
    if (t + kScanPrefetchTokens < a.n_tokens) PrefetchTokenRows(a, t + kScanPrefetchTokens, c, NF);
    Prologue(df, a, t, c, dt_buf, dtx_buf);
    const V dt = hn::Load(df, dt_buf);
    const V dtx = hn::Load(df, dtx_buf);
    const float* Bt = a.B + t * a.B_stride;  // [d_state]
    const float* Ct = a.C + t * a.C_stride;  // [d_state]
    // S[n] = exp(dt * A[n]) * S[n] + (dt * x) * B[n]; returns S[n] * C[n] + acc.
    auto step = [&](int64_t n, V acc) HWY_ATTR {
      const V s = NewState(df, dt, dtx, hn::Load(df, At + n * NF), hn::Load(df, St + n * NF),
                           hn::Set(df, Bt[n]));
      hn::Store(s, df, St + n * NF);
      return hn::MulAdd(s, hn::Set(df, Ct[n]), acc);
    };
    V P[NS];
    for (int64_t i = 0; i < NS; ++i) P[i] = hn::Zero(df);
    for (int64_t n0 = 0; n0 < n_vec; n0 += NS) {
      for (int64_t i = 0; i < NS; ++i) P[i] = step(n0 + i, P[i]);
    }
    V acc1 = hn::Zero(df);
    for (int64_t n = n_vec; n < n_state; ++n) acc1 = step(n, acc1);
    for (int64_t h = NS / 2; h >= 1; h /= 2) {
      for (int64_t i = 0; i < h; ++i) P[i] = hn::Add(P[i], P[i + h]);
    }
    hn::Store(hn::Add(P[0], acc1), df, y_buf);
    Epilogue(df, a, t, c, y_buf);
  }
  for (int64_t l = 0; l < NF; ++l) {
    for (int64_t n = 0; n < n_state; ++n) a.state[(c + l) * n_state + n] = St[n * NF + l];
  }
}
#endif  // !HWY_HAVE_SCALABLE

// Channels [c0, c1) for all tokens; DS is the descriptor of the d_state loop.
template <class DS>
void ScanChannels(DS ds, const SelectiveScanArgs& a, int64_t c0, int64_t c1) {
  for (int64_t cb = c0; cb < c1; cb += kBlock) {
    const int64_t ce = std::min(cb + kBlock, c1);
    int64_t c = cb;
#if !HWY_HAVE_SCALABLE
    if (a.n_tokens >= kMinTokensChannelLanes && a.d_state <= kMaxStateChannelLanes) {
      const int64_t NF = static_cast<int64_t>(hn::Lanes(hn::ScalableTag<float>()));
      for (; c + NF <= ce; c += NF) ScanGroupChannelLanes(ds, a, c);
    }
#endif
    if (c < ce) ScanBlockStateLanes(ds, a, c, ce);
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
  // Channels per parallel chunk: >= 16, and >= ~1K state updates per chunk (a microsecond),
  // in ranges that shrink towards the end (ThreadPool::kGuided) so that the threads finish
  // together. The bits do not depend on the split: every channel's arithmetic is the same.
  const int64_t work = std::max<int64_t>(1, a.n_tokens * n_state);
  const int64_t grain = (std::max<int64_t>(16, 1024 / work) + 15) / 16 * 16;
  ParallelForOrInline(
      pool, a.d_inner, grain,
      [&](int64_t c0, int64_t c1) {
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
      },
      ThreadPool::kGuided);
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
