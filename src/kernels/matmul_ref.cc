// SPDX-License-Identifier: MIT
// Scalar reference twin of the MatMul kernel family: plain loops, F32 accumulation in index order.
#include "base/check.h"
#include "kernels/matmul.h"
#include "kernels/matmul_internal.h"
#include "kernels/quant_internal.h"

namespace mamba {

// y[i, r] = sum_{c=0}^{cols-1} x[i, c] * W[r, c]   (torch: y = x @ W.T)
void MatMulRef(const WeightMatrix& w, const float* x, int64_t x_stride, int64_t n, float* y,
               int64_t y_stride) {
  MAMBA_DCHECK(n >= 0 && w.rows >= 0 && w.cols >= 0);
  if (IsQuantized(w.dtype)) return kernels_internal::QuantMatMulRef(w, x, x_stride, n, y, y_stride);
  const size_t row_bytes = DTypeRowBytes(w.dtype, w.cols);
  for (int64_t i = 0; i < n; ++i) {
    const float* xi = x + i * x_stride;  // [cols]
    float* yi = y + i * y_stride;        // [rows]
    for (int64_t r = 0; r < w.rows; ++r) {
      const uint8_t* wr = kernels_internal::WeightRow(w, row_bytes, r);  // [cols] of dtype
      float acc = 0.0f;
      for (int64_t c = 0; c < w.cols; ++c) {
        acc += xi[c] * kernels_internal::WeightToF32(w.dtype, wr, c);
      }
      yi[r] = acc;
    }
  }
}

}  // namespace mamba
