// SPDX-License-Identifier: MIT
// Optional BLAS path for F32 matrix-matrix products (built only with -DMAMBA_BLAS=...): the
// output rows (weight rows) are split across the pool as in the built-in kernel, and each range
// is one single-threaded cblas_sgemm, so -t keeps meaning the number of threads.
#include <mutex>

#if defined(MAMBA_BLAS_MKL)
#include <mkl.h>
#elif defined(MAMBA_BLAS_ACCELERATE)
#include <Accelerate/Accelerate.h>
#else
#include <cblas.h>
#endif

#include "kernels/matmul_internal.h"

#if defined(MAMBA_BLAS_OPENBLAS)
extern "C" void openblas_set_num_threads(int num_threads);
#elif defined(MAMBA_BLAS_BLIS)
extern "C" void bli_thread_set_num_threads(long n_threads);
#endif

namespace mamba::kernels_internal {

void MatMulBlasF32(const WeightMatrix& w, const float* x, int64_t x_stride, int64_t n, float* y,
                   int64_t y_stride, ThreadPool* pool) {
  static std::once_flag once;
  std::call_once(once, [] {
#if defined(MAMBA_BLAS_OPENBLAS)
    openblas_set_num_threads(1);
#elif defined(MAMBA_BLAS_BLIS)
    bli_thread_set_num_threads(1);
#elif defined(MAMBA_BLAS_MKL)
    mkl_set_num_threads(1);
#endif
  });
  const float* wd = static_cast<const float*>(w.data);  // [rows, cols]
  const int64_t cols = w.cols;
  // y[0:n, r0:r1] = x[0:n, :] * W[r0:r1, :]^T
  ParallelForOrInline(pool, w.rows, 64, [&](int64_t r0, int64_t r1) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(n),
                static_cast<int>(r1 - r0), static_cast<int>(cols), 1.0f, x,
                static_cast<int>(x_stride), wd + r0 * cols, static_cast<int>(cols), 0.0f, y + r0,
                static_cast<int>(y_stride));
  });
}

}  // namespace mamba::kernels_internal
