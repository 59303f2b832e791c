// SPDX-License-Identifier: MIT
// Scalar reference of the quantized MatMul: activation quantization (shared with the SIMD path),
// scalar weight decode, integer block dot products with F32 scaling in group order.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "base/check.h"
#include "kernels/matmul_internal.h"
#include "kernels/quant_blocks.h"
#include "kernels/quant_internal.h"
#include "kernels/quant_repack.h"

namespace mamba::kernels_internal {
namespace {

using namespace quant;  // NOLINT(build/namespaces): block types

// Round half to even, as _mm256_round_ps(_MM_ROUND_NEAREST) and ggml's nearest_int do.
int RoundEven(float v) { return static_cast<int>(std::nearbyint(v)); }

}  // namespace

QuantKind QuantKindOf(DType dtype) {
  switch (dtype) {
    case DType::kQ8_0:
    case DType::kQ4_0:
    case DType::kQ5_0:
      return QuantKind::kSym32;
    case DType::kQ4_1:
    case DType::kQ5_1:
      return QuantKind::kMin32;
    case DType::kQ4_K:
    case DType::kQ5_K:
      return QuantKind::kKMin;
    case DType::kQ6_K:
      return QuantKind::kKSym;
    default:
      break;
  }
  MAMBA_CHECK(false, "no quantized MatMul for %s", DTypeName(dtype).data());
  return QuantKind::kSym32;
}

void QuantizeActs(QuantKind kind, const float* x, int64_t x_stride, int64_t n, int64_t cols,
                  QuantActs* out) {
  const int64_t g = QuantGroup(kind);
  const int64_t groups = cols / g;
  out->q.resize(static_cast<size_t>(n * cols));
  out->d.resize(static_cast<size_t>(n * groups));
  out->s.resize(kind == QuantKind::kMin32 ? static_cast<size_t>(n * groups) : 0);
  const bool k_kind = kind == QuantKind::kKMin || kind == QuantKind::kKSym;
  out->bsum.resize(k_kind ? static_cast<size_t>(n * cols / 16) : 0);
  out->q8.resize(static_cast<size_t>(n * cols));
  out->qsum.resize(static_cast<size_t>(n * cols / 32));
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t b = 0; b < groups; ++b) {
      const float* xb = x + i * x_stride + b * g;
      int16_t* q = out->q.data() + i * cols + b * g;
      const int64_t gi = i * groups + b;
      if (!k_kind) {
        float amax = 0.0f;
        for (int64_t j = 0; j < g; ++j) amax = std::max(amax, std::fabs(xb[j]));
        const float d = amax / 127.0f;
        const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
        int sum = 0;
        for (int64_t j = 0; j < g; ++j) {
          q[j] = static_cast<int16_t>(RoundEven(xb[j] * id));
          sum += q[j];
        }
        out->d[gi] = F16ToF32(F32ToF16(d));
        if (kind == QuantKind::kMin32) out->s[gi] = F16ToF32(F32ToF16(d * static_cast<float>(sum)));
        continue;
      }
      float amax = 0.0f, max = 0.0f;
      for (int64_t j = 0; j < g; ++j) {
        const float a = std::fabs(xb[j]);
        if (a > amax) {
          amax = a;
          max = xb[j];
        }
      }
      int32_t* bsum = out->bsum.data() + (i * cols + b * g) / 16;
      if (amax == 0.0f) {
        std::fill(q, q + g, int16_t{0});
        std::fill(bsum, bsum + g / 16, 0);
        out->d[gi] = 0.0f;
        continue;
      }
      const float iscale = -127.0f / max;
      for (int64_t j = 0; j < g; ++j) {
        q[j] = static_cast<int16_t>(std::min(127, RoundEven(iscale * xb[j])));
      }
      for (int64_t k = 0; k < g / 16; ++k) {
        int32_t s = 0;
        for (int l = 0; l < 16; ++l) s += q[16 * k + l];
        bsum[k] = s;
      }
      out->d[gi] = 1.0f / iscale;
    }
    for (int64_t c = 0; c < cols; c += 32) {
      const int16_t* q = out->q.data() + i * cols + c;
      int8_t* q8 = out->q8.data() + i * cols + c;
      int32_t s = 0;
      for (int j = 0; j < 32; ++j) {
        q8[j] = static_cast<int8_t>(q[j]);
        s += q[j];
      }
      out->qsum[(i * cols + c) / 32] = s;
    }
  }
}

void DecodeRowRef(DType dtype, const void* row, int64_t cols, const DecodedRow& out) {
  const auto* p = static_cast<const uint8_t*>(row);
  switch (dtype) {
    case DType::kQ8_0:
      for (int64_t b = 0; b < cols / kQK; ++b) {
        BlockQ8_0 blk;
        std::memcpy(&blk, p + b * sizeof(blk), sizeof(blk));
        out.d[b] = F16ToF32(blk.d);
        for (int j = 0; j < kQK; ++j) out.q[b * kQK + j] = blk.qs[j];
      }
      return;
    case DType::kQ4_0:
    case DType::kQ4_1:
      for (int64_t b = 0; b < cols / kQK; ++b) {
        const bool has_min = dtype == DType::kQ4_1;
        const size_t bytes = has_min ? sizeof(BlockQ4_1) : sizeof(BlockQ4_0);
        const uint8_t* blk = p + b * bytes;
        uint16_t d, m = 0;
        std::memcpy(&d, blk, 2);
        if (has_min) std::memcpy(&m, blk + 2, 2);
        const uint8_t* qs = blk + (has_min ? 4 : 2);
        const int off = has_min ? 0 : 8;
        out.d[b] = F16ToF32(d);
        if (has_min) out.m[b] = F16ToF32(m);
        for (int j = 0; j < 16; ++j) {
          out.q[b * kQK + j] = static_cast<int16_t>((qs[j] & 0xF) - off);
          out.q[b * kQK + j + 16] = static_cast<int16_t>((qs[j] >> 4) - off);
        }
      }
      return;
    case DType::kQ5_0:
    case DType::kQ5_1:
      for (int64_t b = 0; b < cols / kQK; ++b) {
        const bool has_min = dtype == DType::kQ5_1;
        const size_t bytes = has_min ? sizeof(BlockQ5_1) : sizeof(BlockQ5_0);
        const uint8_t* blk = p + b * bytes;
        uint16_t d, m = 0;
        uint32_t qh;
        std::memcpy(&d, blk, 2);
        if (has_min) std::memcpy(&m, blk + 2, 2);
        std::memcpy(&qh, blk + (has_min ? 4 : 2), 4);
        const uint8_t* qs = blk + (has_min ? 8 : 6);
        const int off = has_min ? 0 : 16;
        out.d[b] = F16ToF32(d);
        if (has_min) out.m[b] = F16ToF32(m);
        for (int j = 0; j < 16; ++j) {
          const int h0 = ((qh >> j) & 1) << 4, h1 = ((qh >> (j + 16)) & 1) << 4;
          out.q[b * kQK + j] = static_cast<int16_t>(((qs[j] & 0xF) | h0) - off);
          out.q[b * kQK + j + 16] = static_cast<int16_t>(((qs[j] >> 4) | h1) - off);
        }
      }
      return;
    case DType::kQ4_K:
    case DType::kQ5_K:
      for (int64_t b = 0; b < cols / kQK_K; ++b) {
        const bool q5 = dtype == DType::kQ5_K;
        const uint8_t* blk = p + b * (q5 ? sizeof(BlockQ5_K) : sizeof(BlockQ4_K));
        uint16_t d, dmin;
        std::memcpy(&d, blk, 2);
        std::memcpy(&dmin, blk + 2, 2);
        const uint8_t* scales = blk + 4;
        const uint8_t* qh = blk + 16;
        const uint8_t* qs = blk + (q5 ? 48 : 16);
        out.d[b] = F16ToF32(d);
        out.m[b] = F16ToF32(dmin);
        int16_t* q = out.q + b * kQK_K;
        for (int j = 0; j < 8; ++j) {
          uint8_t sc, m;
          GetScaleMinK4(j, scales, &sc, &m);
          out.mins[b * 8 + j] = m;
          const int c = j / 2, shift = 4 * (j & 1);
          for (int l = 0; l < 32; ++l) {
            int v = (qs[32 * c + l] >> shift) & 0xF;
            if (q5) v |= ((qh[l] >> j) & 1) << 4;
            q[32 * j + l] = static_cast<int16_t>(sc * v);
          }
        }
      }
      return;
    case DType::kQ6_K:
      for (int64_t b = 0; b < cols / kQK_K; ++b) {
        BlockQ6_K blk;
        std::memcpy(&blk, p + b * sizeof(blk), sizeof(blk));
        out.d[b] = F16ToF32(blk.d);
        int16_t* q = out.q + b * kQK_K;
        for (int e = 0; e < kQK_K; ++e) {
          const int h = e / 128, k = (e % 128) / 32, l = e % 32;
          const uint8_t lo = blk.ql[64 * h + l + 32 * (k & 1)];
          const int low4 = (k >> 1) ? lo >> 4 : lo & 0xF;
          const int high2 = (blk.qh[32 * h + l] >> (2 * k)) & 3;
          q[e] = static_cast<int16_t>(blk.scales[e / 16] * ((low4 | (high2 << 4)) - 32));
        }
      }
      return;
    default:
      break;
  }
  MAMBA_CHECK(false, "DecodeRowRef: %s", DTypeName(dtype).data());
}

float DotQuantRef(QuantKind kind, const DecodedRow& w, const QuantActs& x, int64_t x_row,
                  int64_t cols) {
  const int64_t g = QuantGroup(kind);
  const int64_t groups = cols / g;
  const int16_t* xq = x.q.data() + x_row * cols;
  const float* xd = x.d.data() + x_row * groups;
  float acc = 0.0f;
  for (int64_t b = 0; b < groups; ++b) {
    int32_t isum = 0;
    for (int64_t j = 0; j < g; ++j) isum += int32_t{w.q[b * g + j]} * xq[b * g + j];
    acc += w.d[b] * xd[b] * static_cast<float>(isum);
    if (kind == QuantKind::kMin32) acc += w.m[b] * x.s[x_row * groups + b];
    if (kind == QuantKind::kKMin) {
      const int32_t* bsum = x.bsum.data() + (x_row * cols + b * g) / 16;
      int32_t summs = 0;
      for (int j = 0; j < 8; ++j) summs += w.mins[b * 8 + j] * (bsum[2 * j] + bsum[2 * j + 1]);
      acc -= w.m[b] * xd[b] * static_cast<float>(summs);
    }
  }
  return acc;
}

void QuantMatMulRef(const WeightMatrix& w, const float* x, int64_t x_stride, int64_t n, float* y,
                    int64_t y_stride) {
  const int block = GetDTypeInfo(w.dtype).block_size;
  MAMBA_CHECK(w.cols % block == 0, "MatMulRef: %s rows of %lld not a multiple of %d",
              DTypeName(w.dtype).data(), static_cast<long long>(w.cols), block);
  if (w.layout != WeightLayout::kGgml) {
    std::vector<uint8_t> storage;
    return QuantMatMulRef(UngroupedMatrix(w, &storage), x, x_stride, n, y, y_stride);
  }
  const QuantKind kind = QuantKindOf(w.dtype);
  QuantActs xq;
  QuantizeActs(kind, x, x_stride, n, w.cols, &xq);
  const size_t row_bytes = DTypeRowBytes(w.dtype, w.cols);
  std::vector<int16_t> q(static_cast<size_t>(w.cols)), mins(static_cast<size_t>(w.cols / 32));
  std::vector<float> d(static_cast<size_t>(w.cols / 32)), m(static_cast<size_t>(w.cols / 32));
  const DecodedRow dr{q.data(), d.data(), m.data(), mins.data()};
  for (int64_t r = 0; r < w.rows; ++r) {
    DecodeRowRef(w.dtype, WeightRow(w, row_bytes, r), w.cols, dr);
    for (int64_t i = 0; i < n; ++i) y[i * y_stride + r] = DotQuantRef(kind, dr, xq, i, w.cols);
  }
}

}  // namespace mamba::kernels_internal
