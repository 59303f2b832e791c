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

// The 16 bytes at byte offset `off` of blocks k and k + 4 as one vector (low half: block k).
template <size_t kBytes>
HWY_INLINE __m256i LoadBlockPair(const uint8_t* blk, int k, size_t off) {
  return _mm256_inserti128_si256(
      _mm256_castsi128_si256(
          _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + k * kBytes + off))),
      _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + (k + 4) * kBytes + off)), 1);
}

// r[j] dword k = dword j of the 16 bytes at `off` in block k (k < 8, j < 4).
template <size_t kBytes>
HWY_INLINE void Transpose16x8(const uint8_t* blk, size_t off, __m256i* r) {
  const __m256i y0 = LoadBlockPair<kBytes>(blk, 0, off), y1 = LoadBlockPair<kBytes>(blk, 1, off);
  const __m256i y2 = LoadBlockPair<kBytes>(blk, 2, off), y3 = LoadBlockPair<kBytes>(blk, 3, off);
  const __m256i t0 = _mm256_unpacklo_epi32(y0, y1), t1 = _mm256_unpackhi_epi32(y0, y1);
  const __m256i t2 = _mm256_unpacklo_epi32(y2, y3), t3 = _mm256_unpackhi_epi32(y2, y3);
  r[0] = _mm256_unpacklo_epi64(t0, t2);
  r[1] = _mm256_unpackhi_epi64(t0, t2);
  r[2] = _mm256_unpacklo_epi64(t1, t3);
  r[3] = _mm256_unpackhi_epi64(t1, t3);
}

// Code vectors per 8-block group: Q8_0 without VNNI keeps the signed codes and their magnitudes.
template <DType kT>
constexpr int kCodeVectors = (kT == DType::kQ8_0 && HWY_TARGET != HWY_AVX3_DL) ? 16 : 8;

// The codes of 8 consecutive blocks, transposed: c[t] dword k = codes of elements 4t .. 4t + 3
// of block k (the layout of TransposeActs8's activations); unsigned (Q8_0 with VNNI: stored +
// 128), except Q8_0 without VNNI: c[t] the signed codes, c[8 + t] their magnitudes (ggml's sign
// trick, |code| <= 128 as u8).
template <DType kT>
HWY_INLINE void Codes8BlocksT(const uint8_t* blk, __m256i* c) {
  using T = Sym32Traits<kT>;
  if constexpr (kT == DType::kQ8_0) {
    Transpose16x8<T::kBytes>(blk, T::kQs, c);
    Transpose16x8<T::kBytes>(blk, T::kQs + 16, c + 4);
#if HWY_TARGET == HWY_AVX3_DL
    const __m256i bias = _mm256_set1_epi8(static_cast<char>(0x80));
    for (int t = 0; t < 8; ++t) c[t] = _mm256_xor_si256(c[t], bias);
#else
    for (int t = 0; t < 8; ++t) c[8 + t] = _mm256_sign_epi8(c[t], c[t]);
#endif
  } else {
    // qs byte i holds element i (low nibble) and element i + 16 (high nibble), so byte b of c[t]
    // is element 4t + b for every t.
    const __m256i m = _mm256_set1_epi8(0x0F);
    __m256i r[4];
    Transpose16x8<T::kBytes>(blk, T::kQs, r);
    for (int j = 0; j < 4; ++j) {
      c[j] = _mm256_and_si256(r[j], m);
      c[4 + j] = _mm256_and_si256(_mm256_srli_epi16(r[j], 4), m);
    }
    if constexpr (kT == DType::kQ5_0 || kT == DType::kQ5_1) {
      // The 5th bits: qh (u32 LE, 4 bytes before qs) bit e is element e's. Lane k of qh = block
      // k's; for c[t], byte b of lane k takes bit 4t + b: byte t / 2 of the lane copied to all
      // four bytes, each byte tested against its own bit of nibble t % 2.
      const __m256i qh = _mm256_i32gather_epi32(
          reinterpret_cast<const int*>(blk + T::kQs - 4),
          _mm256_setr_epi32(0, T::kBytes, 2 * T::kBytes, 3 * T::kBytes, 4 * T::kBytes,
                            5 * T::kBytes, 6 * T::kBytes, 7 * T::kBytes),
          1);
      const __m256i sixteen = _mm256_set1_epi8(16);
      for (int t = 0; t < 8; ++t) {
        const char byte = static_cast<char>(t / 2);
        const __m256i spread = _mm256_shuffle_epi8(
            qh, _mm256_setr_epi8(byte, byte, byte, byte, byte + 4, byte + 4, byte + 4, byte + 4,
                                 byte + 8, byte + 8, byte + 8, byte + 8, byte + 12, byte + 12,
                                 byte + 12, byte + 12, byte, byte, byte, byte, byte + 4, byte + 4,
                                 byte + 4, byte + 4, byte + 8, byte + 8, byte + 8, byte + 8,
                                 byte + 12, byte + 12, byte + 12, byte + 12));
        const __m256i bit = _mm256_set1_epi32(static_cast<int32_t>(0x08040201u << (4 * (t % 2))));
        const __m256i set = _mm256_cmpeq_epi8(_mm256_and_si256(spread, bit), bit);
        c[t] = _mm256_or_si256(c[t], _mm256_and_si256(set, sixteen));
      }
    }
  }
}

// init + (lane k: sum over block k of code * activation), xt in TransposeActs8's layout.
template <DType kT>
HWY_INLINE __m256i DotCodes8T(const __m256i* c, const int8_t* xt, __m256i init) {
#if HWY_TARGET == HWY_AVX3_DL
  __m256i acc2 = _mm256_setzero_si256();
  for (int t = 0; t < 4; ++t) {
    asm("%{evex%} vpdpbusd %2, %1, %0" : "+v"(init) : "v"(c[t]), "vm"(LoadI(xt + 32 * t)));
    asm("%{evex%} vpdpbusd %2, %1, %0"
        : "+v"(acc2)
        : "v"(c[4 + t]), "vm"(LoadI(xt + 32 * (4 + t))));
  }
  return _mm256_add_epi32(init, acc2);
#else
  if constexpr (kT == DType::kQ8_0) {
    // |w| x sign(x, w): pair sums up to 2 * 128 * 127 fit int16; widened per vector.
    const __m256i one = _mm256_set1_epi16(1);
    __m256i acc2 = _mm256_setzero_si256();
    for (int t = 0; t < 8; t += 2) {
      const __m256i p0 = _mm256_maddubs_epi16(c[8 + t], _mm256_sign_epi8(LoadI(xt + 32 * t), c[t]));
      const __m256i p1 =
          _mm256_maddubs_epi16(c[9 + t], _mm256_sign_epi8(LoadI(xt + 32 * (t + 1)), c[t + 1]));
      init = _mm256_add_epi32(init, _mm256_madd_epi16(p0, one));
      acc2 = _mm256_add_epi32(acc2, _mm256_madd_epi16(p1, one));
    }
    return _mm256_add_epi32(init, acc2);
  }
  // int16 lanes: 4 pair sums of at most 2 * 31 * 127 each per chain, no saturation.
  __m256i s0 = _mm256_setzero_si256(), s1 = _mm256_setzero_si256();
  for (int t = 0; t < 4; ++t) {
    s0 = _mm256_add_epi16(s0, _mm256_maddubs_epi16(c[t], LoadI(xt + 32 * t)));
    s1 = _mm256_add_epi16(s1, _mm256_maddubs_epi16(c[4 + t], LoadI(xt + 32 * (4 + t))));
  }
  const __m256i one = _mm256_set1_epi16(1);
  if constexpr (kT == DType::kQ5_0 || kT == DType::kQ5_1) {
    // Codes up to 31: each chain reaches 4 * 2 * 31 * 127, two of them would overflow int16.
    return _mm256_add_epi32(
        init, _mm256_add_epi32(_mm256_madd_epi16(s0, one), _mm256_madd_epi16(s1, one)));
  } else {
    return _mm256_add_epi32(init, _mm256_madd_epi16(_mm256_add_epi16(s0, s1), one));
  }
#endif
}

// DotSym32 of one weight row with A activation rows x[a] (xt[a] = TransposeActs8(*x[a])).
template <DType kT, int A>
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
    Codes8BlocksT<kT>(blk, c);
    const __m256 wd = LoadHalves8<T::kBytes, 0>(blk);
    [[maybe_unused]] __m256 wm;
    if constexpr (T::kMin) wm = LoadHalves8<T::kBytes, 2>(blk);
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
HWY_INLINE void RowsMultiOf(const uint8_t* w, size_t row_bytes, const QuantActs* const* x,
                            const int8_t* const* xt, int64_t cols, int64_t r0, int64_t r1, float* y,
                            int64_t y_stride) {
  if constexpr (kT == DType::kQ6_K) {
    RowsMulti<A>([&](const uint8_t* p, __m256* o) { DotQ6KMulti<A>(p, x, cols, o); }, w, row_bytes,
                 r0, r1, y, y_stride);
  } else if constexpr (kT == DType::kQ4_K || kT == DType::kQ5_K) {
    RowsMulti<A>(
        [&](const uint8_t* p, __m256* o) { DotQ4K5KMulti<kT == DType::kQ5_K, A>(p, x, cols, o); },
        w, row_bytes, r0, r1, y, y_stride);
  } else {
    RowsMulti<A>([&](const uint8_t* p, __m256* o) { DotSym32Multi<kT, A>(p, x, xt, cols, o); }, w,
                 row_bytes, r0, r1, y, y_stride);
  }
}

// RowsMultiOf for `rows` (1 .. kMaxMultiRows) activation rows.
template <DType kT>
void MultiRowsOf(int rows, const uint8_t* w, size_t row_bytes, const QuantActs* const* x,
                 const int8_t* const* xt, int64_t cols, int64_t r0, int64_t r1, float* y,
                 int64_t y_stride) {
  static_assert(kMaxMultiRows == 4);
  switch (rows) {
    case 1:
      return RowsMultiOf<kT, 1>(w, row_bytes, x, xt, cols, r0, r1, y, y_stride);
    case 2:
      return RowsMultiOf<kT, 2>(w, row_bytes, x, xt, cols, r0, r1, y, y_stride);
    case 3:
      return RowsMultiOf<kT, 3>(w, row_bytes, x, xt, cols, r0, r1, y, y_stride);
    default:
      return RowsMultiOf<kT, 4>(w, row_bytes, x, xt, cols, r0, r1, y, y_stride);
  }
}

inline void MultiRowsX86(DType dtype, int rows, const uint8_t* w, size_t row_bytes,
                         const QuantActs* const* x, const int8_t* const* xt, int64_t cols,
                         int64_t r0, int64_t r1, float* y, int64_t y_stride) {
  switch (dtype) {
    case DType::kQ8_0:
      return MultiRowsOf<DType::kQ8_0>(rows, w, row_bytes, x, xt, cols, r0, r1, y, y_stride);
    case DType::kQ4_0:
      return MultiRowsOf<DType::kQ4_0>(rows, w, row_bytes, x, xt, cols, r0, r1, y, y_stride);
    case DType::kQ4_1:
      return MultiRowsOf<DType::kQ4_1>(rows, w, row_bytes, x, xt, cols, r0, r1, y, y_stride);
    case DType::kQ5_0:
      return MultiRowsOf<DType::kQ5_0>(rows, w, row_bytes, x, xt, cols, r0, r1, y, y_stride);
    case DType::kQ5_1:
      return MultiRowsOf<DType::kQ5_1>(rows, w, row_bytes, x, xt, cols, r0, r1, y, y_stride);
    case DType::kQ4_K:
      return MultiRowsOf<DType::kQ4_K>(rows, w, row_bytes, x, xt, cols, r0, r1, y, y_stride);
    case DType::kQ5_K:
      return MultiRowsOf<DType::kQ5_K>(rows, w, row_bytes, x, xt, cols, r0, r1, y, y_stride);
    case DType::kQ6_K:
      return MultiRowsOf<DType::kQ6_K>(rows, w, row_bytes, x, xt, cols, r0, r1, y, y_stride);
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
