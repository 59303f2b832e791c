// SPDX-License-Identifier: MIT
// Helpers shared by the MatMul SIMD kernel and its scalar twin: locating a weight row and reading
// one stored weight as F32. Internal to src/kernels.
#pragma once

#include <cstdint>
#include <cstring>

#include "base/dtype.h"
#include "kernels/matmul.h"

namespace mamba::kernels_internal {

// Byte pointer to row r of `w` (rows are contiguous, DTypeRowBytes(dtype, cols) apart).
inline const uint8_t* WeightRow(const WeightMatrix& w, size_t row_bytes, int64_t r) {
  return static_cast<const uint8_t*>(w.data) + static_cast<size_t>(r) * row_bytes;
}

// Element c of a stored row, converted to F32 exactly.
inline float WeightToF32(DType dtype, const uint8_t* row, int64_t c) {
  switch (dtype) {
    case DType::kF32: {
      float v;
      std::memcpy(&v, row + c * 4, 4);
      return v;
    }
    case DType::kF16: {
      uint16_t h;
      std::memcpy(&h, row + c * 2, 2);
      return F16ToF32(h);
    }
    case DType::kBF16: {
      uint16_t b;
      std::memcpy(&b, row + c * 2, 2);
      return BF16ToF32(b);
    }
    default:  // quantized rows are decoded by blocks (quant_internal.h), never element-wise
      break;
  }
  return 0.0f;
}

#if MAMBA_HAVE_BLAS
// Smallest batch (n) that goes to BLAS: the built-in prefill GEMM's threshold (kGemmMinRows in
// matmul_gemm-inl.h), so that products of fewer rows (batched decode, short prompts) keep the
// decode kernels' summation order, hence decode's bits, as in the default build.
inline constexpr int64_t kBlasMinRows = 32;
// F32 product through cblas_sgemm (matmul_blas.cc, built only with -DMAMBA_BLAS=...).
void MatMulBlasF32(const WeightMatrix& w, const float* x, int64_t x_stride, int64_t n, float* y,
                   int64_t y_stride, ThreadPool* pool);
#endif

}  // namespace mamba::kernels_internal
