// SPDX-License-Identifier: MIT
// Weight-times-activation products: the one interface every projection goes through, whatever
// the stored weight type. Activations are F32; weights stay in their stored dtype and are
// converted inside the kernel; accumulation is F32.
#pragma once

#include <cstdint>

#include "base/dtype.h"
#include "threading/thread_pool.h"

namespace mamba {

// How the blocks of a quantized row are arranged in memory (kernels/quant_repack.h).
enum class WeightLayout : uint8_t {
  kGgml,     // as stored in GGUF files: one block after another
  kGroups8,  // each run of 8 whole blocks regrouped for the x86 kernels (same bytes per row)
};

// A stored weight matrix: `rows` output features, each row holds `cols` input features in
// `dtype`, rows contiguous: row r starts at data + r * DTypeRowBytes(dtype, cols).
// A PyTorch Linear weight [out, in] is rows=out, cols=in. Embedding tables are [vocab, d_model].
struct WeightMatrix {
  DType dtype = DType::kF32;
  const void* data = nullptr;
  int64_t rows = 0;
  int64_t cols = 0;
  WeightLayout layout = WeightLayout::kGgml;
};

// y[i, r] = sum_c x[i, c] * W[r, c]  for i in [0, n), r in [0, rows).
// x: [n, cols] F32 with row stride x_stride (elements); y: [n, rows] F32 with row stride y_stride.
// n == 1 is the decode (matrix-vector) case; n > 1 is prefill/batched decode (matrix-matrix).
// Parallel over output rows (and/or n) on `pool` (null = calling thread only). x and y must not
// overlap. Results may differ from MatMulRef by float reassociation only.
// Quantized weight dtypes (Q8_0 ... Q6_K; cols a multiple of the block size): the activations
// are first quantized to 8-bit blocks exactly as ggml-cpu does (Q8_0, Q8_1 for Q4_1/Q5_1, Q8_K
// for K-quants) and each block product is an integer dot product scaled in F32
// (kernels/quant_internal.h); MatMulRef does the same integer math with scalar loops.
void MatMul(const WeightMatrix& w, const float* x, int64_t x_stride, int64_t n, float* y,
            int64_t y_stride, ThreadPool* pool);

// The BLAS library that F32 products of 32 or more input rows go to in this build ("OpenBLAS",
// "BLIS", "MKL", "Accelerate"; -DMAMBA_BLAS=...), or nullptr: the built-in kernels. A BLAS
// product agrees with the built-in one to float rounding; whether its bits depend on the thread
// count or the batch is up to the library.
const char* MatMulBlasName();

// Scalar reference twin of MatMul: plain loops, F32 accumulation in index order.
void MatMulRef(const WeightMatrix& w, const float* x, int64_t x_stride, int64_t n, float* y,
               int64_t y_stride);

// out[i, :] = W[ids[i], :] converted to F32, for i in [0, n). Every id must be < w.rows
// (checked by the caller; DCHECKed here). out: [n, cols] with row stride out_stride.
void GatherRows(const WeightMatrix& w, const int32_t* ids, int64_t n, float* out,
                int64_t out_stride);

// Converts `n` elements of `dtype` at `src` to F32 (used at load for small parameter vectors).
// Quantized dtypes: n must be a multiple of the block size; the result is bit-exact with ggml's
// dequantization.
void ConvertToF32(DType dtype, const void* src, int64_t n, float* dst);

}  // namespace mamba
