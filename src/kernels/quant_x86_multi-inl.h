// SPDX-License-Identifier: MIT
// x86 multi-row kernels for prefill and batched decode (n > 1), one per quantized type: each
// weight group is unpacked once and multiplied into up to kMaxMultiRows activation rows.
// - 32-element block types: 8 blocks are unpacked into transposed codes (vector t holds codes
//   4t .. 4t + 3 of block k in int32 lane k), so each activation row's block sums come out
//   already in lanes (no reduction per row); the F32 operations are DotSym32's.
// - K-quants: each superblock is unpacked once (quant_x86_kquants-inl.h) and accumulated per
//   activation row by the decode kernels' own Accumulate* functions.
// The integers are exact and the F32 operations per (weight row, activation row) are the decode
// kernel's, in its order, so every result is bit-identical to decoding that activation row
// alone. Codes are <= 63 (or, for Q8_0 without VNNI, magnitudes <= 128 against sign-adjusted
// activations), so pmaddubsw pair sums cannot saturate.
// Highway per-target header: included from quant_matmul.cc after quant_x86_kquants-inl.h.

// Per-target include guard (the Highway toggle idiom).
#if defined(MAMBA_KERNELS_QUANT_X86_MULTI_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef MAMBA_KERNELS_QUANT_X86_MULTI_INL_H_
#undef MAMBA_KERNELS_QUANT_X86_MULTI_INL_H_
#else
#define MAMBA_KERNELS_QUANT_X86_MULTI_INL_H_
#endif

#include <cstdint>

#include "base/dtype.h"
#include "hwy/highway.h"
#include "kernels/quant_internal.h"

HWY_BEFORE_NAMESPACE();
namespace mamba {
namespace kernels_internal {
namespace HWY_NAMESPACE {

#ifdef MAMBA_QUANT_X86
namespace x86 {

// Activation rows per pass over a weight row.
constexpr int kMaxMultiRows = 4;

// DotSym32 of one weight row with A activation rows x[a] (xt[a] = TransposeActs8(*x[a])); the
// row's 8-block groups stored, or in the kGroups8 layout (kGrouped).
template <DType kT, int A, bool kGrouped>
HWY_INLINE void DotSym32Multi(const uint8_t* HWY_RESTRICT row, const QuantActs* const* x,
                              const int8_t* const* xt, int64_t cols, __m256* out) {
  using T = Sym32Traits<kT>;
  const int64_t groups = cols / 32;
  __m256 acc[A], macc[A];
  for (int a = 0; a < A; ++a) acc[a] = macc[a] = _mm256_setzero_ps();
  int64_t b = 0;
  for (; b + 8 <= groups; b += 8) {
    const uint8_t* blk = row + b * T::kBytes;
    PrefetchAhead<8 * T::kBytes>(blk);
    __m256i c[kCodeVectors<kT>];
    __m256 wd, wm;
    LoadGroup8<kT, kGrouped>(blk, c, &wd, &wm);
    for (int a = 0; a < A; ++a) {
      __m256i init = _mm256_setzero_si256();
      if constexpr (T::kOffShift >= 0) {
        init =
            _mm256_sub_epi32(init, _mm256_slli_epi32(LoadI(x[a]->qsum.data() + b), T::kOffShift));
      }
      const __m256i isum = DotCodes8T<kT>(c, xt[a] + b * 32, init);
      const __m256 scale = _mm256_mul_ps(wd, _mm256_loadu_ps(x[a]->d.data() + b));
      acc[a] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), scale, acc[a]);
      if constexpr (T::kMin) {
        macc[a] = _mm256_fmadd_ps(wm, _mm256_loadu_ps(x[a]->s.data() + b), macc[a]);
      }
    }
  }
  for (int a = 0; a < A; ++a) out[a] = Sym32Finish<kT>(row, *x[a], b, groups, acc[a], macc[a]);
}

// DotQ4K5K of one weight row with A activation rows x[a]: each superblock is unpacked once.
template <bool kQ5, int A>
HWY_INLINE void DotQ4K5KMulti(const uint8_t* HWY_RESTRICT row, const QuantActs* const* x,
                              int64_t cols, __m256* out) {
  constexpr size_t kBytes = kQ5 ? sizeof(quant::BlockQ5_K) : sizeof(quant::BlockQ4_K);
  const int64_t groups = cols / quant::kQK_K;
  __m256 acc[A];
  __m128 macc[A];
  for (int a = 0; a < A; ++a) {
    acc[a] = _mm256_setzero_ps();
    macc[a] = _mm_setzero_ps();
  }
  for (int64_t b = 0; b < groups; ++b) {
    const uint8_t* blk = row + b * kBytes;
    PrefetchAhead<kBytes>(blk);
    Q4KUnpacked u;
    UnpackQ4K5K<kQ5>(blk, &u);
    for (int a = 0; a < A; ++a) AccumulateQ4K5K(u, *x[a], b, &acc[a], &macc[a]);
  }
  for (int a = 0; a < A; ++a) out[a] = FinishQ4K5K(acc[a], macc[a]);
}

// DotQ6KX86 of one weight row with A activation rows x[a]: each superblock is unpacked once.
template <int A>
HWY_INLINE void DotQ6KMulti(const uint8_t* HWY_RESTRICT row, const QuantActs* const* x,
                            int64_t cols, __m256* out) {
  const int64_t groups = cols / quant::kQK_K;
  for (int a = 0; a < A; ++a) out[a] = _mm256_setzero_ps();
  for (int64_t b = 0; b < groups; ++b) {
    const uint8_t* blk = row + b * sizeof(quant::BlockQ6_K);
    PrefetchAhead<sizeof(quant::BlockQ6_K)>(blk);
    Q6KUnpacked u;
    UnpackQ6K(blk, &u);
    for (int a = 0; a < A; ++a) AccumulateQ6K(u, *x[a], b, &out[a]);
  }
}

// y[a * y_stride + r] = weight row r . activation row a for r0 <= r < r1 and a < A, where
// dot(row, out) writes the A dot vectors of one weight row; rows in groups of 8 from r0 reduced
// as DotRowsX86 does (the same bits).
template <int A, class Dot>
HWY_INLINE void RowsMulti(const Dot& dot, const uint8_t* w, size_t row_bytes, int64_t r0,
                          int64_t r1, float* y, int64_t y_stride) {
  int64_t r = r0;
  for (; r + 8 <= r1; r += 8) {
    __m256 dots[A][8];
    for (int i = 0; i < 8; ++i) {
      __m256 o[A];
      dot(w + static_cast<size_t>(r + i) * row_bytes, o);
      for (int a = 0; a < A; ++a) dots[a][i] = o[a];
    }
    for (int a = 0; a < A; ++a) _mm256_storeu_ps(y + a * y_stride + r, Reduce8F(dots[a]));
  }
  for (; r < r1; ++r) {
    __m256 o[A];
    dot(w + static_cast<size_t>(r) * row_bytes, o);
    for (int a = 0; a < A; ++a) y[a * y_stride + r] = HSumF32(o[a]);
  }
}

template <DType kT, int A>
HWY_INLINE void RowsMultiOf(const uint8_t* w, size_t row_bytes, bool grouped,
                            const QuantActs* const* x, const int8_t* const* xt, int64_t cols,
                            int64_t r0, int64_t r1, float* y, int64_t y_stride) {
  if constexpr (kT == DType::kQ6_K) {
    if (grouped) {
      RowsMulti<A>([&](const uint8_t* p, __m256* o) { DotQ6KGroupedRow<A>(p, x, xt, cols, o); }, w,
                   row_bytes, r0, r1, y, y_stride);
    } else {
      RowsMulti<A>([&](const uint8_t* p, __m256* o) { DotQ6KMulti<A>(p, x, cols, o); }, w,
                   row_bytes, r0, r1, y, y_stride);
    }
  } else if constexpr (kT == DType::kQ4_K || kT == DType::kQ5_K) {
    constexpr bool kQ5 = kT == DType::kQ5_K;
    if (grouped) {
      RowsMulti<A>(
          [&](const uint8_t* p, __m256* o) { DotQ4KGroupedRow<kQ5, A>(p, x, xt, cols, o); }, w,
          row_bytes, r0, r1, y, y_stride);
    } else {
      RowsMulti<A>([&](const uint8_t* p, __m256* o) { DotQ4K5KMulti<kQ5, A>(p, x, cols, o); }, w,
                   row_bytes, r0, r1, y, y_stride);
    }
  } else if (grouped) {
    RowsMulti<A>(
        [&](const uint8_t* p, __m256* o) { DotSym32Multi<kT, A, true>(p, x, xt, cols, o); }, w,
        row_bytes, r0, r1, y, y_stride);
  } else {
    RowsMulti<A>(
        [&](const uint8_t* p, __m256* o) { DotSym32Multi<kT, A, false>(p, x, xt, cols, o); }, w,
        row_bytes, r0, r1, y, y_stride);
  }
}

// RowsMultiOf for `rows` (1 .. kMaxMultiRows) activation rows.
template <DType kT>
void MultiRowsOf(int rows, const uint8_t* w, size_t row_bytes, bool grouped,
                 const QuantActs* const* x, const int8_t* const* xt, int64_t cols, int64_t r0,
                 int64_t r1, float* y, int64_t y_stride) {
  static_assert(kMaxMultiRows == 4);
  switch (rows) {
    case 1:
      return RowsMultiOf<kT, 1>(w, row_bytes, grouped, x, xt, cols, r0, r1, y, y_stride);
    case 2:
      return RowsMultiOf<kT, 2>(w, row_bytes, grouped, x, xt, cols, r0, r1, y, y_stride);
    case 3:
      return RowsMultiOf<kT, 3>(w, row_bytes, grouped, x, xt, cols, r0, r1, y, y_stride);
    default:
      return RowsMultiOf<kT, 4>(w, row_bytes, grouped, x, xt, cols, r0, r1, y, y_stride);
  }
}

// grouped: the weights are in the kGroups8 layout (32-element block types and K-quants).
inline void MultiRowsX86(DType dtype, int rows, const uint8_t* w, size_t row_bytes, bool grouped,
                         const QuantActs* const* x, const int8_t* const* xt, int64_t cols,
                         int64_t r0, int64_t r1, float* y, int64_t y_stride) {
  switch (dtype) {
    case DType::kQ8_0:
      return MultiRowsOf<DType::kQ8_0>(rows, w, row_bytes, grouped, x, xt, cols, r0, r1, y,
                                       y_stride);
    case DType::kQ4_0:
      return MultiRowsOf<DType::kQ4_0>(rows, w, row_bytes, grouped, x, xt, cols, r0, r1, y,
                                       y_stride);
    case DType::kQ4_1:
      return MultiRowsOf<DType::kQ4_1>(rows, w, row_bytes, grouped, x, xt, cols, r0, r1, y,
                                       y_stride);
    case DType::kQ5_0:
      return MultiRowsOf<DType::kQ5_0>(rows, w, row_bytes, grouped, x, xt, cols, r0, r1, y,
                                       y_stride);
    case DType::kQ5_1:
      return MultiRowsOf<DType::kQ5_1>(rows, w, row_bytes, grouped, x, xt, cols, r0, r1, y,
                                       y_stride);
    case DType::kQ4_K:
      return MultiRowsOf<DType::kQ4_K>(rows, w, row_bytes, grouped, x, xt, cols, r0, r1, y,
                                       y_stride);
    case DType::kQ5_K:
      return MultiRowsOf<DType::kQ5_K>(rows, w, row_bytes, grouped, x, xt, cols, r0, r1, y,
                                       y_stride);
    case DType::kQ6_K:
      return MultiRowsOf<DType::kQ6_K>(rows, w, row_bytes, grouped, x, xt, cols, r0, r1, y,
                                       y_stride);
    default:
      MAMBA_CHECK(false, "MultiRowsX86: no multi-row kernel for %s", DTypeName(dtype).data());
  }
}

}  // namespace x86
#endif  // MAMBA_QUANT_X86

}  // namespace HWY_NAMESPACE
}  // namespace kernels_internal
}  // namespace mamba
HWY_AFTER_NAMESPACE();

#endif  // per-target include guard
