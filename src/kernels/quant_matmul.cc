// SPDX-License-Identifier: MIT
// Quantized MatMul (Highway, runtime dispatch). Activations are quantized once per call to the
// 8-bit blocks ggml-cpu pairs with the weight type (QuantizeActsFast: AVX2 where available, else
// the scalar QuantizeActs; identical values).
//
// Decode on x86 (AVX2, AVX3, AVX3_DL; x86 namespace below): one fused kernel per weight
// type unpacks each block in registers to unsigned bytes and multiplies them into the int8
// activations (pmaddubsw + pmaddwd; vpdpbusd on AVX3_DL, which this file compiles on purpose),
// removing code offsets exactly with the activations' block sums; 8 blocks' int32 lanes are
// reduced (or, for Q4_0/Q4_1, computed already transposed) into one vector of block sums that is
// scaled once in F32 lanes; rows are read in order with a software prefetch ahead. Memory-bound
// on this project's machines (docs/quantize.md, "Kernels").
//
// Prefill and batched decode (n > 1) on those targets sweep L2-sized blocks of weight rows; the
// multi-row kernels (quant_x86_multi-inl.h) unpack each weight group once for up to 4 activation
// rows. The integers are exact and the F32 operations per row are the decode kernel's, in its
// order, so each row's result is bit-identical to decoding it alone.
//
// Otherwise (other targets): each weight row is decoded with SIMD to int16
// "effective integers" (nibbles/bits unpacked, offsets removed, K-quant sub-block scales folded
// in; one specialization per dtype), then dotted with the activation rows through int16 x int16
// -> int32 multiply-adds (pmaddwd), 4 activation rows per weight load when n > 1; each group's
// int32 lane sums are scaled by the two group scales in F32 lanes. (Non-x86 targets keep fused
// n == 1 kernels for Q8_0/Q4_0/Q4_K/Q6_K in Highway ops.) The decode lives in
// quant_decode-inl.h (shared with dequantize.cc). Scalar twin: quant_matmul_ref.cc; every
// integer is the same as there, only the F32 summation order differs.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/quant_matmul.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <type_traits>
#include <vector>

#include "base/check.h"
#include "kernels/matmul.h"
#include "kernels/matmul_internal.h"
#include "kernels/quant_blocks.h"
#include "kernels/quant_internal.h"
#include "kernels/quant_repack.h"
// clang-format off
#include "kernels/quant_decode-inl.h"
#include "kernels/quant_x86-inl.h"
#include "kernels/quant_x86_acts-inl.h"
#include "kernels/quant_x86_kquants-inl.h"
#include "kernels/quant_x86_multi-inl.h"
// clang-format on
#include "kernels/quantize.h"
#include "threading/thread_pool.h"

HWY_BEFORE_NAMESPACE();
namespace mamba {
namespace kernels_internal {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

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

// Decode (n == 1) for Q4_K weights without the int16 row buffer: per 64-element chunk the 32
// bytes are widened in registers, split into the two sub-blocks' nibbles, multiplied by their
// 6-bit scales (int16) and multiply-added into the activations (same integers as DecodeRow).
float DotFusedQ4K(const uint8_t* HWY_RESTRICT row, const QuantActs& x, int64_t cols) {
  const hn::ScalableTag<int16_t> d16;
  const hn::Repartition<int32_t, decltype(d16)> d32;
  const hn::Repartition<float, decltype(d16)> df;
  const hn::Rebind<uint8_t, decltype(d16)> du8;
  constexpr int64_t N = static_cast<int64_t>(hn::MaxLanes(d16));
  static_assert(32 % N == 0, "a chunk half must be whole vectors");
  const int64_t groups = cols / quant::kQK_K;
  const int16_t* HWY_RESTRICT xq = x.q.data();
  const auto mask = hn::Set(d16, int16_t{0xF});
  auto facc0 = hn::Zero(df), facc1 = hn::Zero(df);
  float sacc = 0.0f;
  for (int64_t b = 0; b < groups; ++b) {
    const uint8_t* blk = row + b * sizeof(quant::BlockQ4_K);
    uint16_t dbits, dminbits;
    std::memcpy(&dbits, blk, 2);
    std::memcpy(&dminbits, blk + 2, 2);
    const uint8_t* scales = blk + 4;
    const uint8_t* qs = blk + 16;
    const int16_t* xb = xq + b * quant::kQK_K;
    const int32_t* bsum = x.bsum.data() + b * 16;
    int16_t sc[8];
    int32_t summs = 0;
    for (int j = 0; j < 8; ++j) {
      uint8_t s8, m8;
      quant::GetScaleMinK4(j, scales, &s8, &m8);
      sc[j] = s8;
      summs += m8 * (bsum[2 * j] + bsum[2 * j + 1]);
    }
    auto acc0 = hn::Zero(d32), acc1 = hn::Zero(d32);
    for (int c = 0; c < 4; ++c) {
      const auto sc_lo = hn::Set(d16, sc[2 * c]);
      const auto sc_hi = hn::Set(d16, sc[2 * c + 1]);
      for (int64_t l = 0; l < 32; l += N) {
        const auto v = hn::BitCast(d16, hn::PromoteTo(hn::RebindToUnsigned<decltype(d16)>(),
                                                      hn::LoadU(du8, qs + 32 * c + l)));
        const auto lo = hn::Mul(hn::And(v, mask), sc_lo);
        const auto hi = hn::Mul(hn::ShiftRight<4>(v), sc_hi);
        acc0 = hn::ReorderWidenMulAccumulate(d32, lo, hn::LoadU(d16, xb + 64 * c + l), acc0, acc1);
        acc0 = hn::ReorderWidenMulAccumulate(d32, hi, hn::LoadU(d16, xb + 64 * c + 32 + l), acc0,
                                             acc1);
      }
    }
    const float xd = x.d[b];
    const auto isum = hn::ConvertTo(df, hn::RearrangeToOddPlusEven(acc0, acc1));
    auto& f = (b & 1) ? facc1 : facc0;
    f = hn::MulAdd(isum, hn::Set(df, HalfToF32(dbits) * xd), f);
    sacc -= HalfToF32(dminbits) * xd * static_cast<float>(summs);
  }
  return hn::GetLane(hn::SumOfLanes(df, hn::Add(facc0, facc1))) + sacc;
}

// Decode (n == 1) for Q6_K weights (embeddings / LM heads) without the int16 row buffer: 6-bit
// values rebuilt in registers, times their int8 sub-block scales (int16), multiply-added into the
// activations (same integers as DecodeRow).
float DotFusedQ6K(const uint8_t* HWY_RESTRICT row, const QuantActs& x, int64_t cols) {
  const hn::ScalableTag<int16_t> d16;
  const hn::Repartition<int32_t, decltype(d16)> d32;
  const hn::Repartition<float, decltype(d16)> df;
  const hn::Rebind<uint8_t, decltype(d16)> du8;
  const hn::RebindToUnsigned<decltype(d16)> du16;
  constexpr int64_t N = static_cast<int64_t>(hn::MaxLanes(d16));
  static_assert(32 % N == 0, "a 32-element run must be whole vectors");
  const int64_t groups = cols / quant::kQK_K;
  const auto mask = hn::Set(d16, int16_t{0xF});
  const auto three = hn::Set(d16, int16_t{3});
  const auto off = hn::Set(d16, int16_t{32});
  auto facc0 = hn::Zero(df), facc1 = hn::Zero(df);
  for (int64_t b = 0; b < groups; ++b) {
    const uint8_t* blk = row + b * sizeof(quant::BlockQ6_K);
    const auto* scales = reinterpret_cast<const int8_t*>(blk + 192);
    uint16_t dbits;
    std::memcpy(&dbits, blk + 208, 2);
    const int16_t* xb = x.q.data() + b * quant::kQK_K;
    auto acc0 = hn::Zero(d32), acc1 = hn::Zero(d32);
    for (int h = 0; h < 2; ++h) {
      for (int k = 0; k < 4; ++k) {
        for (int64_t l = 0; l < 32; l += N) {
          const auto lv = hn::BitCast(
              d16, hn::PromoteTo(du16, hn::LoadU(du8, blk + 64 * h + 32 * (k & 1) + l)));
          const auto low = (k >> 1) ? hn::ShiftRight<4>(lv) : hn::And(lv, mask);
          const auto hv =
              hn::BitCast(d16, hn::PromoteTo(du16, hn::LoadU(du8, blk + 128 + 32 * h + l)));
          const auto high = hn::And(hn::ShiftRightSame(hv, 2 * k), three);
          const auto v = hn::Sub(hn::Or(low, hn::ShiftLeft<4>(high)), off);
          const int64_t e = 128 * h + 32 * k + l;
          hn::Vec<decltype(d16)> sv;
          if constexpr (N >= 32) {  // lanes 0..15 and 16..31 belong to two sub-blocks
            sv = hn::IfThenElse(hn::FirstN(d16, 16), hn::Set(d16, int16_t{scales[e / 16]}),
                                hn::Set(d16, int16_t{scales[e / 16 + 1]}));
          } else {
            sv = hn::Set(d16, int16_t{scales[e / 16]});
          }
          acc0 = hn::ReorderWidenMulAccumulate(d32, hn::Mul(v, sv), hn::LoadU(d16, xb + e), acc0,
                                               acc1);
        }
      }
    }
    const auto isum = hn::ConvertTo(df, hn::RearrangeToOddPlusEven(acc0, acc1));
    auto& f = (b & 1) ? facc1 : facc0;
    f = hn::MulAdd(isum, hn::Set(df, HalfToF32(dbits) * x.d[b]), f);
  }
  return hn::GetLane(hn::SumOfLanes(df, hn::Add(facc0, facc1)));
}

using FusedFn = float (*)(const uint8_t*, const QuantActs&, int64_t);

const char* QuantTargetNameSimd() { return hwy::TargetName(HWY_TARGET); }

// Whether QuantMatMulSimd reads kGroups8 rows of `dtype` itself (the x86 decode and multi-row
// kernels of the 32-element block types and the K-quants).
bool TakesGroups8Simd(DType dtype) {
#ifdef MAMBA_QUANT_X86
  return HasGroups8Layout(dtype);
#else
  (void)dtype;
  return false;
#endif
}

void QuantizeActsSimd(QuantKind kind, const float* x, int64_t x_stride, int64_t n, int64_t cols,
                      QuantActs* out) {
#ifdef MAMBA_QUANT_X86
  x86::QuantizeActsX86(kind, x, x_stride, n, cols, out);
#else
  QuantizeActs(kind, x, x_stride, n, cols, out);
#endif
}

#ifdef MAMBA_QUANT_X86
// Activation row i of x ([n, cols]) as a QuantActs of its own: the fused kernels read row 0, and
// only q8, d, s, qsum and bsum (not the int16 q, which stays empty).
QuantActs ActsRow(const QuantActs& x, int64_t i, int64_t n, int64_t cols) {
  auto slice = [&](const auto& v, QuantActs* out, auto member) {
    const size_t per_row = v.size() / static_cast<size_t>(n);
    (out->*member)
        .assign(v.begin() + static_cast<std::ptrdiff_t>(per_row * i),
                v.begin() + static_cast<std::ptrdiff_t>(per_row * (i + 1)));
  };
  QuantActs r;
  slice(x.q8, &r, &QuantActs::q8);
  slice(x.d, &r, &QuantActs::d);
  slice(x.s, &r, &QuantActs::s);
  slice(x.qsum, &r, &QuantActs::qsum);
  slice(x.bsum, &r, &QuantActs::bsum);
  MAMBA_DCHECK(r.q8.size() == static_cast<size_t>(cols), "ActsRow: row of %zu, not %lld",
               r.q8.size(), static_cast<long long>(cols));
  return r;
}

bool HasFusedX86(DType dtype) {
  switch (dtype) {
    case DType::kQ8_0:
    case DType::kQ4_0:
    case DType::kQ5_0:
    case DType::kQ4_1:
    case DType::kQ5_1:
    case DType::kQ4_K:
    case DType::kQ5_K:
    case DType::kQ6_K:
      return true;
    default:
      return false;
  }
}

// y[r] for r in [r0, r1) = weight row r . activation row xq (one row) by the fused decode kernel
// of `dtype` (HasFusedX86), its whole 8-block groups stored or regrouped (kGroups8); xt =
// TransposeActs8(xq) for Q4_0/Q4_1 and regrouped rows (TransposeActsQ4K(xq) for regrouped Q4_K
// and Q5_K, TransposeActsQ6K(xq) for Q6_K), null otherwise.
void FusedRowsX86(DType dtype, const uint8_t* w0, size_t row_bytes, bool grouped,
                  const QuantActs& xq, const int8_t* xt, int64_t cols, int64_t r0, int64_t r1,
                  float* y) {
  auto run = [&](const auto& dot) { x86::DotRowsX86(dot, w0, row_bytes, r0, r1, y); };
  const QuantActs* xq_ptr = &xq;  // the one activation row of the K-quant kGroups8 kernels
  // The 32-element block types (xt is null except for Q4_0/Q4_1 and the kGroups8 layout).
  auto sym32 = [&](auto type) {
    constexpr DType kT = decltype(type)::value;
    if (cols < 256) {  // no whole 8-block group: stored and regrouped rows are alike
      return x86::ShortRowsSym32<kT>(w0, row_bytes, xq, cols, r0, r1, y);
    }
    if (grouped) {
      return run([&](const uint8_t* p, auto nr, __m256* out) {
        for (int i = 0; i < decltype(nr)::value; ++i)
          out[i] = x86::DotSym32<kT, true>(p + i * row_bytes, xq, cols, xt);
      });
    }
    run([&](const uint8_t* p, auto nr, __m256* out) {
      for (int i = 0; i < decltype(nr)::value; ++i)
        out[i] = x86::DotSym32<kT, false>(p + i * row_bytes, xq, cols, xt);
    });
  };
  switch (dtype) {
    case DType::kQ8_0:
      return sym32(std::integral_constant<DType, DType::kQ8_0>());
    case DType::kQ4_0:
      return sym32(std::integral_constant<DType, DType::kQ4_0>());
    case DType::kQ5_0:
      return sym32(std::integral_constant<DType, DType::kQ5_0>());
    case DType::kQ4_1:
      return sym32(std::integral_constant<DType, DType::kQ4_1>());
    case DType::kQ5_1:
      return sym32(std::integral_constant<DType, DType::kQ5_1>());
    case DType::kQ4_K:
      if (grouped) {
        return run([&](const uint8_t* p, auto nr, __m256* out) {
          for (int i = 0; i < decltype(nr)::value; ++i)
            x86::DotQ4KGroupedRow<false, 1>(p + i * row_bytes, &xq_ptr, &xt, cols, out + i);
        });
      }
      return run([&](const uint8_t* p, auto nr, __m256* out) {
        x86::DotQ4K5K<false, decltype(nr)::value>(p, row_bytes, xq, cols, out);
      });
    case DType::kQ5_K:
      if (grouped) {
        return run([&](const uint8_t* p, auto nr, __m256* out) {
          for (int i = 0; i < decltype(nr)::value; ++i)
            x86::DotQ4KGroupedRow<true, 1>(p + i * row_bytes, &xq_ptr, &xt, cols, out + i);
        });
      }
      return run([&](const uint8_t* p, auto nr, __m256* out) {
        x86::DotQ4K5K<true, decltype(nr)::value>(p, row_bytes, xq, cols, out);
      });
    case DType::kQ6_K:
      if (grouped) {
        return run([&](const uint8_t* p, auto nr, __m256* out) {
          for (int i = 0; i < decltype(nr)::value; ++i)
            x86::DotQ6KGroupedRow<1>(p + i * row_bytes, &xq_ptr, &xt, cols, out + i);
        });
      }
      return run([&](const uint8_t* p, auto nr, __m256* out) {  // (2 rows at once: no gain)
        for (int i = 0; i < decltype(nr)::value; ++i) {
          x86::DotQ6KX86<1>(p + i * row_bytes, row_bytes, xq, cols, out + i);
        }
      });
    default:
      MAMBA_CHECK(false, "FusedRowsX86: no fused kernel for %s", DTypeName(dtype).data());
  }
}

// Weight rows per block when several activation rows share them: the block stays in L2 while
// every activation row passes over it, so the weights come from memory once.
constexpr size_t kFusedBlockBytes = size_t{64} << 10;
// Row ranges claimed dynamically, shrinking towards the end (ThreadPool::kGuided): decode is
// memory-bound and threads do not get equal bandwidth, so equal halves leave the faster thread
// waiting, and so does the last of 4 equal ranges per thread (370m Q4_0 decode at 2 threads:
// pool waits 9-10 % of a profile with 4 equal ranges per thread, 7.5 % guided).
constexpr int kRangesPerThread = ThreadPool::kGuided;
#endif

void QuantMatMulSimd(const WeightMatrix& w, const QuantActs& xq, int64_t n, float* y,
                     int64_t y_stride, ThreadPool* pool) {
  const DotFn dot = DotFor(QuantKindOf(w.dtype));
  const DecodeFn decode = DecodeFor(w.dtype);
  const size_t row_bytes = DTypeRowBytes(w.dtype, w.cols);
  const int64_t macs_per_row = std::max<int64_t>(1, w.cols * n);
  const int64_t grain = std::max<int64_t>(4, 32768 / macs_per_row);
  FusedFn fused = nullptr;
#ifdef MAMBA_QUANT_X86
  // n == 1: the fused decode kernels; n > 1: the multi-row kernels, up to kMaxMultiRows
  // activation rows per pass over blocks of weight rows, with the decode kernels' per-row
  // arithmetic, so a row's result does not depend on the rows it is batched with (batched decode
  // and prefill are bit-identical to decoding alone).
  if (HasFusedX86(w.dtype)) {
    const auto* w0 = static_cast<const uint8_t*>(w.data);
    const int64_t cols = w.cols;
    // (This setup, all rows' QuantActs first and then all transposed rows, measured 5-20 % faster
    // in interleaved 370m Q8_0 prefill pairs than building each row's two together and running
    // n == 1 over the whole range; cause not found.)
    const bool multi = n > 1;
    const bool grouped = w.layout == WeightLayout::kGroups8;
    const bool transposed =
        grouped || w.dtype == DType::kQ4_0 || w.dtype == DType::kQ4_1 ||
        (multi && (w.dtype == DType::kQ8_0 || w.dtype == DType::kQ5_0 || w.dtype == DType::kQ5_1));
    std::vector<QuantActs> rows(n > 1 ? static_cast<size_t>(n) : 0);
    for (int64_t i = 0; i < static_cast<int64_t>(rows.size()); ++i) {
      rows[static_cast<size_t>(i)] = ActsRow(xq, i, n, cols);
    }
    auto act = [&](int64_t i) -> const QuantActs& {
      return n > 1 ? rows[static_cast<size_t>(i)] : xq;
    };
    std::vector<std::vector<int8_t>> xt(transposed ? static_cast<size_t>(n) : 0);
    std::vector<const QuantActs*> act_ptrs(multi ? static_cast<size_t>(n) : 0);
    std::vector<const int8_t*> xt_ptrs(act_ptrs.size());
    for (size_t i = 0; i < xt.size(); ++i) {
      if (w.dtype == DType::kQ6_K) {
        x86::TransposeActsQ6K(act(static_cast<int64_t>(i)), cols, &xt[i]);
      } else if (w.dtype == DType::kQ4_K || w.dtype == DType::kQ5_K) {
        x86::TransposeActsQ4K(act(static_cast<int64_t>(i)), cols, &xt[i]);
      } else {
        x86::TransposeActs8(act(static_cast<int64_t>(i)), cols, &xt[i]);
      }
    }
    for (size_t i = 0; i < act_ptrs.size(); ++i) {
      act_ptrs[i] = &act(static_cast<int64_t>(i));
      xt_ptrs[i] = transposed ? xt[i].data() : nullptr;
    }
    // DotRowsX86 reduces rows in groups of 8 from where it starts: chunk and block boundaries at
    // multiples of 8 (and a grain that does not depend on n) keep the groups, hence the bits,
    // the same for every n and thread count.
    const int64_t block =
        std::max<int64_t>(8, static_cast<int64_t>(kFusedBlockBytes / row_bytes) / 8 * 8);
    const int64_t fused_grain =
        (std::max<int64_t>(8, 32768 / std::max<int64_t>(1, cols)) + 7) / 8 * 8;
    ParallelForOrInline(
        pool, w.rows, fused_grain,
        [&](int64_t r0, int64_t r1) {
          for (int64_t b0 = r0; b0 < r1; b0 += block) {
            const int64_t b1 = std::min(r1, b0 + block);
            if (multi) {
              for (int64_t i = 0; i < n; i += x86::kMaxMultiRows) {
                const int a = static_cast<int>(std::min<int64_t>(x86::kMaxMultiRows, n - i));
                x86::MultiRowsX86(w.dtype, a, w0, row_bytes, grouped, act_ptrs.data() + i,
                                  xt_ptrs.data() + i, cols, b0, b1, y + i * y_stride, y_stride);
              }
              continue;
            }
            for (int64_t i = 0; i < n; ++i) {
              FusedRowsX86(w.dtype, w0, row_bytes, grouped, act(i),
                           transposed ? xt[static_cast<size_t>(i)].data() : nullptr, cols, b0, b1,
                           y + i * y_stride);
            }
          }
        },
        kRangesPerThread);
    return;
  }
#else
  if (n == 1 && w.dtype == DType::kQ8_0) fused = &DotFusedSym32<DType::kQ8_0>;
  if (n == 1 && w.dtype == DType::kQ4_0) fused = &DotFusedSym32<DType::kQ4_0>;
  if (n == 1 && w.dtype == DType::kQ4_K) fused = &DotFusedQ4K;
  if (n == 1 && w.dtype == DType::kQ6_K) fused = &DotFusedQ6K;
#endif
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

}  // namespace HWY_NAMESPACE
}  // namespace kernels_internal
}  // namespace mamba
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace mamba::kernels_internal {

// Measured in decode (mamba-bench tg64, fraction of the paired bandwidth limit):
// - AMD Zen 4 (2 vCPUs, AVX3_DL): 16 KiB ahead; regrouped Q8_0 (anonymous huge pages) streamed
//   faster without any software prefetch (1.4b Q8_0, 1 thread: 15.0-15.3 tok/s with it,
//   19.9-20.6 without), while the 4-bit types gained from it (1.4b Q4_0: 29.6-31.3 without,
//   31.5-32.3 with).
// - Intel Xeon (2 vCPUs, AVX-512, 2 MiB L2 per core), interleaved rounds: regrouped Q8_0 gains
//   from a prefetch 4 KiB ahead (370m, 1 thread: 78-79 -> 84-85 %, 2 threads 68-69 -> 77-78 %;
//   1.4b 81 -> 86-90 % and 80 -> 83 %), more than 1, 8 or 16 KiB ahead (82-83 % on 370m);
//   for the 4-bit types 4 KiB against 16 KiB was mixed at first (1.4b Q4_0 84 vs 81 %, 370m
//   Q4_K_M 79 vs 83 %), then three interleaved rounds per file and thread count favoured 4 KiB
//   in 23 of 24 pairs (370m Q4_0 / Q4_K_M and 1.4b Q4_0 / Q4_K_M at 1 and 2 threads: +1 to +6
//   points, e.g. 370m Q4_0 2 threads 68.7-69.5 vs 63.8-66.3 %), so every type takes 4 KiB.
// Other cores keep Zen 4's values, the ones measured first.
QuantPrefetch ChooseQuantPrefetch(CpuVendor vendor) {
  if (vendor == CpuVendor::kIntel) return QuantPrefetch{4096, 4096};
  return QuantPrefetch{16384, 0};
}

HWY_EXPORT(QuantMatMulSimd);
HWY_EXPORT(QuantTargetNameSimd);
HWY_EXPORT(QuantizeActsSimd);
HWY_EXPORT(TakesGroups8Simd);

void QuantizeActsFast(QuantKind kind, const float* x, int64_t x_stride, int64_t n, int64_t cols,
                      QuantActs* out) {
  HWY_DYNAMIC_DISPATCH(QuantizeActsSimd)(kind, x, x_stride, n, cols, out);
}

const char* QuantKernelTargetName() { return HWY_DYNAMIC_DISPATCH(QuantTargetNameSimd)(); }

void QuantMatMul(const WeightMatrix& w, const float* x, int64_t x_stride, int64_t n, float* y,
                 int64_t y_stride, ThreadPool* pool) {
  const int block = GetDTypeInfo(w.dtype).block_size;
  MAMBA_CHECK(w.cols % block == 0, "MatMul: %s rows of %lld not a multiple of %d",
              DTypeName(w.dtype).data(), static_cast<long long>(w.cols), block);
  QuantActs xq;
  QuantizeActsFast(QuantKindOf(w.dtype), x, x_stride, n, w.cols, &xq);
  if (w.layout != WeightLayout::kGgml && !HWY_DYNAMIC_DISPATCH(TakesGroups8Simd)(w.dtype)) {
    // Regrouped for another target than the one dispatched now (tests switch targets after
    // loading): the stored layout, copied.
    std::vector<uint8_t> storage;
    return HWY_DYNAMIC_DISPATCH(QuantMatMulSimd)(UngroupedMatrix(w, &storage), xq, n, y, y_stride,
                                                 pool);
  }
  HWY_DYNAMIC_DISPATCH(QuantMatMulSimd)(w, xq, n, y, y_stride, pool);
}

}  // namespace mamba::kernels_internal

namespace mamba {

bool KernelsPreferGroups8(DType dtype) {
  return HWY_DYNAMIC_DISPATCH(kernels_internal::TakesGroups8Simd)(dtype);
}

}  // namespace mamba
#endif  // HWY_ONCE
