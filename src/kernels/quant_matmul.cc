// SPDX-License-Identifier: MIT
// Quantized MatMul (Highway, runtime dispatch). Activations are quantized once per call to the
// 8-bit blocks ggml-cpu pairs with the weight type (QuantizeActs, scalar); each weight row is
// decoded with SIMD to int16 "effective integers" (nibbles/bits unpacked, offsets removed, K-quant
// sub-block scales folded in; one specialization per dtype), then dotted with the activation
// rows through int16 x int16 -> int32 multiply-adds (pmaddwd), 4 activation rows per weight load
// when n > 1; each group's int32 lane sums are scaled by the two group scales in F32 lanes.
// Also the SIMD dequantizer behind ConvertToF32 (bit-exact with the scalar reference).
// Scalar twin: quant_matmul_ref.cc.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/quant_matmul.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "base/check.h"
#include "kernels/matmul.h"
#include "kernels/matmul_internal.h"
#include "kernels/quant_blocks.h"
#include "kernels/quant_internal.h"
#include "kernels/quantize.h"
#include "threading/thread_pool.h"

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
DecodeFn DecodeFor(DType dtype) {
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

void DecodeRow(DType dtype, const void* row, int64_t cols, const DecodedRow& out) {
  DecodeFor(dtype)(row, cols, out);
}

// Integer dot product of group b (g elements) as int32 lanes.
template <int64_t G, class D16, class D32>
HWY_INLINE hn::Vec<D32> GroupDot(D16 d16, D32 d32, const int16_t* HWY_RESTRICT w,
                                 const int16_t* HWY_RESTRICT x) {
  constexpr int64_t N = static_cast<int64_t>(hn::MaxLanes(D16()));
  auto acc0 = hn::Zero(d32), acc1 = hn::Zero(d32);
  for (int64_t j = 0; j < G; j += N) {
    acc0 = hn::ReorderWidenMulAccumulate(d32, hn::LoadU(d16, w + j), hn::LoadU(d16, x + j), acc0,
                                         acc1);
  }
  return hn::RearrangeToOddPlusEven(acc0, acc1);
}

// SIMD twin of DotQuantRef: per group, int32 lane sums of int16 products, converted to F32 and
// scaled in lanes (kUnroll independent F32 accumulators, so the multiply-add latency does not
// serialize the 32-element groups); the minimum terms are scalar.
template <QuantKind K>
float DotQuantT(const DecodedRow& w, const QuantActs& x, int64_t x_row, int64_t cols) {
  const hn::ScalableTag<int16_t> d16;
  const hn::Repartition<int32_t, decltype(d16)> d32;
  const hn::Repartition<float, decltype(d16)> df;
  constexpr int64_t G = (K == QuantKind::kSym32 || K == QuantKind::kMin32) ? 32 : 256;
  constexpr int kUnroll = 4;
  const int64_t groups = cols / G;
  const int16_t* HWY_RESTRICT xq = x.q.data() + x_row * cols;
  const float* HWY_RESTRICT xd = x.d.data() + x_row * groups;
  hn::Vec<decltype(df)> facc[kUnroll];
  for (auto& f : facc) f = hn::Zero(df);
  float sacc = 0.0f;
  int64_t b = 0;
  for (; b + kUnroll <= groups; b += kUnroll) {
    for (int u = 0; u < kUnroll; ++u) {
      const auto isum = GroupDot<G>(d16, d32, w.q + (b + u) * G, xq + (b + u) * G);
      facc[u] = hn::MulAdd(hn::ConvertTo(df, isum), hn::Set(df, w.d[b + u] * xd[b + u]), facc[u]);
    }
  }
  for (; b < groups; ++b) {
    const auto isum = GroupDot<G>(d16, d32, w.q + b * G, xq + b * G);
    facc[0] = hn::MulAdd(hn::ConvertTo(df, isum), hn::Set(df, w.d[b] * xd[b]), facc[0]);
  }
  if constexpr (K == QuantKind::kMin32) {
    const float* HWY_RESTRICT xs = x.s.data() + x_row * groups;
    for (int64_t g = 0; g < groups; ++g) sacc += w.m[g] * xs[g];
  }
  if constexpr (K == QuantKind::kKMin) {
    for (int64_t g = 0; g < groups; ++g) {
      const int32_t* bsum = x.bsum.data() + (x_row * cols + g * G) / 16;
      int32_t summs = 0;
      for (int j = 0; j < 8; ++j) summs += w.mins[g * 8 + j] * (bsum[2 * j] + bsum[2 * j + 1]);
      sacc -= w.m[g] * xd[g] * static_cast<float>(summs);
    }
  }
  const auto sum = hn::Add(hn::Add(facc[0], facc[1]), hn::Add(facc[2], facc[3]));
  return hn::GetLane(hn::SumOfLanes(df, sum)) + sacc;
}

// NX activation rows (i0 .. i0 + NX - 1) against one decoded weight row: each weight vector is
// loaded once for all NX rows (prefill). y[i * y_stride] for the NX rows.
template <QuantKind K, int NX>
void DotQuantTile(const DecodedRow& w, const QuantActs& x, int64_t i0, int64_t cols, float* y,
                  int64_t y_stride) {
  const hn::ScalableTag<int16_t> d16;
  const hn::Repartition<int32_t, decltype(d16)> d32;
  const hn::Repartition<float, decltype(d16)> df;
  constexpr int64_t G = (K == QuantKind::kSym32 || K == QuantKind::kMin32) ? 32 : 256;
  constexpr int64_t N = static_cast<int64_t>(hn::MaxLanes(d16));
  const int64_t groups = cols / G;
  hn::Vec<decltype(df)> facc[NX];
  float sacc[NX];
  for (int i = 0; i < NX; ++i) {
    facc[i] = hn::Zero(df);
    sacc[i] = 0.0f;
  }
  for (int64_t b = 0; b < groups; ++b) {
    hn::Vec<decltype(d32)> acc0[NX], acc1[NX];
    for (int i = 0; i < NX; ++i) acc0[i] = acc1[i] = hn::Zero(d32);
    for (int64_t j = 0; j < G; j += N) {
      const auto wv = hn::LoadU(d16, w.q + b * G + j);
      for (int i = 0; i < NX; ++i) {
        const int16_t* xq = x.q.data() + (i0 + i) * cols + b * G + j;
        acc0[i] = hn::ReorderWidenMulAccumulate(d32, wv, hn::LoadU(d16, xq), acc0[i], acc1[i]);
      }
    }
    for (int i = 0; i < NX; ++i) {
      const auto isum = hn::RearrangeToOddPlusEven(acc0[i], acc1[i]);
      const float xd = x.d[(i0 + i) * groups + b];
      facc[i] = hn::MulAdd(hn::ConvertTo(df, isum), hn::Set(df, w.d[b] * xd), facc[i]);
      if constexpr (K == QuantKind::kMin32) sacc[i] += w.m[b] * x.s[(i0 + i) * groups + b];
      if constexpr (K == QuantKind::kKMin) {
        const int32_t* bsum = x.bsum.data() + ((i0 + i) * cols + b * G) / 16;
        int32_t summs = 0;
        for (int j = 0; j < 8; ++j) summs += w.mins[b * 8 + j] * (bsum[2 * j] + bsum[2 * j + 1]);
        sacc[i] -= w.m[b] * xd * static_cast<float>(summs);
      }
    }
  }
  for (int i = 0; i < NX; ++i) {
    y[i * y_stride] = hn::GetLane(hn::SumOfLanes(df, facc[i])) + sacc[i];
  }
}

constexpr int kTileX = 4;  // activation rows per weight-row pass (n > 1)

// All n activation rows against one decoded weight row: y[i * y_stride], i < n.
template <QuantKind K>
void DotRows(const DecodedRow& w, const QuantActs& x, int64_t n, int64_t cols, float* y,
             int64_t y_stride) {
  if (n == 1) {
    y[0] = DotQuantT<K>(w, x, 0, cols);
    return;
  }
  int64_t i = 0;
  for (; i + kTileX <= n; i += kTileX)
    DotQuantTile<K, kTileX>(w, x, i, cols, y + i * y_stride, y_stride);
  switch (n - i) {
    case 3:
      return DotQuantTile<K, 3>(w, x, i, cols, y + i * y_stride, y_stride);
    case 2:
      return DotQuantTile<K, 2>(w, x, i, cols, y + i * y_stride, y_stride);
    case 1:
      return DotQuantTile<K, 1>(w, x, i, cols, y + i * y_stride, y_stride);
    default:
      return;
  }
}

using DotFn = void (*)(const DecodedRow&, const QuantActs&, int64_t, int64_t, float*, int64_t);

DotFn DotFor(QuantKind kind) {
  switch (kind) {
    case QuantKind::kSym32:
      return &DotRows<QuantKind::kSym32>;
    case QuantKind::kMin32:
      return &DotRows<QuantKind::kMin32>;
    case QuantKind::kKMin:
      return &DotRows<QuantKind::kKMin>;
    case QuantKind::kKSym:
      return &DotRows<QuantKind::kKSym>;
  }
  return nullptr;
}

// Scratch for one decoded weight row.
struct RowScratch {
  std::vector<int16_t> q, mins;
  std::vector<float> d, m;
  explicit RowScratch(int64_t cols)
      : q(static_cast<size_t>(cols)),
        mins(static_cast<size_t>(cols / 32)),
        d(static_cast<size_t>(cols / 32)),
        m(static_cast<size_t>(cols / 32)) {}
  DecodedRow view() { return DecodedRow{q.data(), d.data(), m.data(), mins.data()}; }
};

// Decode (n == 1) for Q8_0 / Q4_0 weights without the int16 row buffer: each block is widened
// in registers and multiplied straight into the activation block (same integers as DecodeRow).
template <DType kT>
float DotFusedSym32(const uint8_t* HWY_RESTRICT row, const QuantActs& x, int64_t cols) {
  static_assert(kT == DType::kQ8_0 || kT == DType::kQ4_0);
  const hn::ScalableTag<int16_t> d16;
  const hn::Repartition<int32_t, decltype(d16)> d32;
  const hn::Repartition<float, decltype(d16)> df;
  constexpr int64_t N = static_cast<int64_t>(hn::MaxLanes(d16));
  constexpr size_t kBytes =
      kT == DType::kQ8_0 ? sizeof(quant::BlockQ8_0) : sizeof(quant::BlockQ4_0);
  constexpr int kUnroll = 4;
  const int64_t groups = cols / 32;
  const int16_t* HWY_RESTRICT xq = x.q.data();
  const float* HWY_RESTRICT xd = x.d.data();
  hn::Vec<decltype(df)> facc[kUnroll];
  for (auto& f : facc) f = hn::Zero(df);
  for (int64_t b = 0; b < groups; ++b) {
    const uint8_t* blk = row + b * kBytes;
    uint16_t dbits;
    std::memcpy(&dbits, blk, 2);
    const int16_t* xb = xq + b * 32;
    auto acc0 = hn::Zero(d32), acc1 = hn::Zero(d32);
    if constexpr (kT == DType::kQ8_0) {
      const hn::Rebind<int8_t, decltype(d16)> di8;
      const auto* qs = reinterpret_cast<const int8_t*>(blk + 2);
      for (int64_t j = 0; j < 32; j += N) {
        const auto wv = hn::PromoteTo(d16, hn::LoadU(di8, qs + j));
        acc0 = hn::ReorderWidenMulAccumulate(d32, wv, hn::LoadU(d16, xb + j), acc0, acc1);
      }
#if HWY_TARGET != HWY_SCALAR  // (no Combine there; N == 1)
    } else if constexpr (N >= 32) {
      // One vector holds the whole block: low nibbles (elements 0..15) in the lower half.
      const hn::Half<decltype(d16)> dh;
      const hn::Rebind<uint8_t, decltype(dh)> du8;
      const auto v = hn::BitCast(
          dh, hn::PromoteTo(hn::RebindToUnsigned<decltype(dh)>(), hn::LoadU(du8, blk + 2)));
      const auto lo = hn::And(v, hn::Set(dh, int16_t{0xF}));
      const auto hi = hn::ShiftRight<4>(v);
      const auto wv = hn::Sub(hn::Combine(d16, hi, lo), hn::Set(d16, int16_t{8}));
      acc0 = hn::ReorderWidenMulAccumulate(d32, wv, hn::LoadU(d16, xb), acc0, acc1);
#endif
    } else {
      const hn::Rebind<uint8_t, decltype(d16)> du8;
      const auto eight = hn::Set(d16, int16_t{8});
      for (int64_t j = 0; j < 16; j += N) {
        const auto v = hn::BitCast(
            d16, hn::PromoteTo(hn::RebindToUnsigned<decltype(d16)>(), hn::LoadU(du8, blk + 2 + j)));
        const auto lo = hn::Sub(hn::And(v, hn::Set(d16, int16_t{0xF})), eight);
        const auto hi = hn::Sub(hn::ShiftRight<4>(v), eight);
        acc0 = hn::ReorderWidenMulAccumulate(d32, lo, hn::LoadU(d16, xb + j), acc0, acc1);
        acc0 = hn::ReorderWidenMulAccumulate(d32, hi, hn::LoadU(d16, xb + 16 + j), acc0, acc1);
      }
    }
    const auto isum = hn::RearrangeToOddPlusEven(acc0, acc1);
    auto& f = facc[b % kUnroll];
    f = hn::MulAdd(hn::ConvertTo(df, isum), hn::Set(df, HalfToF32(dbits) * xd[b]), f);
  }
  const auto sum = hn::Add(hn::Add(facc[0], facc[1]), hn::Add(facc[2], facc[3]));
  return hn::GetLane(hn::SumOfLanes(df, sum));
}

using FusedFn = float (*)(const uint8_t*, const QuantActs&, int64_t);

void QuantMatMulSimd(const WeightMatrix& w, const QuantActs& xq, int64_t n, float* y,
                     int64_t y_stride, ThreadPool* pool) {
  const DotFn dot = DotFor(QuantKindOf(w.dtype));
  const DecodeFn decode = DecodeFor(w.dtype);
  const size_t row_bytes = DTypeRowBytes(w.dtype, w.cols);
  const int64_t macs_per_row = std::max<int64_t>(1, w.cols * n);
  const int64_t grain = std::max<int64_t>(4, 32768 / macs_per_row);
  FusedFn fused = nullptr;
  if (n == 1 && w.dtype == DType::kQ8_0) fused = &DotFusedSym32<DType::kQ8_0>;
  if (n == 1 && w.dtype == DType::kQ4_0) fused = &DotFusedSym32<DType::kQ4_0>;
  if (fused != nullptr) {
    ParallelForOrInline(pool, w.rows, grain, [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        if (r + 2 < r1) {
          const uint8_t* pf = WeightRow(w, row_bytes, r + 2);
          for (size_t off = 0; off < row_bytes; off += 64) __builtin_prefetch(pf + off, 0, 2);
        }
        y[r] = fused(WeightRow(w, row_bytes, r), xq, w.cols);
      }
    });
    return;
  }
  ParallelForOrInline(pool, w.rows, grain, [&](int64_t r0, int64_t r1) {
    RowScratch scratch(w.cols);
    const DecodedRow dr = scratch.view();
    for (int64_t r = r0; r < r1; ++r) {
      // Rows are short (a few KiB): prefetch the one after next into L2 so the hardware
      // prefetchers' ramp-up does not stall every row (as TileDecode in matmul.cc does).
      if (r + 2 < r1) {
        const uint8_t* pf = WeightRow(w, row_bytes, r + 2);
        for (size_t off = 0; off < row_bytes; off += 64) __builtin_prefetch(pf + off, 0, 2);
      }
      decode(WeightRow(w, row_bytes, r), w.cols, dr);
      dot(dr, xq, n, w.cols, y + r, y_stride);
    }
  });
}

// Q6_K dequantization: (d * scale) * (q - 32) in F32 lanes, the reference's order (this keeps
// the sign of zero results, which d * (scale * (q - 32)) would not).
void DequantizeQ6K(const uint8_t* p, int64_t n, float* dst) {
  const hn::ScalableTag<float> df;
  const hn::Rebind<int32_t, decltype(df)> d32;
  const hn::Rebind<uint8_t, decltype(df)> du8;
  const int64_t N = static_cast<int64_t>(hn::Lanes(df));
  const auto mask = hn::Set(d32, 0xF);
  const auto three = hn::Set(d32, 3);
  const auto off = hn::Set(d32, 32);
  for (int64_t b = 0; b < n / quant::kQK_K; ++b) {
    const uint8_t* blk = p + b * sizeof(quant::BlockQ6_K);
    const auto* scales = reinterpret_cast<const int8_t*>(blk + 192);
    uint16_t dh;
    std::memcpy(&dh, blk + 208, 2);
    const float d = F16ToF32(dh);
    float* y = dst + b * quant::kQK_K;
    for (int h = 0; h < 2; ++h) {
      for (int k = 0; k < 4; ++k) {
        for (int64_t l = 0; l < 32; l += N) {
          const auto lv = hn::PromoteTo(d32, hn::LoadU(du8, blk + 64 * h + 32 * (k & 1) + l));
          const auto low = (k >> 1) ? hn::ShiftRight<4>(lv) : hn::And(lv, mask);
          const auto hv = hn::PromoteTo(d32, hn::LoadU(du8, blk + 128 + 32 * h + l));
          const auto high = hn::And(hn::ShiftRightSame(hv, 2 * k), three);
          const auto v = hn::Sub(hn::Or(low, hn::ShiftLeft<4>(high)), off);
          const int64_t e = 128 * h + 32 * k + l;
          hn::StoreU(hn::Mul(hn::Set(df, d * scales[e / 16]), hn::ConvertTo(df, v)), df, y + e);
        }
      }
    }
  }
}

// SIMD dequantization (bit-exact with DequantizeRowRef): decode, then F32 lanes of
// d * q (minus dmin * m for K kinds, plus m for *_1 kinds), same operation order.
void DequantizeChunk(DType dtype, const void* src, int64_t n, float* dst) {
  const hn::ScalableTag<float> df;
  const hn::Rebind<int16_t, decltype(df)> d16;
  const hn::Rebind<int32_t, decltype(df)> d32;
  const int64_t N = static_cast<int64_t>(hn::Lanes(df));
  if (dtype == DType::kQ6_K && N <= 16) {
    return DequantizeQ6K(static_cast<const uint8_t*>(src), n, dst);
  }
  std::vector<int16_t> q(static_cast<size_t>(n)), mins(static_cast<size_t>(n / 32));
  std::vector<float> d(static_cast<size_t>(n / 32)), m(static_cast<size_t>(n / 32));
  const DecodedRow dr{q.data(), d.data(), m.data(), mins.data()};
  DecodeRow(dtype, src, n, dr);
  const QuantKind kind = QuantKindOf(dtype);
  const int64_t g = QuantGroup(kind);
  if (N > 16) return DequantizeRowRef(dtype, src, n, dst);  // never on x86
  for (int64_t b = 0; b < n / g; ++b) {
    // Per sub-block of 16 (Q6_K) or 32: value = scale * q (+ m / - min), as the reference does.
    const int64_t sub = dtype == DType::kQ6_K ? 16 : 32;
    for (int64_t s0 = 0; s0 < g; s0 += sub) {
      const int64_t e0 = b * g + s0;
      for (int64_t e = e0; e < e0 + sub; e += N) {
        const auto qi = hn::ConvertTo(df, hn::PromoteTo(d32, hn::LoadU(d16, q.data() + e)));
        hn::Vec<decltype(df)> v;
        if (kind == QuantKind::kSym32) {
          v = hn::Mul(qi, hn::Set(df, d[b]));
        } else if (kind == QuantKind::kMin32) {
          v = hn::Add(hn::Mul(qi, hn::Set(df, d[b])), hn::Set(df, m[b]));
        } else if (kind == QuantKind::kKMin) {
          // q already holds sc * v; the reference computes (d * sc) * v - dmin * m, both exact
          // products, so d * (sc * v) - dmin * m rounds identically.
          v = hn::Sub(hn::Mul(hn::Set(df, d[b]), qi),
                      hn::Set(df, m[b] * static_cast<float>(mins[b * 8 + s0 / 32])));
        } else {
          v = hn::Mul(hn::Set(df, d[b]), qi);
        }
        hn::StoreU(v, df, dst + e);
      }
    }
  }
}

// Dequantizes in chunks of 8192 elements so the decode scratch stays small for whole tensors.
void DequantizeRowSimd(DType dtype, const void* src, int64_t n, float* dst) {
  constexpr int64_t kChunk = 8192;  // a multiple of every block size
  const size_t chunk_bytes = DTypeRowBytes(dtype, kChunk);
  const auto* p = static_cast<const uint8_t*>(src);
  for (int64_t e = 0; e < n; e += kChunk) {
    DequantizeChunk(dtype, p + static_cast<size_t>(e / kChunk) * chunk_bytes,
                    std::min(kChunk, n - e), dst + e);
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace kernels_internal
}  // namespace mamba
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace mamba::kernels_internal {

HWY_EXPORT(QuantMatMulSimd);
HWY_EXPORT(DequantizeRowSimd);

void QuantMatMul(const WeightMatrix& w, const float* x, int64_t x_stride, int64_t n, float* y,
                 int64_t y_stride, ThreadPool* pool) {
  const int block = GetDTypeInfo(w.dtype).block_size;
  MAMBA_CHECK(w.cols % block == 0, "MatMul: %s rows of %lld not a multiple of %d",
              DTypeName(w.dtype).data(), static_cast<long long>(w.cols), block);
  QuantActs xq;
  QuantizeActs(QuantKindOf(w.dtype), x, x_stride, n, w.cols, &xq);
  HWY_DYNAMIC_DISPATCH(QuantMatMulSimd)(w, xq, n, y, y_stride, pool);
}

void DequantizeRow(DType dtype, const void* src, int64_t n, float* dst) {
  if (dtype == DType::kQ8_1 || dtype == DType::kQ8_K) return DequantizeRowRef(dtype, src, n, dst);
  HWY_DYNAMIC_DISPATCH(DequantizeRowSimd)(dtype, src, n, dst);
}

}  // namespace mamba::kernels_internal
#endif  // HWY_ONCE
