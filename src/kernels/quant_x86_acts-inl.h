// SPDX-License-Identifier: MIT
// The x86 (AVX2 / AVX3 / AVX3_DL) activation quantizer used by quant_matmul.cc: QuantizeActs
// with AVX2 instructions, identical values (Q8_0 / Q8_1 blocks of 32, Q8_K of 256 with their
// block sums). Highway per-target header: included from quant_matmul.cc after quant_x86-inl.h.

// Per-target include guard (the Highway toggle idiom).
#if defined(MAMBA_KERNELS_QUANT_X86_ACTS_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef MAMBA_KERNELS_QUANT_X86_ACTS_INL_H_
#undef MAMBA_KERNELS_QUANT_X86_ACTS_INL_H_
#else
#define MAMBA_KERNELS_QUANT_X86_ACTS_INL_H_
#endif

#include <algorithm>
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
