// SPDX-License-Identifier: MIT
// Scalar weight quantizers (ggml reference rounding for *_0 / *_1, our own search for K-quants)
// and the scalar reference dequantizers of every block type.
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>

#include "base/check.h"
#include "kernels/quant_blocks.h"
#include "kernels/quantize.h"

namespace mamba {
namespace {

using namespace quant;  // NOLINT(build/namespaces): block types

float H(uint16_t h) { return F16ToF32(h); }

// Largest |x| and the signed value attaining it (first one on ties), over x[0, n).
void SignedAbsMax(const float* x, int n, float* amax, float* max) {
  *amax = 0.0f;
  *max = 0.0f;
  for (int j = 0; j < n; ++j) {
    const float a = std::fabs(x[j]);
    if (*amax < a) {
      *amax = a;
      *max = x[j];
    }
  }
}

void MinMax(const float* x, int n, float* mn, float* mx) {
  *mn = FLT_MAX;
  *mx = -FLT_MAX;
  for (int j = 0; j < n; ++j) {
    *mn = std::min(*mn, x[j]);
    *mx = std::max(*mx, x[j]);
  }
}

// ---- ggml reference rounding for the 32-element types ----

void QuantQ8_0(const float* x, BlockQ8_0* b) {
  float amax = 0.0f;
  for (int j = 0; j < kQK; ++j) amax = std::max(amax, std::fabs(x[j]));
  const float d = amax / 127.0f;
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  b->d = F32ToF16(d);
  for (int j = 0; j < kQK; ++j) b->qs[j] = static_cast<int8_t>(std::roundf(x[j] * id));
}

void QuantQ4_0(const float* x, BlockQ4_0* b) {
  float amax, max;
  SignedAbsMax(x, kQK, &amax, &max);
  const float d = max / -8.0f;
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  b->d = F32ToF16(d);
  for (int j = 0; j < kQK / 2; ++j) {
    const int q0 = std::min(15, static_cast<int>(static_cast<int8_t>(x[j] * id + 8.5f)));
    const int q1 = std::min(15, static_cast<int>(static_cast<int8_t>(x[j + 16] * id + 8.5f)));
    b->qs[j] = static_cast<uint8_t>(q0 | (q1 << 4));
  }
}

void QuantQ4_1(const float* x, BlockQ4_1* b) {
  float mn, mx;
  MinMax(x, kQK, &mn, &mx);
  const float d = (mx - mn) / 15.0f;
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  b->d = F32ToF16(d);
  b->m = F32ToF16(mn);
  for (int j = 0; j < kQK / 2; ++j) {
    const int q0 = std::min(15, static_cast<int>(static_cast<int8_t>((x[j] - mn) * id + 0.5f)));
    const int q1 =
        std::min(15, static_cast<int>(static_cast<int8_t>((x[j + 16] - mn) * id + 0.5f)));
    b->qs[j] = static_cast<uint8_t>(q0 | (q1 << 4));
  }
}

void QuantQ5_0(const float* x, BlockQ5_0* b) {
  float amax, max;
  SignedAbsMax(x, kQK, &amax, &max);
  const float d = max / -16.0f;
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  b->d = F32ToF16(d);
  uint32_t qh = 0;
  for (int j = 0; j < kQK / 2; ++j) {
    const int q0 = std::min(31, static_cast<int>(static_cast<int8_t>(x[j] * id + 16.5f)));
    const int q1 = std::min(31, static_cast<int>(static_cast<int8_t>(x[j + 16] * id + 16.5f)));
    b->qs[j] = static_cast<uint8_t>((q0 & 0xF) | ((q1 & 0xF) << 4));
    qh |= static_cast<uint32_t>((q0 >> 4) & 1) << j;
    qh |= static_cast<uint32_t>((q1 >> 4) & 1) << (j + 16);
  }
  std::memcpy(b->qh, &qh, 4);
}

void QuantQ5_1(const float* x, BlockQ5_1* b) {
  float mn, mx;
  MinMax(x, kQK, &mn, &mx);
  const float d = (mx - mn) / 31.0f;
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  b->d = F32ToF16(d);
  b->m = F32ToF16(mn);
  uint32_t qh = 0;
  for (int j = 0; j < kQK / 2; ++j) {
    const int q0 = static_cast<uint8_t>((x[j] - mn) * id + 0.5f);
    const int q1 = static_cast<uint8_t>((x[j + 16] - mn) * id + 0.5f);
    b->qs[j] = static_cast<uint8_t>((q0 & 0xF) | ((q1 & 0xF) << 4));
    qh |= static_cast<uint32_t>((q0 >> 4) & 1) << j;
    qh |= static_cast<uint32_t>((q1 >> 4) & 1) << (j + 16);
  }
  std::memcpy(b->qh, &qh, 4);
}

// ---- K-quants: our own quantizer ----

// Fits x[0, 32) ~ scale * q - min_v with q in [0, nmax], min_v >= 0, by trying a range of
// scales around (max - min) / nmax and refitting (scale, min) by least squares for each
// candidate assignment; keeps the lowest squared error.
void FitScaleMin(const float* x, int nmax, float* scale, float* min_v) {
  float mn, mx;
  MinMax(x, kQK, &mn, &mx);
  mn = std::min(mn, 0.0f);
  if (mx <= mn) {
    *scale = 0.0f;
    *min_v = -mn;
    return;
  }
  float best_err = FLT_MAX, best_s = (mx - mn) / nmax, best_m = -mn;
  for (int step = -8; step <= 8; ++step) {
    const float iscale = (nmax + 0.1f * step) / (mx - mn);
    // Assign q, then least-squares fit x ~ s * q + b with b <= 0.
    int q[kQK];
    double sq = 0, sqq = 0, sx = 0, sxq = 0;
    for (int j = 0; j < kQK; ++j) {
      q[j] = std::clamp(static_cast<int>(std::lround(iscale * (x[j] - mn))), 0, nmax);
      sq += q[j];
      sqq += static_cast<double>(q[j]) * q[j];
      sx += x[j];
      sxq += static_cast<double>(x[j]) * q[j];
    }
    const double det = kQK * sqq - sq * sq;
    if (det <= 0) continue;
    double s = (kQK * sxq - sq * sx) / det;
    double b = (sx - s * sq) / kQK;
    if (b > 0) {  // the minimum must be <= 0: refit the scale alone with b = 0
      b = 0;
      s = sqq > 0 ? sxq / sqq : 0;
    }
    if (s <= 0) continue;
    double err = 0;
    for (int j = 0; j < kQK; ++j) {
      const double e = s * q[j] + b - x[j];
      err += e * e;
    }
    if (err < best_err) {
      best_err = static_cast<float>(err);
      best_s = static_cast<float>(s);
      best_m = static_cast<float>(-b);
    }
  }
  *scale = best_s;
  *min_v = best_m;
}

// Shared Q4_K / Q5_K scale search: fills d, dmin (as F16) and the 6-bit sc/m per sub-block, and
// the final q[256] in [0, nmax].
void QuantKScaleMin(const float* x, int nmax, uint16_t* d16, uint16_t* dmin16, uint8_t* sc,
                    uint8_t* m, uint8_t* q) {
  float scales[8], mins[8];
  float max_scale = 0.0f, max_min = 0.0f;
  for (int j = 0; j < 8; ++j) {
    FitScaleMin(x + 32 * j, nmax, &scales[j], &mins[j]);
    max_scale = std::max(max_scale, scales[j]);
    max_min = std::max(max_min, mins[j]);
  }
  const float inv_scale = max_scale > 0 ? 63.0f / max_scale : 0.0f;
  const float inv_min = max_min > 0 ? 63.0f / max_min : 0.0f;
  for (int j = 0; j < 8; ++j) {
    sc[j] = static_cast<uint8_t>(std::min(63L, std::lround(inv_scale * scales[j])));
    m[j] = static_cast<uint8_t>(std::min(63L, std::lround(inv_min * mins[j])));
  }
  *d16 = F32ToF16(max_scale / 63.0f);
  *dmin16 = F32ToF16(max_min / 63.0f);
  const float d = H(*d16), dmin = H(*dmin16);
  for (int j = 0; j < 8; ++j) {
    const float ds = d * sc[j], dm = dmin * m[j];
    for (int l = 0; l < 32; ++l) {
      const int v = ds > 0 ? static_cast<int>(std::lround((x[32 * j + l] + dm) / ds)) : 0;
      q[32 * j + l] = static_cast<uint8_t>(std::clamp(v, 0, nmax));
    }
  }
}

void QuantQ4_K(const float* x, BlockQ4_K* b) {
  uint8_t sc[8], m[8], q[kQK_K];
  QuantKScaleMin(x, 15, &b->d, &b->dmin, sc, m, q);
  PackScaleMinK4(sc, m, b->scales);
  for (int c = 0; c < 4; ++c) {
    for (int l = 0; l < 32; ++l) {
      b->qs[32 * c + l] = static_cast<uint8_t>(q[64 * c + l] | (q[64 * c + 32 + l] << 4));
    }
  }
}

void QuantQ5_K(const float* x, BlockQ5_K* b) {
  uint8_t sc[8], m[8], q[kQK_K];
  QuantKScaleMin(x, 31, &b->d, &b->dmin, sc, m, q);
  PackScaleMinK4(sc, m, b->scales);
  std::memset(b->qh, 0, sizeof(b->qh));
  for (int c = 0; c < 4; ++c) {
    for (int l = 0; l < 32; ++l) {
      const int lo = q[64 * c + l], hi = q[64 * c + 32 + l];
      b->qs[32 * c + l] = static_cast<uint8_t>((lo & 0xF) | ((hi & 0xF) << 4));
      b->qh[l] |= static_cast<uint8_t>(((lo >> 4) << (2 * c)) | ((hi >> 4) << (2 * c + 1)));
    }
  }
}

// Best scale for x[0, 16) ~ scale * q, q in [-32, 31]: tries iscales around 32 / (signed max)
// and refits the scale by least squares for each assignment; lowest squared error wins.
float FitScaleQ6(const float* x) {
  float amax, max;
  SignedAbsMax(x, 16, &amax, &max);
  if (amax == 0.0f) return 0.0f;
  float best_scale = max / -32.0f;
  double best_err = DBL_MAX;
  for (int step = -9; step <= 9; ++step) {
    const float iscale = -(32.0f + 0.1f * step) / max;
    double sxq = 0, sqq = 0;
    int q[16];
    for (int l = 0; l < 16; ++l) {
      q[l] = std::clamp(static_cast<int>(std::lround(iscale * x[l])), -32, 31);
      sxq += static_cast<double>(x[l]) * q[l];
      sqq += static_cast<double>(q[l]) * q[l];
    }
    if (sqq <= 0) continue;
    const double scale = sxq / sqq;
    double err = 0;
    for (int l = 0; l < 16; ++l) {
      const double e = scale * q[l] - x[l];
      err += e * e;
    }
    if (err < best_err) {
      best_err = err;
      best_scale = static_cast<float>(scale);
    }
  }
  return best_scale;
}

void QuantQ6_K(const float* x, BlockQ6_K* b) {
  // Per 16-element sub-block: a least-squares scale for q in [-32, 31], then the 16 scales
  // themselves as int8 times a super-block d; q refit to the rounded scale.
  float scales[16];
  float max_abs_scale = 0.0f, max_scale = 0.0f;
  for (int j = 0; j < 16; ++j) {
    scales[j] = FitScaleQ6(x + 16 * j);
    if (std::fabs(scales[j]) > max_abs_scale) {
      max_abs_scale = std::fabs(scales[j]);
      max_scale = scales[j];
    }
  }
  const float d = max_scale / -128.0f;
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  b->d = F32ToF16(d);
  const float dh = H(b->d);
  int q[kQK_K];
  for (int j = 0; j < 16; ++j) {
    const int s = std::clamp(static_cast<int>(std::lround(id * scales[j])), -128, 127);
    b->scales[j] = static_cast<int8_t>(s);
    const float ds = dh * s;
    for (int l = 0; l < 16; ++l) {
      const int v = ds != 0.0f ? static_cast<int>(std::lround(x[16 * j + l] / ds)) : 0;
      q[16 * j + l] = std::clamp(v, -32, 31) + 32;
    }
  }
  for (int h = 0; h < 2; ++h) {
    uint8_t* ql = b->ql + 64 * h;
    uint8_t* qh = b->qh + 32 * h;
    const int* qq = q + 128 * h;
    for (int l = 0; l < 32; ++l) {
      ql[l] = static_cast<uint8_t>((qq[l] & 0xF) | ((qq[l + 64] & 0xF) << 4));
      ql[l + 32] = static_cast<uint8_t>((qq[l + 32] & 0xF) | ((qq[l + 96] & 0xF) << 4));
      qh[l] = static_cast<uint8_t>((qq[l] >> 4) | ((qq[l + 32] >> 4) << 2) |
                                   ((qq[l + 64] >> 4) << 4) | ((qq[l + 96] >> 4) << 6));
    }
  }
}

// ---- scalar dequantizers ----

void DeqQ8_0(const BlockQ8_0& b, float* y) {
  const float d = H(b.d);
  for (int j = 0; j < kQK; ++j) y[j] = b.qs[j] * d;
}
void DeqQ8_1(const BlockQ8_1& b, float* y) {
  const float d = H(b.d);
  for (int j = 0; j < kQK; ++j) y[j] = b.qs[j] * d;
}
void DeqQ4_0(const BlockQ4_0& b, float* y) {
  const float d = H(b.d);
  for (int j = 0; j < kQK / 2; ++j) {
    y[j] = ((b.qs[j] & 0xF) - 8) * d;
    y[j + 16] = ((b.qs[j] >> 4) - 8) * d;
  }
}
void DeqQ4_1(const BlockQ4_1& b, float* y) {
  const float d = H(b.d), m = H(b.m);
  for (int j = 0; j < kQK / 2; ++j) {
    y[j] = (b.qs[j] & 0xF) * d + m;
    y[j + 16] = (b.qs[j] >> 4) * d + m;
  }
}
void DeqQ5_0(const BlockQ5_0& b, float* y) {
  const float d = H(b.d);
  uint32_t qh;
  std::memcpy(&qh, b.qh, 4);
  for (int j = 0; j < kQK / 2; ++j) {
    const int h0 = ((qh >> j) & 1) << 4, h1 = ((qh >> (j + 16)) & 1) << 4;
    y[j] = (((b.qs[j] & 0xF) | h0) - 16) * d;
    y[j + 16] = (((b.qs[j] >> 4) | h1) - 16) * d;
  }
}
void DeqQ5_1(const BlockQ5_1& b, float* y) {
  const float d = H(b.d), m = H(b.m);
  uint32_t qh;
  std::memcpy(&qh, b.qh, 4);
  for (int j = 0; j < kQK / 2; ++j) {
    const int h0 = ((qh >> j) & 1) << 4, h1 = ((qh >> (j + 16)) & 1) << 4;
    y[j] = ((b.qs[j] & 0xF) | h0) * d + m;
    y[j + 16] = ((b.qs[j] >> 4) | h1) * d + m;
  }
}
void DeqQ4_K(const BlockQ4_K& b, float* y) {
  const float d = H(b.d), dmin = H(b.dmin);
  for (int c = 0; c < 4; ++c) {
    uint8_t sc, m;
    GetScaleMinK4(2 * c, b.scales, &sc, &m);
    const float d1 = d * sc, m1 = dmin * m;
    GetScaleMinK4(2 * c + 1, b.scales, &sc, &m);
    const float d2 = d * sc, m2 = dmin * m;
    const uint8_t* q = b.qs + 32 * c;
    for (int l = 0; l < 32; ++l) y[64 * c + l] = d1 * (q[l] & 0xF) - m1;
    for (int l = 0; l < 32; ++l) y[64 * c + 32 + l] = d2 * (q[l] >> 4) - m2;
  }
}
void DeqQ5_K(const BlockQ5_K& b, float* y) {
  const float d = H(b.d), dmin = H(b.dmin);
  for (int c = 0; c < 4; ++c) {
    uint8_t sc, m;
    GetScaleMinK4(2 * c, b.scales, &sc, &m);
    const float d1 = d * sc, m1 = dmin * m;
    GetScaleMinK4(2 * c + 1, b.scales, &sc, &m);
    const float d2 = d * sc, m2 = dmin * m;
    const uint8_t* q = b.qs + 32 * c;
    for (int l = 0; l < 32; ++l) {
      y[64 * c + l] = d1 * ((q[l] & 0xF) + (((b.qh[l] >> (2 * c)) & 1) << 4)) - m1;
    }
    for (int l = 0; l < 32; ++l) {
      y[64 * c + 32 + l] = d2 * ((q[l] >> 4) + (((b.qh[l] >> (2 * c + 1)) & 1) << 4)) - m2;
    }
  }
}
void DeqQ6_K(const BlockQ6_K& b, float* y) {
  const float d = H(b.d);
  for (int h = 0; h < 2; ++h) {
    const uint8_t* ql = b.ql + 64 * h;
    const uint8_t* qh = b.qh + 32 * h;
    const int8_t* sc = b.scales + 8 * h;
    float* yh = y + 128 * h;
    for (int l = 0; l < 32; ++l) {
      const int is = l / 16;
      const int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
      const int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
      const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
      const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
      yh[l] = d * sc[is] * q1;
      yh[l + 32] = d * sc[is + 2] * q2;
      yh[l + 64] = d * sc[is + 4] * q3;
      yh[l + 96] = d * sc[is + 6] * q4;
    }
  }
}
void DeqQ8_K(const BlockQ8_K& b, float* y) {
  for (int j = 0; j < kQK_K; ++j) y[j] = b.d * b.qs[j];
}

template <class Block, class Fn>
void ForBlocks(const void* src, int64_t n, float* dst, int bs, Fn fn) {
  const auto* blocks = static_cast<const Block*>(src);
  for (int64_t i = 0; i < n / bs; ++i) fn(blocks[i], dst + i * bs);
}

template <class Block, class Fn>
void QuantBlocks(const float* src, int64_t n, void* dst, int bs, Fn fn) {
  auto* blocks = static_cast<Block*>(dst);
  for (int64_t i = 0; i < n / bs; ++i) fn(src + i * bs, &blocks[i]);
}

}  // namespace

void QuantizeRow(DType dtype, const float* src, int64_t n, void* dst) {
  const int bs = GetDTypeInfo(dtype).block_size;
  MAMBA_CHECK(n % bs == 0, "QuantizeRow: %lld not a multiple of %d", static_cast<long long>(n), bs);
  switch (dtype) {
    case DType::kQ8_0:
      return QuantBlocks<BlockQ8_0>(src, n, dst, bs, QuantQ8_0);
    case DType::kQ4_0:
      return QuantBlocks<BlockQ4_0>(src, n, dst, bs, QuantQ4_0);
    case DType::kQ4_1:
      return QuantBlocks<BlockQ4_1>(src, n, dst, bs, QuantQ4_1);
    case DType::kQ5_0:
      return QuantBlocks<BlockQ5_0>(src, n, dst, bs, QuantQ5_0);
    case DType::kQ5_1:
      return QuantBlocks<BlockQ5_1>(src, n, dst, bs, QuantQ5_1);
    case DType::kQ4_K:
      return QuantBlocks<BlockQ4_K>(src, n, dst, bs, QuantQ4_K);
    case DType::kQ5_K:
      return QuantBlocks<BlockQ5_K>(src, n, dst, bs, QuantQ5_K);
    case DType::kQ6_K:
      return QuantBlocks<BlockQ6_K>(src, n, dst, bs, QuantQ6_K);
    default:
      break;
  }
  MAMBA_CHECK(false, "QuantizeRow: %s is not a stored quantized type", DTypeName(dtype).data());
}

void DequantizeRowRef(DType dtype, const void* src, int64_t n, float* dst) {
  const int bs = GetDTypeInfo(dtype).block_size;
  MAMBA_CHECK(n % bs == 0, "DequantizeRowRef: %lld not a multiple of %d", static_cast<long long>(n),
              bs);
  switch (dtype) {
    case DType::kQ8_0:
      return ForBlocks<BlockQ8_0>(src, n, dst, bs, DeqQ8_0);
    case DType::kQ4_0:
      return ForBlocks<BlockQ4_0>(src, n, dst, bs, DeqQ4_0);
    case DType::kQ4_1:
      return ForBlocks<BlockQ4_1>(src, n, dst, bs, DeqQ4_1);
    case DType::kQ5_0:
      return ForBlocks<BlockQ5_0>(src, n, dst, bs, DeqQ5_0);
    case DType::kQ5_1:
      return ForBlocks<BlockQ5_1>(src, n, dst, bs, DeqQ5_1);
    case DType::kQ4_K:
      return ForBlocks<BlockQ4_K>(src, n, dst, bs, DeqQ4_K);
    case DType::kQ5_K:
      return ForBlocks<BlockQ5_K>(src, n, dst, bs, DeqQ5_K);
    case DType::kQ6_K:
      return ForBlocks<BlockQ6_K>(src, n, dst, bs, DeqQ6_K);
    case DType::kQ8_1:
      return ForBlocks<BlockQ8_1>(src, n, dst, bs, DeqQ8_1);
    case DType::kQ8_K:
      return ForBlocks<BlockQ8_K>(src, n, dst, bs, DeqQ8_K);
    default:
      break;
  }
  MAMBA_CHECK(false, "DequantizeRowRef: %s is not quantized", DTypeName(dtype).data());
}

DType QuantFallback(DType want, int64_t cols) {
  if (!IsQuantized(want)) return want;
  if (cols % GetDTypeInfo(want).block_size == 0) return want;
  DType alt = DType::kF16;
  if (want == DType::kQ4_K) alt = DType::kQ5_0;
  if (want == DType::kQ5_K) alt = DType::kQ5_1;
  if (want == DType::kQ6_K) alt = DType::kQ8_0;
  return cols % GetDTypeInfo(alt).block_size == 0 ? alt : DType::kF16;
}

}  // namespace mamba
