// SPDX-License-Identifier: MIT
// Block quantization of weight rows into ggml's formats (Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K,
// Q5_K, Q6_K) and dequantization back to F32. Dequantization is bit-exact with ggml's; the
// *_0 / *_1 quantizers reproduce ggml's reference rounding (`quantize_row_*_ref`), so files we
// write match llama-quantize's byte for byte; the K-quant quantizers are our own search of
// comparable quality (not byte-identical).
#pragma once

#include <cstdint>

#include "base/dtype.h"

namespace mamba {

// Quantizes `n` F32 values (n a multiple of the block size, checked) into `dst`
// (DTypeRowBytes(dtype, n) bytes). dtype must be a stored quantized type (not Q8_1 / Q8_K).
void QuantizeRow(DType dtype, const float* src, int64_t n, void* dst);

// Scalar reference dequantization of `n` elements (a multiple of the block size) of any
// quantized dtype (including Q8_1 / Q8_K) into F32. ConvertToF32 is its SIMD twin (bit-exact).
void DequantizeRowRef(DType dtype, const void* src, int64_t n, float* dst);

// The type a row of `cols` elements is stored in when `want` is requested, as llama-quantize
// does: `want` if cols is a multiple of its block size, else Q4_K -> Q5_0, Q5_K -> Q5_1,
// Q6_K -> Q8_0 when cols % 32 == 0, else F16. llama-quantize aborts for the 32-element types
// (no fallback defined); we return F16, which is what its K-quant fallback produces and what
// the reference files use (`--tensor-type ssm_dt=f16`). Plain types are returned unchanged.
DType QuantFallback(DType want, int64_t cols);

}  // namespace mamba
