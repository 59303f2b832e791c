// SPDX-License-Identifier: MIT
// The x86 (AVX2 / AVX3 / AVX3_DL) K-quant kernels (Q4_K, Q5_K, Q6_K) used by quant_matmul.cc:
// each superblock is unpacked in registers once (UnpackQ4K5K, UnpackQ6K; UnpackQ4KGrouped for
// Q4_K / Q5_K rows in the kGroups8 layout) and accumulated into one or more activation rows
// (AccumulateQ4K5K, AccumulateQ6K, AccumulateQ4KGrouped), so the decode kernels here and the
// multi-row kernels of quant_x86_multi-inl.h run the same arithmetic. Highway per-target header:
// included from quant_matmul.cc after quant_x86-inl.h.

// Per-target include guard (the Highway toggle idiom).
#if defined(MAMBA_KERNELS_QUANT_X86_KQUANTS_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef MAMBA_KERNELS_QUANT_X86_KQUANTS_INL_H_
#undef MAMBA_KERNELS_QUANT_X86_KQUANTS_INL_H_
#else
#define MAMBA_KERNELS_QUANT_X86_KQUANTS_INL_H_
#endif

#include <cstdint>
#include <cstring>
#include <vector>

#include "base/dtype.h"
#include "hwy/highway.h"
#include "kernels/quant_blocks.h"
#include "kernels/quant_internal.h"
#include "kernels/quant_repack.h"

HWY_BEFORE_NAMESPACE();
namespace mamba {
namespace kernels_internal {
namespace HWY_NAMESPACE {

#ifdef MAMBA_QUANT_X86
namespace x86 {

// Bits k of each byte of h moved to bit 4 (value 16), other bits clear.
template <int k>
HWY_INLINE __m256i BitTo16(__m256i h) {
  __m256i t = h;
  if constexpr (k < 4) t = _mm256_slli_epi16(h, 4 - k);
  if constexpr (k > 4) t = _mm256_srli_epi16(h, k - 4);
  return _mm256_and_si256(t, _mm256_set1_epi8(16));
}

// One Q4_K / Q5_K superblock unpacked in registers: the codes (unsigned, with Q5_K's 5th bit)
// of its 8 sub-blocks of 32, the 6-bit scales as int16 words laid out for HalfSums4Scaled, the
// mins as words m0..7 and [d, dmin] in F32.
struct Q4KUnpacked {
  __m256i codes[8];  // codes[2c] = low nibbles of qs chunk c, codes[2c + 1] = high nibbles
  __m256i sc_a, sc_b;
  __m128i m16;
  __m128 dd;  // lanes 0, 1: d, dmin
};

// The 6-bit scales and mins of a Q4_K / Q5_K superblock as bytes sc0..7, m0..7 (ggml's kmask
// unpacking of GetScaleMinK4, in 32-bit lanes: bytes 4..19 of the block, the last 4 unused).
HWY_INLINE __m128i ScalesMinsQ4K(const uint8_t* HWY_RESTRICT blk) {
  const __m128i raw = _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + 4));
  const __m128i lo6 = _mm_and_si128(
      _mm_srlv_epi32(_mm_shuffle_epi32(raw, 0x98), _mm_setr_epi32(0, 0, 0, 4)),  // u0 u2 u1 u2>>4
      _mm_setr_epi32(0x3f3f3f3f, 0x0f0f0f0f, 0x3f3f3f3f, 0x0f0f0f0f));
  const __m128i hi2 =
      _mm_and_si128(_mm_srli_epi32(_mm_shuffle_epi32(raw, 0x50), 2),  // u0 u0 u1 u1, >> 6 << 4
                    _mm_setr_epi32(0, 0x30303030, 0, 0x30303030));
  return _mm_or_si128(lo6, hi2);
}

// [d, dmin] of a Q4_K / Q5_K superblock in F32 lanes 0, 1.
HWY_INLINE __m128 DminQ4K(const uint8_t* HWY_RESTRICT blk) {
  uint32_t ddbits;
  std::memcpy(&ddbits, blk, 4);
  return _mm_cvtph_ps(_mm_cvtsi32_si128(static_cast<int32_t>(ddbits)));
}

// The mins m0..7 of ScalesMinsQ4K as int16 words.
HWY_INLINE __m128i Mins16Q4K(__m128i sm) {
  return _mm_shuffle_epi8(
      sm, _mm_setr_epi8(8, -1, 9, -1, 10, -1, 11, -1, 12, -1, 13, -1, 14, -1, 15, -1));
}

template <bool kQ5>
HWY_INLINE void UnpackQ4K5K(const uint8_t* HWY_RESTRICT blk, Q4KUnpacked* u) {
  // The scales as int16 words [s(4h) s(4h) s(4h+1) s(4h+1) .. s(4h+3) s(4h+3)] in both 128-bit
  // halves (h = 0, 1: the last pair-add of HalfSums4Scaled), the mins as words m0..7.
  const __m128i sm = ScalesMinsQ4K(blk);
  const __m256i sm2 = _mm256_broadcastsi128_si256(sm);
  u->sc_a = _mm256_shuffle_epi8(
      sm2, _mm256_setr_epi8(0, -1, 0, -1, 1, -1, 1, -1, 2, -1, 2, -1, 3, -1, 3, -1, 0, -1, 0, -1, 1,
                            -1, 1, -1, 2, -1, 2, -1, 3, -1, 3, -1));
  u->sc_b = _mm256_shuffle_epi8(
      sm2, _mm256_setr_epi8(4, -1, 4, -1, 5, -1, 5, -1, 6, -1, 6, -1, 7, -1, 7, -1, 4, -1, 4, -1, 5,
                            -1, 5, -1, 6, -1, 6, -1, 7, -1, 7, -1));
  u->m16 = Mins16Q4K(sm);
  const uint8_t* qs = blk + (kQ5 ? 48 : 16);
  const __m256i mask = _mm256_set1_epi8(0x0F);
  [[maybe_unused]] __m256i hb;
  if constexpr (kQ5) hb = LoadI(blk + 16);
#define MAMBA_Q4K_CHUNK(c)                                        \
  {                                                               \
    const __m256i q = LoadI(qs + 32 * (c));                       \
    __m256i lo = _mm256_and_si256(q, mask);                       \
    __m256i hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), mask); \
    if constexpr (kQ5) {                                          \
      lo = _mm256_or_si256(lo, BitTo16<2 * (c)>(hb));             \
      hi = _mm256_or_si256(hi, BitTo16<2 * (c) + 1>(hb));         \
    }                                                             \
    u->codes[2 * (c)] = lo;                                       \
    u->codes[2 * (c) + 1] = hi;                                   \
  }
  MAMBA_Q4K_CHUNK(0)
  MAMBA_Q4K_CHUNK(1)
  MAMBA_Q4K_CHUNK(2)
  MAMBA_Q4K_CHUNK(3)
#undef MAMBA_Q4K_CHUNK
  u->dd = DminQ4K(blk);
}

// The F32 step of superblock b: isum's 8 lanes (whose total is sum_j sc_j isum_j) times d dx
// into acc, sum_j m_j qsum_j times dmin dx into macc (4 lanes, subtracted at the end).
HWY_INLINE void AccumulateQ4KSums(__m256i isum, __m128i m16, __m128 dmin, const QuantActs& x,
                                  int64_t b, __m256* acc, __m128* macc) {
  // sum_j m_j qsum_j (|qsum| <= 32 * 127 fits int16) in 4 lanes.
  const int32_t* qsum = x.qsum.data() + b * 8;
  const __m128i summs = _mm_madd_epi16(
      m16, _mm_packs_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(qsum)),
                           _mm_loadu_si128(reinterpret_cast<const __m128i*>(qsum + 4))));
  // [d dx, dmin dx].
  const __m128 dd = _mm_mul_ps(dmin, _mm_set1_ps(x.d[b]));
  *acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), _mm256_broadcastss_ps(dd), *acc);
  *macc = _mm_fmadd_ps(_mm_cvtepi32_ps(summs), _mm_permute_ps(dd, 0x55), *macc);
}

// Superblock b of an unpacked Q4_K / Q5_K row times activation row 0 of x, into acc (8 lanes
// whose sum is the scaled dot) and macc (4 lanes of the min term, subtracted at the end).
HWY_INLINE void AccumulateQ4K5K(const Q4KUnpacked& u, const QuantActs& x, int64_t b, __m256* acc,
                                __m128* macc) {
  const int8_t* HWY_RESTRICT xb = x.q8.data() + b * quant::kQK_K;
  __m256i v[8];
  for (int i = 0; i < 8; ++i) v[i] = DotU8S8(u.codes[i], LoadI(xb + 32 * i));
  // Lane sums of 4 products are at most 4 * 31 * 127 < 2^14. The lanes of isum mix the
  // sub-blocks; their total is sum_j sc_j isum_j.
  const __m256i isum = _mm256_add_epi32(HalfSums4Scaled(v, u.sc_a), HalfSums4Scaled(v + 4, u.sc_b));
  AccumulateQ4KSums(isum, u.m16, u.dd, x, b, acc, macc);
}

HWY_INLINE __m256 FinishQ4K5K(__m256 acc, __m128 macc) {
  return _mm256_sub_ps(acc, _mm256_set_m128(_mm_setzero_ps(), macc));
}

// n == 1 dot of one Q4_K / Q5_K row with activation row 0.
// NR consecutive rows (row0, row0 + row_bytes, ...) at once, superblock by superblock: two rows'
// independent work fills the out-of-order window around each superblock's long dependency chain.
template <bool kQ5, int NR>
HWY_INLINE void DotQ4K5K(const uint8_t* HWY_RESTRICT row0, size_t row_bytes, const QuantActs& x,
                         int64_t cols, __m256* out) {
  constexpr size_t kBytes = kQ5 ? sizeof(quant::BlockQ5_K) : sizeof(quant::BlockQ4_K);
  const int64_t groups = cols / quant::kQK_K;
  __m256 accs[NR];
  __m128 maccs[NR];
  for (int r = 0; r < NR; ++r) {
    accs[r] = _mm256_setzero_ps();
    maccs[r] = _mm_setzero_ps();
  }
  for (int64_t b = 0; b < groups; ++b) {
    for (int r = 0; r < NR; ++r) {
      const uint8_t* blk = row0 + r * row_bytes + b * kBytes;
      PrefetchAhead<kBytes>(blk);
      Q4KUnpacked u;
      UnpackQ4K5K<kQ5>(blk, &u);
      AccumulateQ4K5K(u, x, b, &accs[r], &maccs[r]);
    }
  }
  for (int r = 0; r < NR; ++r) out[r] = FinishQ4K5K(accs[r], maccs[r]);
}

// Q4_K / Q5_K in the kGroups8 layout (kernels/quant_repack.h): lane L = 4h + j of code vector t
// holds 4 codes of sub-block j (ca[t]) and of sub-block j + 4 (cb[t]), against activations
// transposed alike (TransposeActsQ4K), so 4 chained int8 dot products give in lane L the sums
// D(j, h) and D(j + 4, h) over the 16-element halves h of those sub-blocks, and
//   isum lane L = s_j D(j, h) + s_{j+4} D(j + 4, h),
// the exact integers of the stored-layout kernel's lanes (AccumulateQ4K5K). The F32 step is
// shared (AccumulateQ4KSums), so both layouts give the same bits.
struct Q4KGrouped {
  __m256i ca[4], cb[4];  // cb: VNNI Q4_K 16 x the code (kQ4KHighNibbleInPlace), else the code
  // Per lane L: VNNI Q4_K words [s_j, s_{j+4}] (sc1); VNNI Q5_K dwords s_j (sc1) and s_{j+4}
  // (sc2); otherwise words [s_j, s_j] (sc1) and [s_{j+4}, s_{j+4}] (sc2).
  __m256i sc1, sc2;
  __m128i m16;
  __m128 dd;
};

// Whether UnpackQ4KGrouped leaves Q4_K's high nibbles in place (cb = 16 x code): with VNNI,
// whose u8 x s8 products accumulate in int32 without the pair saturation of pmaddubsw.
constexpr bool kQ4KHighNibbleInPlace = HWY_TARGET == HWY_AVX3_DL;

template <bool kQ5>
HWY_INLINE void UnpackQ4KGrouped(const uint8_t* HWY_RESTRICT blk, Q4KGrouped* u) {
  const __m128i sm = ScalesMinsQ4K(blk);
  const __m256i sm2 = _mm256_broadcastsi128_si256(sm);
#if HWY_TARGET == HWY_AVX3_DL
  if constexpr (kQ5) {
    u->sc1 = _mm256_shuffle_epi8(
        sm2, _mm256_setr_epi8(0, -1, -1, -1, 1, -1, -1, -1, 2, -1, -1, -1, 3, -1, -1, -1, 0, -1, -1,
                              -1, 1, -1, -1, -1, 2, -1, -1, -1, 3, -1, -1, -1));
    u->sc2 = _mm256_shuffle_epi8(
        sm2, _mm256_setr_epi8(4, -1, -1, -1, 5, -1, -1, -1, 6, -1, -1, -1, 7, -1, -1, -1, 4, -1, -1,
                              -1, 5, -1, -1, -1, 6, -1, -1, -1, 7, -1, -1, -1));
  } else {
    u->sc1 = _mm256_shuffle_epi8(
        sm2, _mm256_setr_epi8(0, -1, 4, -1, 1, -1, 5, -1, 2, -1, 6, -1, 3, -1, 7, -1, 0, -1, 4, -1,
                              1, -1, 5, -1, 2, -1, 6, -1, 3, -1, 7, -1));
    u->sc2 = u->sc1;
  }
#else
  u->sc1 = _mm256_shuffle_epi8(
      sm2, _mm256_setr_epi8(0, -1, 0, -1, 1, -1, 1, -1, 2, -1, 2, -1, 3, -1, 3, -1, 0, -1, 0, -1, 1,
                            -1, 1, -1, 2, -1, 2, -1, 3, -1, 3, -1));
  u->sc2 = _mm256_shuffle_epi8(
      sm2, _mm256_setr_epi8(4, -1, 4, -1, 5, -1, 5, -1, 6, -1, 6, -1, 7, -1, 7, -1, 4, -1, 4, -1, 5,
                            -1, 5, -1, 6, -1, 6, -1, 7, -1, 7, -1));
#endif
  u->m16 = Mins16Q4K(sm);
  u->dd = DminQ4K(blk);
  const __m256i mask = _mm256_set1_epi8(0x0F);
  const uint8_t* codes = blk + quant::KQuantCodesOffset(kQ5);
  [[maybe_unused]] __m256i hb;
  if constexpr (kQ5) hb = LoadI(blk + 16);  // bit t: ca[t]'s 5th bits, bit 4 + t: cb[t]'s
  // VNNI Q4_K: cb keeps the high nibbles in place (16 x the code, <= 240 as u8), one AND
  // instead of a shift and an AND; AccumulateQ4KGrouped takes the factor 16 out exactly.
  constexpr bool kHigh16 = kQ4KHighNibbleInPlace && !kQ5;
  const __m256i mask_hi = _mm256_set1_epi8(static_cast<char>(0xF0));
#define MAMBA_Q4KG_CODES(t)                                                \
  {                                                                        \
    __m256i q = LoadI(codes + 32 * (t));                                   \
    if constexpr (kHigh16) asm("" : "+v"(q)); /* one load for both ANDs */ \
    u->ca[t] = _mm256_and_si256(q, mask);                                  \
    if constexpr (kHigh16) {                                               \
      u->cb[t] = _mm256_and_si256(q, mask_hi);                             \
    } else {                                                               \
      u->cb[t] = _mm256_and_si256(_mm256_srli_epi16(q, 4), mask);          \
    }                                                                      \
    if constexpr (kQ5) {                                                   \
      u->ca[t] = _mm256_or_si256(u->ca[t], BitTo16<(t)>(hb));              \
      u->cb[t] = _mm256_or_si256(u->cb[t], BitTo16<4 + (t)>(hb));          \
    }                                                                      \
  }
  MAMBA_Q4KG_CODES(0)
  MAMBA_Q4KG_CODES(1)
  MAMBA_Q4KG_CODES(2)
  MAMBA_Q4KG_CODES(3)
#undef MAMBA_Q4KG_CODES
}

// Superblock b of a kGroups8 Q4_K / Q5_K row times activation row x (xt: its TransposeActsQ4K
// bytes of superblock b: the 4 vectors against ca, then the 4 against cb), into acc and macc.
template <bool kQ5>
HWY_INLINE void AccumulateQ4KGrouped(const Q4KGrouped& u, const QuantActs& x,
                                     const int8_t* HWY_RESTRICT xt, int64_t b, __m256* acc,
                                     __m128* macc) {
#if HWY_TARGET == HWY_AVX3_DL
  __m256i da = _mm256_setzero_si256(), db = _mm256_setzero_si256();
  for (int t = 0; t < 4; ++t) {
    asm("%{evex%} vpdpbusd %2, %1, %0" : "+v"(da) : "v"(u.ca[t]), "vm"(LoadI(xt + 32 * t)));
    asm("%{evex%} vpdpbusd %2, %1, %0" : "+v"(db) : "v"(u.cb[t]), "vm"(LoadI(xt + 128 + 32 * t)));
  }
  __m256i isum;
  if constexpr (kQ5) {
    // |D| <= 16 * 31 * 127: int32 products.
    isum = _mm256_add_epi32(_mm256_mullo_epi32(da, u.sc1), _mm256_mullo_epi32(db, u.sc2));
  } else {
    // |D| <= 16 * 15 * 127 < 2^15: each lane's low int16 word is its value. db is 16 D(j + 4)
    // (high nibbles in place), so shifting it by 12 puts D(j + 4) in the high word.
    static_assert(kQ4KHighNibbleInPlace);
    isum = _mm256_madd_epi16(_mm256_blend_epi16(da, _mm256_slli_epi32(db, 12), 0xAA), u.sc1);
  }
#else
  // int16 pair sums: 4 of at most 2 * 31 * 127 per chain, no saturation.
  __m256i sa = _mm256_maddubs_epi16(u.ca[0], LoadI(xt));
  __m256i sb = _mm256_maddubs_epi16(u.cb[0], LoadI(xt + 128));
  for (int t = 1; t < 4; ++t) {
    sa = _mm256_add_epi16(sa, _mm256_maddubs_epi16(u.ca[t], LoadI(xt + 32 * t)));
    sb = _mm256_add_epi16(sb, _mm256_maddubs_epi16(u.cb[t], LoadI(xt + 128 + 32 * t)));
  }
  const __m256i isum = _mm256_add_epi32(_mm256_madd_epi16(sa, u.sc1), _mm256_madd_epi16(sb, u.sc2));
#endif
  AccumulateQ4KSums(isum, u.m16, u.dd, x, b, acc, macc);
}

// x's activation codes transposed for kGroups8 Q4_K / Q5_K rows: per superblock, the 4 vectors
// whose lane L = 4h + j holds elements 32j + 16h + 4t .. + 3, then the 4 for sub-blocks j + 4.
inline void TransposeActsQ4K(const QuantActs& x, int64_t cols, std::vector<int8_t>* xt) {
  const int64_t superblocks = cols / quant::kQK_K;
  xt->resize(static_cast<size_t>(superblocks * quant::kQK_K));
  for (int64_t g = 0; g < superblocks; ++g) {
    const int8_t* src = x.q8.data() + g * quant::kQK_K;
    int8_t* dst = xt->data() + g * quant::kQK_K;
    for (int high = 0; high < 2; ++high) {
      for (int t = 0; t < 4; ++t) {
        for (int lane = 0; lane < 8; ++lane) {
          std::memcpy(dst + 128 * high + 32 * t + 4 * lane,
                      src + quant::Q4KGroupedElement(t, lane, 0, high != 0), 4);
        }
      }
    }
  }
}

// Dot vectors of one kGroups8 Q4_K / Q5_K row with activation rows x[a], a < A (xt[a] =
// TransposeActsQ4K(*x[a])), each superblock unpacked once: the decode kernel (A = 1) and the
// multi-row kernels. Decode runs one row at a time, so each thread reads one sequential stream
// (two rows interleaved, as the stored-layout kernel runs them, measured the same in cache and up
// to 20 % slower in 2-thread decode).
template <bool kQ5, int A>
HWY_INLINE void DotQ4KGroupedRow(const uint8_t* HWY_RESTRICT row, const QuantActs* const* x,
                                 const int8_t* const* xt, int64_t cols, __m256* out) {
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
    Q4KGrouped u;
    UnpackQ4KGrouped<kQ5>(blk, &u);
    for (int a = 0; a < A; ++a) {
      AccumulateQ4KGrouped<kQ5>(u, *x[a], xt[a] + b * quant::kQK_K, b, &acc[a], &macc[a]);
    }
  }
  for (int a = 0; a < A; ++a) out[a] = FinishQ4K5K(acc[a], macc[a]);
}

// One Q6_K superblock unpacked in registers: the unsigned 6-bit codes of its 256 elements (32 per
// vector, in activation order), its 16 int8 scales (sc8) and d.
struct Q6KUnpacked {
  __m256i codes[8];
  __m128i sc8;
  float d;
};

HWY_INLINE void UnpackQ6K(const uint8_t* HWY_RESTRICT blk, Q6KUnpacked* u) {
  const __m256i m4 = _mm256_set1_epi8(0x0F), m2 = _mm256_set1_epi8(0x30);
  for (int h = 0; h < 2; ++h) {
    const __m256i l0 = LoadI(blk + 64 * h), l1 = LoadI(blk + 64 * h + 32);
    const __m256i qh = LoadI(blk + 128 + 32 * h);
    u->codes[4 * h + 0] =
        _mm256_or_si256(_mm256_and_si256(l0, m4), _mm256_and_si256(_mm256_slli_epi16(qh, 4), m2));
    u->codes[4 * h + 1] =
        _mm256_or_si256(_mm256_and_si256(l1, m4), _mm256_and_si256(_mm256_slli_epi16(qh, 2), m2));
    u->codes[4 * h + 2] =
        _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4), _mm256_and_si256(qh, m2));
    u->codes[4 * h + 3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4),
                                          _mm256_and_si256(_mm256_srli_epi16(qh, 2), m2));
  }
  u->sc8 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + 192));
  uint16_t dbits;
  std::memcpy(&dbits, blk + 208, 2);
  u->d = HalfToF32(dbits);
}

// The rest of superblock b: isum (8 lanes, sum_j sc_j times the dot of sub-block j's unsigned
// codes) less 32 sum_j sc_j bsum_j (the codes' offset), times d dx, into acc.
HWY_INLINE void AccumulateQ6KSums(__m256i isum, const Q6KUnpacked& u, const QuantActs& x, int64_t b,
                                  __m256* acc) {
  // sum_j sc_j bsum_j: packs orders the 16 sums [0-3, 8-11 | 4-7, 12-15]; the scales likewise.
  const int32_t* bs = x.bsum.data() + b * 16;
  const __m256i bs16 = _mm256_packs_epi32(LoadI(bs), LoadI(bs + 8));
  const __m256i scw = _mm256_permute4x64_epi64(_mm256_cvtepi8_epi16(u.sc8), 0xD8);
  const __m256i off = _mm256_madd_epi16(scw, bs16);
  isum = _mm256_sub_epi32(isum, _mm256_slli_epi32(off, 5));
  *acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), _mm256_set1_ps(u.d * x.d[b]), *acc);
}

// Superblock b of an unpacked Q6_K row times activation row 0 of x, into acc.
HWY_INLINE void AccumulateQ6K(const Q6KUnpacked& u, const QuantActs& x, int64_t b, __m256* acc) {
  const int8_t* HWY_RESTRICT xb = x.q8.data() + b * quant::kQK_K;
  __m256i v[8];
  for (int t = 0; t < 8; ++t) v[t] = DotU8S8(u.codes[t], LoadI(xb + 32 * t));
  // v[t]'s low half belongs to sub-block 2t, its high half to 2t + 1; lanes are at most
  // 4 * 63 * 127 (fit int16). packs(v[2u], v[2u + 1]) holds sub-blocks [4u, 4u + 2 | 4u + 1,
  // 4u + 3] (4 words each): pmaddwd with those scales (int8 placed in the high byte of a word,
  // then shifted down with sign) sums pairs of weighted sub-block lanes.
  const __m256i scb = _mm256_broadcastsi128_si256(u.sc8);
  __m256i isum = _mm256_setzero_si256();
  for (int k = 0; k < 4; ++k) {
    const char a = static_cast<char>(4 * k), c = static_cast<char>(4 * k + 2);
    const char a1 = static_cast<char>(4 * k + 1), c1 = static_cast<char>(4 * k + 3);
    const __m256i ctl =
        _mm256_setr_epi8(-1, a, -1, a, -1, a, -1, a, -1, c, -1, c, -1, c, -1, c, -1, a1, -1, a1, -1,
                         a1, -1, a1, -1, c1, -1, c1, -1, c1, -1, c1);
    const __m256i sc16 = _mm256_srai_epi16(_mm256_shuffle_epi8(scb, ctl), 8);
    isum =
        _mm256_add_epi32(isum, _mm256_madd_epi16(_mm256_packs_epi32(v[2 * k], v[2 * k + 1]), sc16));
  }
  AccumulateQ6KSums(isum, u, x, b, acc);
}

// n == 1 dot of one Q6_K row with activation row 0.
// NR consecutive rows at once (as DotQ4K5K; measured no faster for Q6_K, which runs NR = 1).
template <int NR>
HWY_INLINE void DotQ6KX86(const uint8_t* HWY_RESTRICT row0, size_t row_bytes, const QuantActs& x,
                          int64_t cols, __m256* out) {
  const int64_t groups = cols / quant::kQK_K;
  __m256 accs[NR];
  for (int r = 0; r < NR; ++r) accs[r] = _mm256_setzero_ps();
  for (int64_t b = 0; b < groups; ++b) {
    for (int r = 0; r < NR; ++r) {
      const uint8_t* blk = row0 + r * row_bytes + b * sizeof(quant::BlockQ6_K);
      PrefetchAhead<sizeof(quant::BlockQ6_K)>(blk);
      Q6KUnpacked u;
      UnpackQ6K(blk, &u);
      AccumulateQ6K(u, x, b, &accs[r]);
    }
  }
  for (int r = 0; r < NR; ++r) out[r] = accs[r];
}

// Q6_K in the kGroups8 layout (kernels/quant_repack.h): UnpackQ6K of a regrouped superblock gives
// code vectors C_n (n = 2k + t) whose lane L holds elements 64k + base(L) + 4t .. + 3, base =
// [0, 8, 32, 40, 16, 24, 48, 56] (quant::Q6KGroupedElement), against activations transposed
// alike (TransposeActsQ6K). Two chained int8 dot products give D_k, whose lane L sums the 8
// elements that the stored-layout kernel's lane L sums under the scale s_{4k + sigma(L)},
// sigma = [0, 0, 2, 2, 1, 1, 3, 3]; isum = sum_k s D_k is then its exact integers, and the rest
// is shared (AccumulateQ6KSums), so both layouts give the same bits.
HWY_INLINE void AccumulateQ6KGrouped(const Q6KUnpacked& u, const QuantActs& x,
                                     const int8_t* HWY_RESTRICT xt, int64_t b, __m256* acc) {
  const __m256i sc2 = _mm256_broadcastsi128_si256(u.sc8);
  __m256i isum = _mm256_setzero_si256();
  for (int k = 0; k < 4; ++k) {
    const char a = static_cast<char>(4 * k), c = static_cast<char>(4 * k + 2);
    const char a1 = static_cast<char>(4 * k + 1), c1 = static_cast<char>(4 * k + 3);
#if HWY_TARGET == HWY_AVX3_DL
    __m256i d = _mm256_setzero_si256();
    asm("%{evex%} vpdpbusd %2, %1, %0" : "+v"(d) : "v"(u.codes[2 * k]), "vm"(LoadI(xt + 64 * k)));
    asm("%{evex%} vpdpbusd %2, %1, %0"
        : "+v"(d)
        : "v"(u.codes[2 * k + 1]), "vm"(LoadI(xt + 64 * k + 32)));
    // Lane L: the scale, sign-extended from the top byte.
    const __m256i s = _mm256_srai_epi32(
        _mm256_shuffle_epi8(
            sc2, _mm256_setr_epi8(-1, -1, -1, a, -1, -1, -1, a, -1, -1, -1, c, -1, -1, -1, c, -1,
                                  -1, -1, a1, -1, -1, -1, a1, -1, -1, -1, c1, -1, -1, -1, c1)),
        24);
    // |D| <= 8 * 63 * 127: int32 products.
    isum = _mm256_add_epi32(isum, _mm256_mullo_epi32(d, s));
#else
    // int16 pair sums: 2 of at most 2 * 63 * 127.
    const __m256i p =
        _mm256_add_epi16(_mm256_maddubs_epi16(u.codes[2 * k], LoadI(xt + 64 * k)),
                         _mm256_maddubs_epi16(u.codes[2 * k + 1], LoadI(xt + 64 * k + 32)));
    const __m256i s = _mm256_srai_epi16(
        _mm256_shuffle_epi8(
            sc2, _mm256_setr_epi8(-1, a, -1, a, -1, a, -1, a, -1, c, -1, c, -1, c, -1, c, -1, a1,
                                  -1, a1, -1, a1, -1, a1, -1, c1, -1, c1, -1, c1, -1, c1)),
        8);
    isum = _mm256_add_epi32(isum, _mm256_madd_epi16(p, s));
#endif
  }
  AccumulateQ6KSums(isum, u, x, b, acc);
}

// x's activation codes transposed for kGroups8 Q6_K rows: per superblock, vector n = 2k + t
// whose lane L holds elements 64k + base(L) + 4t .. + 3.
inline void TransposeActsQ6K(const QuantActs& x, int64_t cols, std::vector<int8_t>* xt) {
  const int64_t superblocks = cols / quant::kQK_K;
  xt->resize(static_cast<size_t>(superblocks * quant::kQK_K));
  for (int64_t g = 0; g < superblocks; ++g) {
    const int8_t* src = x.q8.data() + g * quant::kQK_K;
    int8_t* dst = xt->data() + g * quant::kQK_K;
    for (int n = 0; n < 8; ++n) {
      for (int lane = 0; lane < 8; ++lane) {
        std::memcpy(dst + 32 * n + 4 * lane, src + quant::Q6KGroupedElement(n, lane, 0), 4);
      }
    }
  }
}

// Dot vectors of one kGroups8 Q6_K row with activation rows x[a], a < A (xt[a] =
// TransposeActsQ6K(*x[a])), each superblock unpacked once: decode (A = 1) and multi-row.
template <int A>
HWY_INLINE void DotQ6KGroupedRow(const uint8_t* HWY_RESTRICT row, const QuantActs* const* x,
                                 const int8_t* const* xt, int64_t cols, __m256* out) {
  const int64_t groups = cols / quant::kQK_K;
  for (int a = 0; a < A; ++a) out[a] = _mm256_setzero_ps();
  for (int64_t b = 0; b < groups; ++b) {
    const uint8_t* blk = row + b * sizeof(quant::BlockQ6_K);
    PrefetchAhead<sizeof(quant::BlockQ6_K)>(blk);
    Q6KUnpacked u;
    UnpackQ6K(blk, &u);
    for (int a = 0; a < A; ++a) {
      AccumulateQ6KGrouped(u, *x[a], xt[a] + b * quant::kQK_K, b, &out[a]);
    }
  }
}

}  // namespace x86
#endif  // MAMBA_QUANT_X86

}  // namespace HWY_NAMESPACE
}  // namespace kernels_internal
}  // namespace mamba
HWY_AFTER_NAMESPACE();

#endif  // per-target include guard
