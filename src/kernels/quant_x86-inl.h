// SPDX-License-Identifier: MIT
// The x86 (AVX2 / AVX3 / AVX3_DL) quantized decode kernels of the 32-element block types (Q8_0,
// Q4_0, Q4_1, Q5_0, Q5_1) and their shared helpers (int8 dot products, block-sum reductions, the
// transposed 8-block codes, F16 scale loads, prefetch), used by quant_matmul.cc: int8
// activations times weight blocks unpacked in registers. Defines MAMBA_QUANT_X86 on those
// targets (nothing elsewhere). The activation quantizer is in quant_x86_acts-inl.h, the K-quant
// kernels in quant_x86_kquants-inl.h, the multi-row (prefill) kernels in quant_x86_multi-inl.h.
// Highway per-target header: included from quant_matmul.cc after foreach_target.h, compiled
// once per target.

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
#include "kernels/quant_repack.h"

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

// Lane i: sum of the 8 lanes of v[i]. An unpack tree (14 unpacks and permutes, 7 adds) instead of
// vphaddd, which issues at one per 2 cycles on Zen 4 (measured) and is 3 uops on Intel; the sums
// are exact integers, so the grouping does not change them.
HWY_INLINE __m256i Reduce8(const __m256i* v) {
  // Pairs (2k, 2k + 1): [v0 l0+l2, v1 l0+l2, v0 l1+l3, v1 l1+l3 | the same of lanes 4..7].
  __m256i t[4];
  for (int k = 0; k < 4; ++k) {
    t[k] = _mm256_add_epi32(_mm256_unpacklo_epi32(v[2 * k], v[2 * k + 1]),
                            _mm256_unpackhi_epi32(v[2 * k], v[2 * k + 1]));
  }
  // [v0 v1 v2 v3 sums of lanes 0..3 | of lanes 4..7], and the same for v4..v7.
  const __m256i a =
      _mm256_add_epi32(_mm256_unpacklo_epi64(t[0], t[1]), _mm256_unpackhi_epi64(t[0], t[1]));
  const __m256i b =
      _mm256_add_epi32(_mm256_unpacklo_epi64(t[2], t[3]), _mm256_unpackhi_epi64(t[2], t[3]));
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
// here is at an even offset); AVX2: 32-bit loads and unpacks.
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
  // 4-byte loads (the F16 field and what follows it inside the block), interleaved down to one
  // vector of 8 words.
  static_assert(kOff + 4 <= kStride);
  auto word = [&](int i) {
    uint32_t v;
    std::memcpy(&v, blk + kOff + i * kStride, 4);
    return _mm_cvtsi32_si128(static_cast<int32_t>(v));
  };
  const __m128i w01 = _mm_unpacklo_epi16(word(0), word(1));
  const __m128i w23 = _mm_unpacklo_epi16(word(2), word(3));
  const __m128i w45 = _mm_unpacklo_epi16(word(4), word(5));
  const __m128i w67 = _mm_unpacklo_epi16(word(6), word(7));
  return _mm256_cvtph_ps(
      _mm_unpacklo_epi64(_mm_unpacklo_epi32(w01, w23), _mm_unpacklo_epi32(w45, w67)));
#endif
}

// Software prefetch of the weight bytes `bytes_ahead` ahead of [p, p + bytes): rows are short,
// one stream over the whole matrix, so running past a row or the matrix is harmless.
HWY_INLINE void PrefetchAhead(const uint8_t* p, size_t bytes, size_t bytes_ahead) {
  const uint8_t* ahead = p + bytes_ahead;
  for (size_t i = 0; i < (bytes + 63) / 64; ++i) __builtin_prefetch(ahead + 64 * i, 0, 2);
}
template <size_t kBytes>
HWY_INLINE void PrefetchAhead(const uint8_t* p, size_t bytes_ahead = kQuantPrefetch.bytes_ahead) {
  PrefetchAhead(p, kBytes, bytes_ahead);
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

// Q4_0 / Q4_1 with VNNI: CodesFromWords leaves the high nibbles in place (c[4 + t] = 16 x the
// code, <= 240 as u8; vpdpbusd sums u8 x s8 products in int32 without pmaddubsw's saturation).
template <DType kT>
constexpr bool kHighNibbleInPlace = HWY_TARGET == HWY_AVX3_DL &&
                                    (kT == DType::kQ4_0 || kT == DType::kQ4_1);

// Code vectors per 8-block group: Q8_0 without VNNI keeps the signed codes and their magnitudes.
template <DType kT>
constexpr int kCodeVectors = (kT == DType::kQ8_0 && HWY_TARGET != HWY_AVX3_DL) ? 16 : 8;

// The codes of 8 consecutive blocks, transposed: c[t] dword k = codes of elements 4t .. 4t + 3
// of block k (the layout of TransposeActs8's activations); unsigned (Q8_0 with VNNI: stored +
// 128), except Q8_0 without VNNI: c[t] the signed codes, c[8 + t] their magnitudes (ggml's sign
// trick, |code| <= 128 as u8). From w[t] dword k = qs bytes 4t .. 4t + 3 of block k (t < 8 for
// Q8_0, else t < 4) and, for Q5_0 / Q5_1, qh lane k = block k's 5th-bit word.
template <DType kT>
HWY_INLINE void CodesFromWords(const __m256i* w, [[maybe_unused]] __m256i qh, __m256i* c) {
  if constexpr (kT == DType::kQ8_0) {
#if HWY_TARGET == HWY_AVX3_DL
    const __m256i bias = _mm256_set1_epi8(static_cast<char>(0x80));
    for (int t = 0; t < 8; ++t) c[t] = _mm256_xor_si256(w[t], bias);
#else
    for (int t = 0; t < 8; ++t) {
      c[t] = w[t];
      c[8 + t] = _mm256_sign_epi8(w[t], w[t]);
    }
#endif
  } else {
    // qs byte i holds element i (low nibble) and element i + 16 (high nibble), so byte b of c[t]
    // is element 4t + b for every t. kHighNibbleInPlace: c[4 + j] keeps the high nibbles in
    // place (16 x the code), one AND instead of a shift and an AND; DotCodes8T divides the
    // factor 16 out of those sums exactly.
    const __m256i m = _mm256_set1_epi8(0x0F);
    for (int j = 0; j < 4; ++j) {
      c[j] = _mm256_and_si256(w[j], m);
      if constexpr (kHighNibbleInPlace<kT>) {
        c[4 + j] = _mm256_and_si256(w[j], _mm256_set1_epi8(static_cast<char>(0xF0)));
      } else {
        c[4 + j] = _mm256_and_si256(_mm256_srli_epi16(w[j], 4), m);
      }
    }
    if constexpr (kT == DType::kQ5_0 || kT == DType::kQ5_1) {
      // The 5th bits: qh bit e is element e's. For c[t], byte b of lane k takes bit 4t + b: byte
      // t / 2 of the lane copied to all four bytes, each byte tested against its own bit of
      // nibble t % 2.
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

// CodesFromWords of 8 consecutive stored blocks at blk (unpacked and transposed in registers).
template <DType kT>
HWY_INLINE void Codes8BlocksT(const uint8_t* blk, __m256i* c) {
  using T = Sym32Traits<kT>;
  __m256i w[8];
  Transpose16x8<T::kBytes>(blk, T::kQs, w);
  if constexpr (kT == DType::kQ8_0) Transpose16x8<T::kBytes>(blk, T::kQs + 16, w + 4);
  __m256i qh = _mm256_setzero_si256();
  if constexpr (kT == DType::kQ5_0 || kT == DType::kQ5_1) {
    qh = _mm256_i32gather_epi32(
        reinterpret_cast<const int*>(blk + T::kQs - 4),
        _mm256_setr_epi32(0, T::kBytes, 2 * T::kBytes, 3 * T::kBytes, 4 * T::kBytes, 5 * T::kBytes,
                          6 * T::kBytes, 7 * T::kBytes),
        1);
  }
  CodesFromWords<kT>(w, qh, c);
}

// The codes (as Codes8BlocksT) and the F32 scales d (and minimums m, *_1 types) of the 8 blocks
// at p: 8 stored blocks, or one group of the kGroups8 layout (kernels/quant_repack.h), whose
// fields load as they are.
template <DType kT, bool kGrouped>
HWY_INLINE void LoadGroup8(const uint8_t* p, __m256i* c, __m256* d, [[maybe_unused]] __m256* m) {
  using T = Sym32Traits<kT>;
  if constexpr (kGrouped) {
    constexpr quant::Groups8Layout kL = quant::Groups8Of(kT);
    __m256i w[8];
    for (size_t t = 0; t < kL.qs_bytes / 4; ++t) {
      w[t] = LoadI(p + kL.codes + 32 * t);
      // Q4_0 / Q4_1: keep the vector in a register. The compiler would otherwise load it again
      // for each of its uses (low and high nibbles), and loads bound the group: cache-resident
      // Q4_0 33.2 -> 38.4 GB/s, Q4_1 39.7 -> 41.4 (AVX3_DL); Q5_x, with more live vectors,
      // lose 6-7 % and keep the compiler's choice.
      if constexpr (kT == DType::kQ4_0 || kT == DType::kQ4_1) asm("" : "+v"(w[t]));
    }
    __m256i qh = _mm256_setzero_si256();
    if constexpr (kL.has_qh) qh = LoadI(p + kL.qh);
    CodesFromWords<kT>(w, qh, c);
    *d = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    if constexpr (T::kMin) {
      *m = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + kL.m)));
    }
  } else {
    Codes8BlocksT<kT>(p, c);
    *d = LoadHalves8<T::kBytes, 0>(p);
    if constexpr (T::kMin) *m = LoadHalves8<T::kBytes, 2>(p);
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
  // acc2 = 16 x the high nibbles' sums (kHighNibbleInPlace): a multiple of 16, shifted exactly.
  if constexpr (kHighNibbleInPlace<kT>) acc2 = _mm256_srai_epi32(acc2, 4);
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

// The activation order Codes8BlocksT / DotCodes8T expect, for the whole 8-block groups of row 0.
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

// a * b + c rounded once, spelled out: whether `c + a * b` is contracted into an FMA is up to
// the compiler (GCC does by default, clang only within one expression), and ShortRowsSym32 must
// repeat Sym32Finish's rounding exactly.
HWY_INLINE float FmaF32(float a, float b, float c) {
  return _mm_cvtss_f32(_mm_fmadd_ss(_mm_set_ss(a), _mm_set_ss(b), _mm_set_ss(c)));
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
    tail = FmaF32(HalfToF32(dbits) * x.d[b], static_cast<float>(isum), tail);
    if constexpr (T::kMin) {
      uint16_t mbits;
      std::memcpy(&mbits, blk + 2, 2);
      tail = FmaF32(HalfToF32(mbits), x.s[b], tail);
    }
  }
  return _mm256_add_ps(_mm256_add_ps(acc, macc), _mm256_setr_ps(tail, 0, 0, 0, 0, 0, 0, 0));
}

// n == 1 dot of one Q8_0 / Q4_0 / Q5_0 / Q4_1 / Q5_1 row with activation row 0, its whole
// 8-block groups stored (kGrouped false) or in the kGroups8 layout. xt = TransposeActs8(x) where
// the groups are unpacked to transposed codes (kGrouped, Q4_0, Q4_1), else unused.
template <DType kT, bool kGrouped = false>
HWY_INLINE __m256 DotSym32(const uint8_t* HWY_RESTRICT row, const QuantActs& x, int64_t cols,
                           const int8_t* HWY_RESTRICT xt = nullptr) {
  using T = Sym32Traits<kT>;
  constexpr bool kTransposed = kGrouped || kT == DType::kQ4_0 || kT == DType::kQ4_1;
  const int64_t groups = cols / 32;
  const int8_t* HWY_RESTRICT xq = x.q8.data();
  const float* HWY_RESTRICT xd = x.d.data();
  const int32_t* HWY_RESTRICT xs = x.qsum.data();
  __m256 acc = _mm256_setzero_ps(), macc = _mm256_setzero_ps();
  int64_t b = 0;
  for (; b + 8 <= groups; b += 8) {
    const uint8_t* blk = row + b * T::kBytes;
    // (Regrouped Q8_0 has its own distance: none on Zen 4, see ChooseQuantPrefetch.)
    if constexpr (kGrouped && kT == DType::kQ8_0) {
      const size_t ahead = kQuantPrefetch.grouped_q8_0_bytes_ahead;
      if (ahead != 0) PrefetchAhead<8 * T::kBytes>(blk, ahead);
    } else {
      PrefetchAhead<8 * T::kBytes>(blk);
    }
    __m256i isum;
    __m256 wd, wm;
    if constexpr (kTransposed) {
      __m256i init = _mm256_setzero_si256();
      if constexpr (T::kOffShift >= 0) {
        init = _mm256_sub_epi32(init, _mm256_slli_epi32(LoadI(xs + b), T::kOffShift));
      }
      __m256i c[kCodeVectors<kT>];
      LoadGroup8<kT, kGrouped>(blk, c, &wd, &wm);
      isum = DotCodes8T<kT>(c, xt + b * 32, init);
    } else {
      __m256i v[8];
      for (int i = 0; i < 8; ++i) v[i] = BlockDot<kT>(blk + i * T::kBytes, xq + (b + i) * 32);
      // Lanes: 4 products of at most 31 * 127 (< 2^14) except for Q8_0.
      isum = kT == DType::kQ8_0 ? Reduce8(v) : Reduce8Small(v);
      if constexpr (T::kOffShift >= 0) {
        isum = _mm256_sub_epi32(isum, _mm256_slli_epi32(LoadI(xs + b), T::kOffShift));
      }
      wd = LoadHalves8<T::kBytes, 0>(blk);
      if constexpr (T::kMin) wm = LoadHalves8<T::kBytes, 2>(blk);
    }
    const __m256 scale = _mm256_mul_ps(wd, _mm256_loadu_ps(xd + b));
    acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), scale, acc);
    if constexpr (T::kMin) macc = _mm256_fmadd_ps(wm, _mm256_loadu_ps(x.s.data() + b), macc);
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

// n == 1 products of rows of fewer than 8 blocks (Mamba's dt_proj: dt_rank columns, 2 blocks
// on 370m), y[r] for r in [r0, r1), 8 rows at a time. A row has no whole 8-block group, so
// DotSym32 runs only Sym32Finish, a horizontal sum per block and scalar F32 math: ~15 cycles a
// row, under the memory's speed for 4/5-bit rows. Here block b's 8 integer dots are reduced
// together (exact integers: the same sums) and Sym32Finish's F32 math runs lane-wise in its
// order, tail = fma(d * x.d[b], isum, tail) then fma(m, x.s[b], tail), so every row gets
// DotSym32's bits: decode keeps the bits of the multi-row kernels, which take Sym32Finish.
template <DType kT>
HWY_INLINE void ShortRowsSym32(const uint8_t* w, size_t row_bytes, const QuantActs& x, int64_t cols,
                               int64_t r0, int64_t r1, float* y) {
  using T = Sym32Traits<kT>;
  const int64_t groups = cols / 32;
  int64_t r = r0;
  for (; r + 8 <= r1; r += 8) {
    const uint8_t* rows = w + static_cast<size_t>(r) * row_bytes;
    PrefetchAhead(rows, 8 * row_bytes, kQuantPrefetch.bytes_ahead);
    __m256 tail = _mm256_setzero_ps();
    for (int64_t b = 0; b < groups; ++b) {
      __m256i v[8];
      alignas(16) uint16_t dbits[8], mbits[8];
      for (int i = 0; i < 8; ++i) {
        const uint8_t* blk = rows + i * row_bytes + b * T::kBytes;
        v[i] = BlockDot<kT>(blk, x.q8.data() + b * 32);
        std::memcpy(&dbits[i], blk, 2);
        if constexpr (T::kMin) std::memcpy(&mbits[i], blk + 2, 2);
      }
      __m256i isum = Reduce8(v);
      if constexpr (T::kOffShift >= 0) {
        isum = _mm256_sub_epi32(isum, _mm256_set1_epi32(x.qsum[b] * (1 << T::kOffShift)));
      }
      const __m256 d = _mm256_cvtph_ps(_mm_load_si128(reinterpret_cast<const __m128i*>(dbits)));
      tail =
          _mm256_fmadd_ps(_mm256_mul_ps(d, _mm256_set1_ps(x.d[b])), _mm256_cvtepi32_ps(isum), tail);
      if constexpr (T::kMin) {
        const __m256 m = _mm256_cvtph_ps(_mm_load_si128(reinterpret_cast<const __m128i*>(mbits)));
        tail = _mm256_fmadd_ps(m, _mm256_set1_ps(x.s[b]), tail);
      }
    }
    // + 0 as DotSym32's lane sums add it (a -0 sum comes out +0 there too).
    _mm256_storeu_ps(y + r, _mm256_add_ps(tail, _mm256_setzero_ps()));
  }
  for (; r < r1; ++r) {
    y[r] = HSumF32(DotSym32<kT>(w + static_cast<size_t>(r) * row_bytes, x, cols));
  }
}

}  // namespace x86
#endif  // MAMBA_QUANT_X86

}  // namespace HWY_NAMESPACE
}  // namespace kernels_internal
}  // namespace mamba
HWY_AFTER_NAMESPACE();

#endif  // per-target include guard
