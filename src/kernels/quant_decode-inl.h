// SPDX-License-Identifier: MIT
// SIMD decode of quantized weight rows to int16 "effective integers" (the DecodedRow of
// quant_internal.h), one specialization per dtype; identical integers to DecodeRowRef. Highway
// per-target header: included from kernels/*.cc after foreach_target.h, compiled once per target.

// Per-target include guard (the Highway toggle idiom).
#if defined(MAMBA_KERNELS_QUANT_DECODE_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef MAMBA_KERNELS_QUANT_DECODE_INL_H_
#undef MAMBA_KERNELS_QUANT_DECODE_INL_H_
#else
#define MAMBA_KERNELS_QUANT_DECODE_INL_H_
#endif

#include <cstdint>
#include <cstring>

#include "base/check.h"
#include "base/dtype.h"
#include "hwy/highway.h"
#include "kernels/quant_blocks.h"
#include "kernels/quant_internal.h"

HWY_BEFORE_NAMESPACE();
namespace mamba {
namespace kernels_internal {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Up to 16 int16 lanes: chunks of 16 stored bytes widen into one of these.
using D16 = hn::CappedTag<int16_t, 16>;
using DU16 = hn::RebindToUnsigned<D16>;
using DU8 = hn::Rebind<uint8_t, D16>;
using DI8 = hn::Rebind<int8_t, D16>;

HWY_INLINE hn::Vec<D16> LoadU8(const uint8_t* p) {
  return hn::BitCast(D16(), hn::PromoteTo(DU16(), hn::LoadU(DU8(), p)));
}

// F16 bits -> F32, exact: F16C where the target has it, else the scalar conversion.
HWY_INLINE float HalfToF32(uint16_t h) {
#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX2
  return _cvtsh_ss(h);
#else
  return F16ToF32(h);
#endif
}

// Lanes 0 or 16 from bits [first, first + Lanes) of `bits`.
HWY_INLINE hn::Vec<D16> HighBits(uint32_t bits, int first) {
  alignas(64) static constexpr uint16_t kBit[16] = {1,   2,   4,    8,    16,   32,   64,    128,
                                                    256, 512, 1024, 2048, 4096, 8192, 16384, 32768};
  const DU16 du;
  const auto v = hn::Set(du, static_cast<uint16_t>(bits >> first));
  const auto m = hn::TestBit(v, hn::Load(du, kBit));
  return hn::BitCast(D16(), hn::IfThenElseZero(m, hn::Set(du, uint16_t{16})));
}

// SIMD twin of DecodeRowRef (identical integers and scales).
template <DType kT>
void DecodeRowT(const void* row, int64_t cols, const DecodedRow& out) {
  constexpr DType dtype = kT;
  using namespace quant;  // NOLINT(build/namespaces)
  const D16 d16;
  const int64_t L = static_cast<int64_t>(hn::Lanes(d16));
  const auto* p = static_cast<const uint8_t*>(row);
  if constexpr (dtype == DType::kQ8_0) {
    for (int64_t b = 0; b < cols / kQK; ++b) {
      const uint8_t* blk = p + b * sizeof(BlockQ8_0);
      uint16_t d;
      std::memcpy(&d, blk, 2);
      out.d[b] = HalfToF32(d);
      const auto* qs = reinterpret_cast<const int8_t*>(blk + 2);
      for (int64_t j = 0; j < kQK; j += L) {
        hn::StoreU(hn::PromoteTo(d16, hn::LoadU(DI8(), qs + j)), d16, out.q + b * kQK + j);
      }
    }
  } else if constexpr (dtype == DType::kQ4_0 || dtype == DType::kQ4_1 || dtype == DType::kQ5_0 ||
                       dtype == DType::kQ5_1) {
    constexpr bool has_min = dtype == DType::kQ4_1 || dtype == DType::kQ5_1;
    constexpr bool five = dtype == DType::kQ5_0 || dtype == DType::kQ5_1;
    const size_t bytes = GetDTypeInfo(dtype).block_bytes;
    const auto off = hn::Set(d16, static_cast<int16_t>(has_min ? 0 : (five ? 16 : 8)));
    const auto mask = hn::Set(d16, int16_t{0xF});
    for (int64_t b = 0; b < cols / kQK; ++b) {
      const uint8_t* blk = p + b * bytes;
      uint16_t d, m = 0;
      uint32_t qh = 0;
      std::memcpy(&d, blk, 2);
      if constexpr (has_min) std::memcpy(&m, blk + 2, 2);
      const uint8_t* qs = blk + 2 + (has_min ? 2 : 0);
      if constexpr (five) {
        std::memcpy(&qh, qs, 4);
        qs += 4;
      }
      out.d[b] = HalfToF32(d);
      if constexpr (has_min) out.m[b] = HalfToF32(m);
      int16_t* q = out.q + b * kQK;
      for (int64_t j = 0; j < 16; j += L) {
        const auto v = LoadU8(qs + j);
        auto lo = hn::And(v, mask);
        auto hi = hn::ShiftRight<4>(v);
        if constexpr (five) {
          lo = hn::Or(lo, HighBits(qh, static_cast<int>(j)));
          hi = hn::Or(hi, HighBits(qh, static_cast<int>(16 + j)));
        }
        hn::StoreU(hn::Sub(lo, off), d16, q + j);
        hn::StoreU(hn::Sub(hi, off), d16, q + 16 + j);
      }
    }
  } else if constexpr (dtype == DType::kQ4_K || dtype == DType::kQ5_K) {
    constexpr bool q5 = dtype == DType::kQ5_K;
    const size_t bytes = GetDTypeInfo(dtype).block_bytes;
    const auto mask = hn::Set(d16, int16_t{0xF});
    for (int64_t b = 0; b < cols / kQK_K; ++b) {
      const uint8_t* blk = p + b * bytes;
      uint16_t d, dmin;
      std::memcpy(&d, blk, 2);
      std::memcpy(&dmin, blk + 2, 2);
      const uint8_t* scales = blk + 4;
      const uint8_t* qh = blk + 16;
      const uint8_t* qs = blk + (q5 ? 48 : 16);
      out.d[b] = HalfToF32(d);
      out.m[b] = HalfToF32(dmin);
      int16_t* q = out.q + b * kQK_K;
      // int16 copies: byte arrays here get merged into word loads by the compiler, which
      // miss store-to-load forwarding (measured ~40% of the decode time).
      int16_t sc[8];
      for (int j = 0; j < 8; ++j) {
        uint8_t s8, m8;
        GetScaleMinK4(j, scales, &s8, &m8);
        sc[j] = s8;
        out.mins[b * 8 + j] = m8;
      }
      for (int c = 0; c < 4; ++c) {
        const auto sc_lo = hn::Set(d16, sc[2 * c]);
        const auto sc_hi = hn::Set(d16, sc[2 * c + 1]);
        for (int64_t l = 0; l < 32; l += L) {
          const auto v = LoadU8(qs + 32 * c + l);
          auto lo = hn::And(v, mask);
          auto hi = hn::ShiftRight<4>(v);
          if constexpr (q5) {
            const auto h = LoadU8(qh + l);
            const auto sixteen = hn::Set(d16, int16_t{16});
            lo = hn::Or(
                lo, hn::IfThenElseZero(
                        hn::TestBit(h, hn::Set(d16, static_cast<int16_t>(1 << (2 * c)))), sixteen));
            hi = hn::Or(
                hi, hn::IfThenElseZero(
                        hn::TestBit(h, hn::Set(d16, static_cast<int16_t>(2 << (2 * c)))), sixteen));
          }
          hn::StoreU(hn::Mul(lo, sc_lo), d16, q + 64 * c + l);
          hn::StoreU(hn::Mul(hi, sc_hi), d16, q + 64 * c + 32 + l);
        }
      }
    }
  } else {
    static_assert(dtype == DType::kQ6_K);
    const auto mask = hn::Set(d16, int16_t{0xF});
    const auto three = hn::Set(d16, int16_t{3});
    const auto off = hn::Set(d16, int16_t{32});
    for (int64_t b = 0; b < cols / kQK_K; ++b) {
      const uint8_t* blk = p + b * sizeof(BlockQ6_K);
      const uint8_t* ql = blk;
      const uint8_t* qh = blk + 128;
      const auto* scales = reinterpret_cast<const int8_t*>(blk + 192);
      uint16_t d;
      std::memcpy(&d, blk + 208, 2);
      out.d[b] = HalfToF32(d);
      int16_t* q = out.q + b * kQK_K;
      for (int h = 0; h < 2; ++h) {
        for (int k = 0; k < 4; ++k) {
          for (int64_t l = 0; l < 32; l += L) {
            const auto lv = LoadU8(ql + 64 * h + 32 * (k & 1) + l);
            const auto low = (k >> 1) ? hn::ShiftRight<4>(lv) : hn::And(lv, mask);
            const auto high = hn::And(hn::ShiftRightSame(LoadU8(qh + 32 * h + l), 2 * k), three);
            const auto v = hn::Sub(hn::Or(low, hn::ShiftLeft<4>(high)), off);
            const int64_t e = 128 * h + 32 * k + l;
            hn::StoreU(hn::Mul(v, hn::Set(d16, static_cast<int16_t>(scales[e / 16]))), d16, q + e);
          }
        }
      }
    }
  }
}

// SIMD twin of DecodeRowRef (identical integers and scales).
using DecodeFn = void (*)(const void*, int64_t, const DecodedRow&);
inline DecodeFn DecodeFor(DType dtype) {
  switch (dtype) {
    case DType::kQ8_0:
      return &DecodeRowT<DType::kQ8_0>;
    case DType::kQ4_0:
      return &DecodeRowT<DType::kQ4_0>;
    case DType::kQ4_1:
      return &DecodeRowT<DType::kQ4_1>;
    case DType::kQ5_0:
      return &DecodeRowT<DType::kQ5_0>;
    case DType::kQ5_1:
      return &DecodeRowT<DType::kQ5_1>;
    case DType::kQ4_K:
      return &DecodeRowT<DType::kQ4_K>;
    case DType::kQ5_K:
      return &DecodeRowT<DType::kQ5_K>;
    case DType::kQ6_K:
      return &DecodeRowT<DType::kQ6_K>;
    default:
      break;
  }
  MAMBA_CHECK(false, "DecodeRow: %s", DTypeName(dtype).data());
  return nullptr;
}

inline void DecodeRow(DType dtype, const void* row, int64_t cols, const DecodedRow& out) {
  DecodeFor(dtype)(row, cols, out);
}

}  // namespace HWY_NAMESPACE
}  // namespace kernels_internal
}  // namespace mamba
HWY_AFTER_NAMESPACE();

#endif  // MAMBA_KERNELS_QUANT_DECODE_INL_H_ toggle
