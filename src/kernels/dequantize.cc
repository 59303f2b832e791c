// SPDX-License-Identifier: MIT
// SIMD dequantization of the block-quantized types behind ConvertToF32 (Highway, runtime
// dispatch): rows are decoded by quant_decode-inl.h and scaled in F32 lanes with the scalar
// reference's exact operation order, so results are bit-identical to DequantizeRowRef (and to
// ggml's). Scalar twin: quantize_ref.cc.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/dequantize.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "base/check.h"
#include "kernels/quant_blocks.h"
#include "kernels/quant_internal.h"
#include "kernels/quantize.h"
// clang-format off
#include "kernels/quant_decode-inl.h"
// clang-format on

HWY_BEFORE_NAMESPACE();
namespace mamba {
namespace kernels_internal {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

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

HWY_EXPORT(DequantizeRowSimd);

void DequantizeRow(DType dtype, const void* src, int64_t n, float* dst) {
  if (dtype == DType::kQ8_1 || dtype == DType::kQ8_K) return DequantizeRowRef(dtype, src, n, dst);
  HWY_DYNAMIC_DISPATCH(DequantizeRowSimd)(dtype, src, n, dst);
}

}  // namespace mamba::kernels_internal
#endif  // HWY_ONCE
