// SPDX-License-Identifier: MIT
// Shared pieces of the quantized MatMul (quant_matmul.cc) and its scalar twin
// (quant_matmul_ref.cc): the activation formats ggml-cpu pairs with each weight type, the
// activation quantizer, and the integer form a weight row is decoded to. Internal to src/kernels.
//
// Every product is computed as ggml does: activations are quantized on the fly to 8-bit blocks
// (Q8_0 for Q8_0/Q4_0/Q5_0 weights, Q8_1 for Q4_1/Q5_1, Q8_K for K-quants), weights are decoded
// to small integers, and each block's integer dot product is scaled by the two block scales.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "base/cpu_vendor.h"
#include "base/dtype.h"
#include "kernels/matmul.h"
#include "threading/thread_pool.h"

namespace mamba::kernels_internal {

// How a decoded weight row combines with its activation row (see DotQuantRef).
enum class QuantKind : uint8_t {
  kSym32,  // Q8_0/Q4_0/Q5_0 x Q8_0: sum_b dw_b dx_b isum_b
  kMin32,  // Q4_1/Q5_1 x Q8_1: sum_b (dw_b dx_b isum_b + mw_b sx_b)
  kKMin,   // Q4_K/Q5_K x Q8_K: sum_B dw_B dx_B isum_B - mw_B dx_B sum_j mins_j bsum_j
  kKSym,   // Q6_K x Q8_K: sum_B dw_B dx_B isum_B
};

QuantKind QuantKindOf(DType weight_dtype);
// Elements per scale group: 32 for the *_0 / *_1 kinds, 256 for the K kinds.
inline int64_t QuantGroup(QuantKind k) {
  return k == QuantKind::kSym32 || k == QuantKind::kMin32 ? 32 : 256;
}

// `n` quantized activation rows of `cols` elements. Row i: q[i * cols + c] the 8-bit value
// widened to int16 (the decoded-row dot), q8[i * cols + c] the same value as int8 (the x86
// u8 x s8 dot); d[i * groups + g] the group scale as ggml uses it (Q8_0/Q8_1: F16-rounded; Q8_K:
// F32); s[...] (kMin32 only): F16(d_f32 * sum q) as F32; qsum[i * cols / 32 + k]: sums of 32
// consecutive q's (every kind); bsum[i * cols / 16 + k] (K kinds only): sums of 16.
struct QuantActs {
  std::vector<int16_t> q;
  std::vector<int8_t> q8;
  std::vector<float> d, s;
  std::vector<int32_t> qsum, bsum;
};

// Quantizes rows x[i * x_stride, + cols), i < n, as ggml-cpu quantizes mat-mul inputs for weights
// of `kind`: Q8_0/Q8_1: per 32, d = amax / 127 (stored F16), q = round-half-even(x * (127 / amax));
// Q8_1 adds s = F16(d * sum q) with the unrounded d. Q8_K: per 256, iscale = -127 / (signed
// max |x|), q = min(127, round-half-even(iscale * x)), d = 1 / iscale (F32).
void QuantizeActs(QuantKind kind, const float* x, int64_t x_stride, int64_t n, int64_t cols,
                  QuantActs* out);

// QuantizeActs with SIMD where the dispatched target has it (x86 AVX2 and up); identical output.
void QuantizeActsFast(QuantKind kind, const float* x, int64_t x_stride, int64_t n, int64_t cols,
                      QuantActs* out);

// A weight row decoded to integers: q[c] is the effective integer weight (Q4_0/Q5_0: value -
// offset; *_1: unsigned value; K kinds: sub-block scale * value (Q6_K: value - 32)), d[g] the
// group scale (F32 of the F16 d), m[g] the group minimum (*_1: m; Q4_K/Q5_K: dmin), mins[j]
// the 6-bit minimum of each 32-element sub-block (Q4_K/Q5_K).
struct DecodedRow {
  int16_t* q;
  float* d;
  float* m;
  int16_t* mins;
};

// Scalar decode of one stored row of `cols` elements (the SIMD decode must match it exactly).
void DecodeRowRef(DType dtype, const void* row, int64_t cols, const DecodedRow& out);

// Scalar dot product of a decoded weight row and activation row `x_row` of `x`: integer block
// sums, then F32 scaling and accumulation in group order.
float DotQuantRef(QuantKind kind, const DecodedRow& w, const QuantActs& x, int64_t x_row,
                  int64_t cols);

// MatMul / MatMulRef for quantized weight dtypes (same contract as MatMul).
void QuantMatMul(const WeightMatrix& w, const float* x, int64_t x_stride, int64_t n, float* y,
                 int64_t y_stride, ThreadPool* pool);
void QuantMatMulRef(const WeightMatrix& w, const float* x, int64_t x_stride, int64_t n, float* y,
                    int64_t y_stride);

// How far ahead of its reads (bytes) a quantized decode kernel on x86 prefetches weights into
// L2 (weight mappings may be 4 KiB pages, where the hardware prefetchers stop at each page);
// regrouped Q8_0 rows have their own distance, 0 for none. The best values differ by core (see
// ChooseQuantPrefetch in quant_matmul.cc for the measurements), so they are chosen once per
// process from the CPU vendor.
struct QuantPrefetch {
  size_t bytes_ahead;
  size_t grouped_q8_0_bytes_ahead;
};
QuantPrefetch ChooseQuantPrefetch(CpuVendor vendor);
inline const QuantPrefetch kQuantPrefetch = ChooseQuantPrefetch(GetCpuVendor());

// Highway target name the quantized MatMul dispatches to now (it also compiles AVX3_DL, which
// the other kernels do not).
const char* QuantKernelTargetName();

// SIMD dequantization of `n` elements of a quantized dtype (bit-exact with DequantizeRowRef).
void DequantizeRow(DType dtype, const void* src, int64_t n, float* dst);

}  // namespace mamba::kernels_internal
