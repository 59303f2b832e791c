// SPDX-License-Identifier: MIT
// The x86 (AVX2 / AVX3 / AVX3_DL) quantized decode kernels of the 32-element block types (Q8_0,
// Q4_0, Q4_1, Q5_0, Q5_1), their shared helpers (int8 dot products, block-sum reductions, F16
// scale loads, prefetch) and the activation quantizer, used by quant_matmul.cc: int8 activations
// times weight blocks unpacked in registers. Defines MAMBA_QUANT_X86 on those targets (nothing
// elsewhere). The K-quant kernels are in quant_x86_kquants-inl.h, the multi-row (prefill) kernels
// in quant_x86_multi-inl.h. Highway per-target header: included from quant_matmul.cc after
// foreach_target.h, compiled once per target.

// Per-target include guard (the Highway toggle idiom).
#if defined(MAMBA_KERNELS_QUANT_X86_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef MAMBA_KERNELS_QUANT_X86_INL_H_
#undef MAMBA_KERNELS_QUANT_X86_INL_H_
#else
#define MAMBA_KERNELS_QUANT_X86_INL_H_
#endif

#include <cstdint>
#include <cstring>
#include <vector>

#include "base/dtype.h"
#include "hwy/highway.h"
#include "kernels/quant_blocks.h"
#include "kernels/quant_internal.h"

HWY_BEFORE_NAMESPACE();
namespace mamba {
namespace kernels_internal {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// ---- x86 (AVX2 / AVX3 / AVX3_DL) decode kernels: int8 activations, u8 x s8 dot products ----
// As ggml-cpu: each weight block is unpacked in registers to unsigned bytes (the stored code,
// before its offset) and multiplied into the int8 activations (pmaddubsw + pmaddwd, or
// vpdpbusd with AVX512-VNNI); the offset is removed exactly in integers with the activation
// block sums (qsum / bsum); 8 blocks' int32 lanes are reduced to one vector of 8 block sums,
// which is converted and scaled once (F32 lanes). Same integers as DecodeRow + DotQuantRef; only
// the F32 summation order differs.
#undef MAMBA_QUANT_X86
#if HWY_ARCH_X86 && (HWY_TARGET == HWY_AVX2 || HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL)
#define MAMBA_QUANT_X86 1

namespace x86 {

// int32 lane k = sum over bytes 4k .. 4k + 3 of u (unsigned) * s (signed). Without VNNI
// pmaddubsw saturates its int16 pair sums: callers keep u <= 128 (|s| <= 127).
// (vpdpbusd as inline asm: Highway 1.0.3's AVX3_DL target enables "avxvnni", the VEX form
// that Zen 4 lacks, instead of "avx512vnni", so the EVEX intrinsic does not compile there; the
// runtime check of AVX3_DL does test AVX512-VNNI.)
HWY_INLINE __m256i DotU8S8(__m256i u, __m256i s) {
#if HWY_TARGET == HWY_AVX3_DL
  __m256i acc = _mm256_setzero_si256();
  asm("%{evex%} vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(u), "v"(s));
  return acc;
#else
  return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
#endif
}

// Lane i of the result: v[i0]'s low 128-bit half sum for i < 4 (v[i0 + i]), high half for i >= 4
// (v[i0 + i - 4]); i.e. [lo0 lo1 lo2 lo3 hi0 hi1 hi2 hi3] of v[i0 .. i0 + 3].
HWY_INLINE __m256i HalfSums4(const __m256i* v) {
  return _mm256_hadd_epi32(_mm256_hadd_epi32(v[0], v[1]), _mm256_hadd_epi32(v[2], v[3]));
}

// Lane i: sum of the 8 lanes of v[i].
HWY_INLINE __m256i Reduce8(const __m256i* v) {
  const __m256i a = HalfSums4(v), b = HalfSums4(v + 4);
  return _mm256_add_epi32(_mm256_permute2x128_si256(a, b, 0x20),
                          _mm256_permute2x128_si256(a, b, 0x31));
}

// Reduce8 for lane values of at most 2^14 - 1 in magnitude (pair sums fit int16): pack to int16
// and pair-add with pmaddwd, the same sums as the hadd tree in cheaper instructions (vphaddd is
// several uops on Zen 4).
HWY_INLINE __m256i HalfSums4Small(const __m256i* v) {
  const __m256i one = _mm256_set1_epi16(1);
  const __m256i a = _mm256_madd_epi16(_mm256_packs_epi32(v[0], v[1]), one);
  const __m256i b = _mm256_madd_epi16(_mm256_packs_epi32(v[2], v[3]), one);
  return _mm256_madd_epi16(_mm256_packs_epi32(a, b), one);
}
// As HalfSums4Small with the last pair-add weighted by the int16 words of sc (instead of 1).
HWY_INLINE __m256i HalfSums4Scaled(const __m256i* v, __m256i sc) {
  const __m256i one = _mm256_set1_epi16(1);
  const __m256i a = _mm256_madd_epi16(_mm256_packs_epi32(v[0], v[1]), one);
  const __m256i b = _mm256_madd_epi16(_mm256_packs_epi32(v[2], v[3]), one);
  return _mm256_madd_epi16(_mm256_packs_epi32(a, b), sc);
}
HWY_INLINE __m256i Reduce8Small(const __m256i* v) {
  const __m256i a = HalfSums4Small(v), b = HalfSums4Small(v + 4);
  return _mm256_add_epi32(_mm256_permute2x128_si256(a, b, 0x20),
                          _mm256_permute2x128_si256(a, b, 0x31));
}

HWY_INLINE int32_t HSumI32(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_unpackhi_epi64(s, s));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 1));
  return _mm_cvtsi128_si32(s);
}

HWY_INLINE float HSumF32(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// 8 F16 values at blk + kOff + i * kStride (i < 8) as F32 lanes; reads nothing past the 8 blocks
// (blk + 8 * kStride). AVX-512: two-table word permutes of the blocks' bytes (every F16 field
// here is at an even offset); AVX2: scalar loads.
template <size_t kStride, size_t kOff>
HWY_INLINE __m256 LoadHalves8(const uint8_t* blk) {
#if HWY_TARGET <= HWY_AVX3
  static_assert(kStride % 2 == 0 && kOff % 2 == 0);
  constexpr size_t kEnd = 8 * kStride;
  auto load = [&](size_t off) {
    if (off + 64 <= kEnd) return _mm512_loadu_si512(blk + off);
    const size_t n = off >= kEnd ? 0 : kEnd - off;
    return _mm512_maskz_loadu_epi8((__mmask64{1} << n) - 1, blk + off);
  };
  // Words of the first 128 bytes for i < 4 (and all 8 when they fit).
  constexpr bool kOneTable = 7 * kStride + kOff + 1 < 128;
  constexpr size_t kBase = kOneTable ? 0 : (4 * kStride + kOff) / 64 * 64;
  static_assert(3 * kStride + kOff + 1 < 128 && 7 * kStride + kOff + 1 - kBase < 128);
  alignas(64) static constexpr auto kIdx = [] {
    struct {
      uint16_t a[32], b[32];
    } t{};
    for (size_t i = 0; i < 8; ++i) {
      t.a[i] = static_cast<uint16_t>((kStride * i + kOff) / 2);
      if (i >= 4) t.b[i] = static_cast<uint16_t>((kStride * i + kOff - kBase) / 2);
    }
    return t;
  }();
  const __m512i a0 = load(0), a1 = load(64);
  __m128i h = _mm512_castsi512_si128(_mm512_permutex2var_epi16(a0, _mm512_load_si512(kIdx.a), a1));
  if constexpr (!kOneTable) {
    const __m512i b0 = load(kBase), b1 = load(kBase + 64);
    const __m128i hb =
        _mm512_castsi512_si128(_mm512_permutex2var_epi16(b0, _mm512_load_si512(kIdx.b), b1));
    h = _mm_blend_epi32(h, hb, 0xC);
  }
  return _mm256_cvtph_ps(h);
#else
  const uint8_t* p = blk + kOff;
  uint64_t lo = 0, hi = 0;
  for (int i = 0; i < 4; ++i) {
    uint16_t a, b;
    std::memcpy(&a, p + i * kStride, 2);
    std::memcpy(&b, p + (i + 4) * kStride, 2);
    lo |= uint64_t{a} << (16 * i);
    hi |= uint64_t{b} << (16 * i);
  }
  return _mm256_cvtph_ps(_mm_set_epi64x(static_cast<int64_t>(hi), static_cast<int64_t>(lo)));
#endif
}

// Software prefetch of the weight bytes kPrefetchBytes ahead of [p, p + kBytes): weight mappings
// may be 4 KiB pages, where the hardware prefetchers stop at every page boundary, and rows are
// short (one stream over the whole matrix, so running past a row or the matrix is harmless).
constexpr size_t kPrefetchBytes = 16384;
template <size_t kBytes>
HWY_INLINE void PrefetchAhead(const uint8_t* p) {
  for (size_t i = 0; i < (kBytes + 63) / 64; ++i) {
    __builtin_prefetch(p + kPrefetchBytes + 64 * i, 0, 2);
  }
}

HWY_INLINE __m256i LoadI(const void* p) {
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
}

// The 16 bytes at qs as 32 nibbles: low nibbles in bytes 0..15, high nibbles in 16..31.
HWY_INLINE __m256i Nibbles32(const uint8_t* qs) {
  const __m256i v =
      _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(qs)));
  return _mm256_and_si256(_mm256_srlv_epi32(v, _mm256_setr_epi32(0, 0, 0, 0, 4, 4, 4, 4)),
                          _mm256_set1_epi8(0x0F));
}

// Q5_0 / Q5_1: nibbles plus bit j of qh (u32 LE) as 16 in byte j.
HWY_INLINE __m256i Add5thBits(__m256i nib, const uint8_t* qh) {
  uint32_t bits;
  std::memcpy(&bits, qh, 4);
#if HWY_TARGET <= HWY_AVX3
  return _mm256_mask_add_epi8(nib, static_cast<__mmask32>(bits), nib, _mm256_set1_epi8(16));
#else
  const __m256i shuf =
      _mm256_setr_epi64x(0, 0x0101010101010101LL, 0x0202020202020202LL, 0x0303030303030303LL);
  const __m256i sel = _mm256_set1_epi64x(static_cast<int64_t>(0x8040201008040201ULL));
  const __m256i bytes = _mm256_shuffle_epi8(_mm256_set1_epi32(static_cast<int32_t>(bits)), shuf);
  const __m256i set = _mm256_cmpeq_epi8(_mm256_and_si256(bytes, sel), sel);
  return _mm256_or_si256(nib, _mm256_and_si256(set, _mm256_set1_epi8(16)));
#endif
}

template <DType kT>
struct Sym32Traits;
template <>
struct Sym32Traits<DType::kQ8_0> {
  static constexpr size_t kBytes = sizeof(quant::BlockQ8_0), kQs = 2;
  static constexpr bool kMin = false;
#if HWY_TARGET == HWY_AVX3_DL
  static constexpr int kOffShift = 7;  // stored + 128 as u8
#else
  static constexpr int kOffShift = -1;  // sign trick, no offset
#endif
};
template <>
struct Sym32Traits<DType::kQ4_0> {
  static constexpr size_t kBytes = sizeof(quant::BlockQ4_0), kQs = 2;
  static constexpr bool kMin = false;
  static constexpr int kOffShift = 3;
};
template <>
struct Sym32Traits<DType::kQ5_0> {
  static constexpr size_t kBytes = sizeof(quant::BlockQ5_0), kQs = 6;
  static constexpr bool kMin = false;
  static constexpr int kOffShift = 4;
};
template <>
struct Sym32Traits<DType::kQ4_1> {
  static constexpr size_t kBytes = sizeof(quant::BlockQ4_1), kQs = 4;
  static constexpr bool kMin = true;
  static constexpr int kOffShift = -1;
};
template <>
struct Sym32Traits<DType::kQ5_1> {
  static constexpr size_t kBytes = sizeof(quant::BlockQ5_1), kQs = 8;
  static constexpr bool kMin = true;
  static constexpr int kOffShift = -1;
};

// int32 lanes whose sum is sum_j code_j * x_j for one 32-element block (code: the unsigned stored
// value, or for Q8_0 without VNNI the signed value itself).
template <DType kT>
HWY_INLINE __m256i BlockDot(const uint8_t* blk, const int8_t* xb) {
  using T = Sym32Traits<kT>;
  const __m256i x = LoadI(xb);
  if constexpr (kT == DType::kQ8_0) {
    const __m256i w = LoadI(blk + T::kQs);
#if HWY_TARGET == HWY_AVX3_DL
    return DotU8S8(_mm256_xor_si256(w, _mm256_set1_epi8(static_cast<char>(0x80))), x);
#else
    return DotU8S8(_mm256_sign_epi8(w, w), _mm256_sign_epi8(x, w));
#endif
  } else if constexpr (kT == DType::kQ5_0 || kT == DType::kQ5_1) {
    return DotU8S8(Add5thBits(Nibbles32(blk + T::kQs), blk + T::kQs - 4), x);
  } else {
    return DotU8S8(Nibbles32(blk + T::kQs), x);
  }
}

// Q4_0 / Q4_1, 8 blocks at once without a reduction: the blocks' 16 code bytes are transposed
// so that int32 lane k of every product vector belongs to block k, and the activations come in
// the matching order (`xt`: for t < 8, 32 bytes whose dword k is elements 4t .. 4t + 3 of block
// k). Returns acc + (lane k: sum_j code_j x_j over block k).
template <size_t kBytes, size_t kQs>
HWY_INLINE __m256i Nibbles8BlocksT(const uint8_t* blk, const int8_t* xt, __m256i acc) {
  auto ld2 = [&](int k) {
    return _mm256_inserti128_si256(
        _mm256_castsi128_si256(
            _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + k * kBytes + kQs))),
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + (k + 4) * kBytes + kQs)), 1);
  };
  const __m256i y0 = ld2(0), y1 = ld2(1), y2 = ld2(2), y3 = ld2(3);
  const __m256i t0 = _mm256_unpacklo_epi32(y0, y1), t1 = _mm256_unpackhi_epi32(y0, y1);
  const __m256i t2 = _mm256_unpacklo_epi32(y2, y3), t3 = _mm256_unpackhi_epi32(y2, y3);
  const __m256i r[4] = {_mm256_unpacklo_epi64(t0, t2), _mm256_unpackhi_epi64(t0, t2),
                        _mm256_unpacklo_epi64(t1, t3), _mm256_unpackhi_epi64(t1, t3)};
  const __m256i m = _mm256_set1_epi8(0x0F);
  // Two accumulation chains (low and high nibbles), so the dependent multiply-adds of one group
  // do not serialize.
#if HWY_TARGET == HWY_AVX3_DL
  __m256i acc2 = _mm256_setzero_si256();
  for (int j = 0; j < 4; ++j) {
    const __m256i lo = _mm256_and_si256(r[j], m);
    const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(r[j], 4), m);
    asm("%{evex%} vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(lo), "vm"(LoadI(xt + 32 * j)));
    asm("%{evex%} vpdpbusd %2, %1, %0" : "+v"(acc2) : "v"(hi), "vm"(LoadI(xt + 32 * (4 + j))));
  }
  return _mm256_add_epi32(acc, acc2);
#else
  // int16 lanes: 4 pair sums of at most 2 * 15 * 127 each per chain, no saturation.
  __m256i s0 = _mm256_setzero_si256(), s1 = _mm256_setzero_si256();
  for (int j = 0; j < 4; ++j) {
    const __m256i lo = _mm256_and_si256(r[j], m);
    const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(r[j], 4), m);
    s0 = _mm256_add_epi16(s0, _mm256_maddubs_epi16(lo, LoadI(xt + 32 * j)));
    s1 = _mm256_add_epi16(s1, _mm256_maddubs_epi16(hi, LoadI(xt + 32 * (4 + j))));
  }
  return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_add_epi16(s0, s1), _mm256_set1_epi16(1)));
#endif
}

// The activation order Nibbles8BlocksT expects, for the whole 8-block groups of row 0.
inline void TransposeActs8(const QuantActs& x, int64_t cols, std::vector<int8_t>* xt) {
  const int64_t groups8 = cols / 256;
  xt->resize(static_cast<size_t>(groups8 * 256));
  for (int64_t g = 0; g < groups8; ++g) {
    for (int t = 0; t < 8; ++t) {
      for (int k = 0; k < 8; ++k) {
        std::memcpy(xt->data() + g * 256 + t * 32 + k * 4, x.q8.data() + (8 * g + k) * 32 + 4 * t,
                    4);
      }
    }
  }
}

// The end of a 32-element block row's dot: blocks [b, groups) that do not fill a group of 8,
// one at a time in scalar F32, added to lane 0 of acc + macc (the 8-block groups' F32 lanes).
// Shared by DotSym32 and the multi-row kernels (quant_x86_multi-inl.h), so both give the same bits.
template <DType kT>
HWY_INLINE __m256 Sym32Finish(const uint8_t* HWY_RESTRICT row, const QuantActs& x, int64_t b,
                              int64_t groups, __m256 acc, __m256 macc) {
  using T = Sym32Traits<kT>;
  float tail = 0.0f;
  for (; b < groups; ++b) {
    const uint8_t* blk = row + b * T::kBytes;
    PrefetchAhead<T::kBytes>(blk);
    int32_t isum = HSumI32(BlockDot<kT>(blk, x.q8.data() + b * 32));
    if constexpr (T::kOffShift >= 0) isum -= x.qsum[b] * (1 << T::kOffShift);
    uint16_t dbits;
    std::memcpy(&dbits, blk, 2);
    tail += HalfToF32(dbits) * x.d[b] * static_cast<float>(isum);
    if constexpr (T::kMin) {
      uint16_t mbits;
      std::memcpy(&mbits, blk + 2, 2);
      tail += HalfToF32(mbits) * x.s[b];
    }
  }
  return _mm256_add_ps(_mm256_add_ps(acc, macc), _mm256_setr_ps(tail, 0, 0, 0, 0, 0, 0, 0));
}

// n == 1 dot of one Q8_0 / Q4_0 / Q5_0 / Q4_1 / Q5_1 row with activation row 0.
template <DType kT>
HWY_INLINE __m256 DotSym32(const uint8_t* HWY_RESTRICT row, const QuantActs& x, int64_t cols,
                           const int8_t* HWY_RESTRICT xt = nullptr) {
  using T = Sym32Traits<kT>;
  const int64_t groups = cols / 32;
  const int8_t* HWY_RESTRICT xq = x.q8.data();
  const float* HWY_RESTRICT xd = x.d.data();
  const int32_t* HWY_RESTRICT xs = x.qsum.data();
  __m256 acc = _mm256_setzero_ps(), macc = _mm256_setzero_ps();
  int64_t b = 0;
  for (; b + 8 <= groups; b += 8) {
    const uint8_t* blk = row + b * T::kBytes;
    PrefetchAhead<8 * T::kBytes>(blk);
    __m256i isum;
    if constexpr (kT == DType::kQ4_0 || kT == DType::kQ4_1) {
      __m256i init = _mm256_setzero_si256();
      if constexpr (T::kOffShift >= 0) {
        init = _mm256_sub_epi32(init, _mm256_slli_epi32(LoadI(xs + b), T::kOffShift));
      }
      isum = Nibbles8BlocksT<T::kBytes, T::kQs>(blk, xt + b * 32, init);
    } else {
      __m256i v[8];
      for (int i = 0; i < 8; ++i) v[i] = BlockDot<kT>(blk + i * T::kBytes, xq + (b + i) * 32);
      // Lanes: 4 products of at most 31 * 127 (< 2^14) except for Q8_0.
      isum = kT == DType::kQ8_0 ? Reduce8(v) : Reduce8Small(v);
      if constexpr (T::kOffShift >= 0) {
        isum = _mm256_sub_epi32(isum, _mm256_slli_epi32(LoadI(xs + b), T::kOffShift));
      }
    }
    const __m256 scale = _mm256_mul_ps(LoadHalves8<T::kBytes, 0>(blk), _mm256_loadu_ps(xd + b));
    acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), scale, acc);
    if constexpr (T::kMin) {
      macc = _mm256_fmadd_ps(LoadHalves8<T::kBytes, 2>(blk), _mm256_loadu_ps(x.s.data() + b), macc);
    }
  }
  return Sym32Finish<kT>(row, x, b, groups, acc, macc);
}

// Lane i: sum of the 8 lanes of v[i].
HWY_INLINE __m256 Reduce8F(const __m256* v) {
  const __m256 a = _mm256_hadd_ps(_mm256_hadd_ps(v[0], v[1]), _mm256_hadd_ps(v[2], v[3]));
  const __m256 b = _mm256_hadd_ps(_mm256_hadd_ps(v[4], v[5]), _mm256_hadd_ps(v[6], v[7]));
  return _mm256_add_ps(_mm256_permute2f128_ps(a, b, 0x20), _mm256_permute2f128_ps(a, b, 0x31));
}

// y[r] = lane sum of row r's dot vector, r0 <= r < r1, rows read in order (one sequential
// stream); 8 rows' lane sums are reduced together. dot(p, std::integral_constant<int, NR>, out)
// computes NR (1 or 2) consecutive rows starting at p into out[0 .. NR).
template <class Dot>
HWY_INLINE void DotRowsX86(const Dot& dot, const uint8_t* w, size_t row_bytes, int64_t r0,
                           int64_t r1, float* y) {
  int64_t r = r0;
  for (; r + 8 <= r1; r += 8) {
    __m256 a[8];
    for (int i = 0; i < 8; i += 2) {
      dot(w + static_cast<size_t>(r + i) * row_bytes, std::integral_constant<int, 2>(), a + i);
    }
    _mm256_storeu_ps(y + r, Reduce8F(a));
  }
  for (; r < r1; ++r) {
    __m256 a;
    dot(w + static_cast<size_t>(r) * row_bytes, std::integral_constant<int, 1>(), &a);
    y[r] = HSumF32(a);
  }
}

// ---- activation quantization (QuantizeActs with AVX2; identical values) ----
HWY_INLINE float HMaxF32(__m256 v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_movehdup_ps(m));
  return _mm_cvtss_f32(m);
}

// 32 int32 lanes (4 vectors) -> int8 and int16 stores, in element order.
HWY_INLINE void StoreQ32(const __m256i* i32, int8_t* q8, int16_t* q16) {
  // packs work per 128-bit lane: fix the order with a qword permute.
  const __m256i w01 = _mm256_permute4x64_epi64(_mm256_packs_epi32(i32[0], i32[1]), 0xD8);
  const __m256i w23 = _mm256_permute4x64_epi64(_mm256_packs_epi32(i32[2], i32[3]), 0xD8);
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(q16), w01);
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(q16 + 16), w23);
  const __m256i b = _mm256_permute4x64_epi64(_mm256_packs_epi16(w01, w23), 0xD8);
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(q8), b);
}

HWY_INLINE int32_t SumQ32(const __m256i* i32) {
  return HSumI32(
      _mm256_add_epi32(_mm256_add_epi32(i32[0], i32[1]), _mm256_add_epi32(i32[2], i32[3])));
}

void QuantizeActsX86(QuantKind kind, const float* x, int64_t x_stride, int64_t n, int64_t cols,
                     QuantActs* out) {
  const int64_t g = QuantGroup(kind);
  const int64_t groups = cols / g;
  const bool k_kind = kind == QuantKind::kKMin || kind == QuantKind::kKSym;
  out->q.resize(static_cast<size_t>(n * cols));
  out->q8.resize(static_cast<size_t>(n * cols));
  out->d.resize(static_cast<size_t>(n * groups));
  out->s.resize(kind == QuantKind::kMin32 ? static_cast<size_t>(n * groups) : 0);
  out->qsum.resize(static_cast<size_t>(n * cols / 32));
  out->bsum.resize(k_kind ? static_cast<size_t>(n * cols / 16) : 0);
  const __m256 sign = _mm256_set1_ps(-0.0f);
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t b = 0; b < groups; ++b) {
      const float* xb = x + i * x_stride + b * g;
      int16_t* q = out->q.data() + i * cols + b * g;
      int8_t* q8 = out->q8.data() + i * cols + b * g;
      int32_t* qsum = out->qsum.data() + (i * cols + b * g) / 32;
      const int64_t gi = i * groups + b;
      if (!k_kind) {
        __m256 v[4];
        __m256 amax = _mm256_setzero_ps();
        for (int k = 0; k < 4; ++k) {
          v[k] = _mm256_loadu_ps(xb + 8 * k);
          amax = _mm256_max_ps(amax, _mm256_andnot_ps(sign, v[k]));
        }
        const float am = HMaxF32(amax);
        const float d = am / 127.0f;
        const float id = am != 0.0f ? 127.0f / am : 0.0f;
        __m256i iv[4];
        for (int k = 0; k < 4; ++k)
          iv[k] = _mm256_cvtps_epi32(_mm256_mul_ps(v[k], _mm256_set1_ps(id)));
        StoreQ32(iv, q8, q);
        const int32_t sum = SumQ32(iv);
        qsum[0] = sum;
        out->d[gi] = F16ToF32(F32ToF16(d));
        if (kind == QuantKind::kMin32) out->s[gi] = F16ToF32(F32ToF16(d * static_cast<float>(sum)));
        continue;
      }
      // Q8_K: the signed value of the first element of largest magnitude.
      __m256 amax = _mm256_setzero_ps();
      for (int k = 0; k < 32; ++k)
        amax = _mm256_max_ps(amax, _mm256_andnot_ps(sign, _mm256_loadu_ps(xb + 8 * k)));
      const float am = HMaxF32(amax);
      int32_t* bsum = out->bsum.data() + (i * cols + b * g) / 16;
      if (am == 0.0f) {
        std::fill(q, q + g, int16_t{0});
        std::fill(q8, q8 + g, int8_t{0});
        std::fill(bsum, bsum + g / 16, 0);
        std::fill(qsum, qsum + g / 32, 0);
        out->d[gi] = 0.0f;
        continue;
      }
      float max = 0.0f;
      const __m256 amv = _mm256_set1_ps(am);
      for (int k = 0; k < 32; ++k) {
        const int m = _mm256_movemask_ps(
            _mm256_cmp_ps(_mm256_andnot_ps(sign, _mm256_loadu_ps(xb + 8 * k)), amv, _CMP_EQ_OQ));
        if (m != 0) {
          max = xb[8 * k + __builtin_ctz(static_cast<unsigned>(m))];
          break;
        }
      }
      const float iscale = -127.0f / max;
      const __m256 isv = _mm256_set1_ps(iscale);
      const __m256i top = _mm256_set1_epi32(127);
      for (int c = 0; c < 8; ++c) {
        __m256i iv[4];
        for (int k = 0; k < 4; ++k) {
          iv[k] = _mm256_min_epi32(
              top, _mm256_cvtps_epi32(_mm256_mul_ps(isv, _mm256_loadu_ps(xb + 32 * c + 8 * k))));
        }
        StoreQ32(iv, q8 + 32 * c, q + 32 * c);
        const int32_t s0 = HSumI32(_mm256_add_epi32(iv[0], iv[1]));
        const int32_t s1 = HSumI32(_mm256_add_epi32(iv[2], iv[3]));
        bsum[2 * c] = s0;
        bsum[2 * c + 1] = s1;
        qsum[c] = s0 + s1;
      }
      out->d[gi] = 1.0f / iscale;
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
