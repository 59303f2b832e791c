// SPDX-License-Identifier: MIT
// Quantized types: known-answer blocks written from ggml's documented layouts, quantize ->
// dequantize round trips, scalar vs SIMD dequantization (bit-exact) and quantized MatMul vs
// MatMulRef and a double-precision product (every Highway target).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "base/dtype.h"
#include "kernels/kernel_test_util.h"
#include "kernels/matmul.h"
#include "kernels/quant_blocks.h"
#include "kernels/quant_internal.h"
#include "kernels/quant_test_util.h"
#include "kernels/quantize.h"
#include "threading/thread_pool.h"

namespace mamba {
namespace {

using kernels_test::ForEachQuantTarget;
using kernels_test::RandomVec;

constexpr DType kStored[] = {DType::kQ8_0, DType::kQ4_0, DType::kQ4_1, DType::kQ5_0,
                             DType::kQ5_1, DType::kQ4_K, DType::kQ5_K, DType::kQ6_K};

// Dequantizes one block with the reference and with ConvertToF32 on every target; the two must
// agree bit for bit. Returns the reference values.
std::vector<float> DequantAll(DType dtype, const void* block) {
  const int bs = GetDTypeInfo(dtype).block_size;
  std::vector<float> ref(bs);
  DequantizeRowRef(dtype, block, bs, ref.data());
  ForEachQuantTarget([&](const std::string&) {
    std::vector<float> got(bs, -7.0f);
    ConvertToF32(dtype, block, bs, got.data());
    EXPECT_EQ(std::memcmp(got.data(), ref.data(), bs * sizeof(float)), 0) << DTypeName(dtype);
  });
  return ref;
}

// ---- known-answer blocks (bytes written by hand from the layout description) ----

TEST(QuantKnownAnswerTest, Q8_0) {
  uint8_t b[34] = {0x00, 0x38};  // d = 0.5
  for (int j = 0; j < 32; ++j) b[2 + j] = static_cast<uint8_t>(static_cast<int8_t>(j - 16));
  b[2 + 31] = 0x80;  // -128
  const auto y = DequantAll(DType::kQ8_0, b);
  EXPECT_EQ(y[0], -8.0f);
  EXPECT_EQ(y[17], 0.5f);
  EXPECT_EQ(y[31], -64.0f);
}

TEST(QuantKnownAnswerTest, Q4_0) {
  uint8_t b[18] = {0x00, 0x40};  // d = 2
  b[2 + 0] = 0x1F;               // x[0] = (15 - 8) * 2, x[16] = (1 - 8) * 2
  b[2 + 5] = 0x80;               // x[5] = -16, x[21] = 0
  const auto y = DequantAll(DType::kQ4_0, b);
  EXPECT_EQ(y[0], 14.0f);
  EXPECT_EQ(y[16], -14.0f);
  EXPECT_EQ(y[5], -16.0f);
  EXPECT_EQ(y[21], 0.0f);
  EXPECT_EQ(y[1], -16.0f);
}

TEST(QuantKnownAnswerTest, Q4_1) {
  uint8_t b[20] = {0x00, 0x3C, 0x00, 0xC0};  // d = 1, m = -2
  b[4 + 3] = 0xA5;
  const auto y = DequantAll(DType::kQ4_1, b);
  EXPECT_EQ(y[3], 3.0f);   // 5 * 1 - 2
  EXPECT_EQ(y[19], 8.0f);  // 10 * 1 - 2
  EXPECT_EQ(y[0], -2.0f);
}

TEST(QuantKnownAnswerTest, Q5_0) {
  uint8_t b[22] = {0x00, 0x3C};  // d = 1
  const uint32_t qh = (1u << 3) | (1u << 19) | (1u << 31);
  std::memcpy(b + 2, &qh, 4);
  b[6 + 3] = 0xA5;
  const auto y = DequantAll(DType::kQ5_0, b);
  EXPECT_EQ(y[3], 5.0f);    // (5 | 16) - 16
  EXPECT_EQ(y[19], 10.0f);  // (10 | 16) - 16
  EXPECT_EQ(y[4], -16.0f);
  EXPECT_EQ(y[31], 0.0f);  // (0 | 16) - 16
}

TEST(QuantKnownAnswerTest, Q5_1) {
  uint8_t b[24] = {0x00, 0x38, 0x00, 0x3C};  // d = 0.5, m = 1
  const uint32_t qh = 1u;                    // high bit of element 0 only
  std::memcpy(b + 4, &qh, 4);
  b[8 + 0] = 0xF1;
  const auto y = DequantAll(DType::kQ5_1, b);
  EXPECT_EQ(y[0], 9.5f);   // 17 * 0.5 + 1
  EXPECT_EQ(y[16], 8.5f);  // 15 * 0.5 + 1
  EXPECT_EQ(y[1], 1.0f);
}

// Q4_K / Q5_K scales: sub-block 0 sc 3, m 4; sub-block 5 sc 37, m 18 (split 4 + 2 bits).
void FillKScales(uint8_t* b) {
  b[0] = 0x00, b[1] = 0x3C;  // d = 1
  b[2] = 0x00, b[3] = 0x38;  // dmin = 0.5
  uint8_t* s = b + 4;
  s[0] = 3;     // sc0
  s[4] = 4;     // m0
  s[9] = 0x25;  // sc5 low 4 bits 5 | m5 low 4 bits 2 << 4
  s[1] = 0x80;  // sc5 >> 4 = 2 in bits 6..7, sc1 = 0
  s[5] = 0x40;  // m5 >> 4 = 1 in bits 6..7, m1 = 0
}

TEST(QuantKnownAnswerTest, Q4_K) {
  uint8_t b[144] = {};
  FillKScales(b);
  b[16 + 0] = 0x07;       // x[0]: sub-block 0, low nibble 7
  b[16 + 64 + 1] = 0x90;  // x[161]: chunk 2 high nibble -> sub-block 5, value 9
  const auto y = DequantAll(DType::kQ4_K, b);
  EXPECT_EQ(y[0], 19.0f);     // 1 * 3 * 7 - 0.5 * 4
  EXPECT_EQ(y[1], -2.0f);     // 0 - 0.5 * 4
  EXPECT_EQ(y[161], 324.0f);  // 37 * 9 - 0.5 * 18
  EXPECT_EQ(y[40], 0.0f);     // sub-block 1: sc 0, m 0
}

TEST(QuantKnownAnswerTest, Q5_K) {
  uint8_t b[176] = {};
  FillKScales(b);
  b[16 + 1] = 1u << 5;  // qh[1] bit 5: 5th bit of x[64 * 2 + 32 + 1]
  b[48 + 0] = 0x07;
  b[48 + 64 + 1] = 0x90;
  const auto y = DequantAll(DType::kQ5_K, b);
  EXPECT_EQ(y[0], 19.0f);
  EXPECT_EQ(y[161], 916.0f);  // 37 * (9 + 16) - 9
  EXPECT_EQ(y[160], -9.0f);   // sub-block 5, value 0: 0 - 0.5 * 18
  EXPECT_EQ(y[129], 0.0f);    // sub-block 4: sc4 = m4 = 0 (only their high bits were shared)
}

TEST(QuantKnownAnswerTest, Q6_K) {
  uint8_t b[210] = {};
  b[208] = 0x00, b[209] = 0x34;  // d = 0.25
  b[192 + 0] = static_cast<uint8_t>(-2);
  b[192 + 13] = 5;
  b[0] = 0x0A;         // x[0]: low 10
  b[128] = 0x02;       // x[0]: high 2 -> q = 42
  b[80] = 0x30;        // x[208] (h 1, k 2, l 16): ql[64 + 16] high nibble 3
  b[128 + 48] = 0x30;  // qh[32 + 16] bits 4..5 = 3 -> q = 51
  const auto y = DequantAll(DType::kQ6_K, b);
  EXPECT_EQ(y[0], -5.0f);     // 0.25 * -2 * (42 - 32)
  EXPECT_EQ(y[208], 23.75f);  // 0.25 * 5 * (51 - 32)
  EXPECT_EQ(y[1], 16.0f);     // 0.25 * -2 * (0 - 32)
}

// ---- round trips ----

TEST(QuantRoundTripTest, ErrorBoundsPerType) {
  std::mt19937 rng(7);
  const int64_t n = 256 * 64;
  const std::vector<float> x = RandomVec(rng, n, -1.0f, 1.0f);
  struct Bound {
    DType dtype;
    double rmse;  // uniform [-1, 1): ~ step / sqrt(12); bound = measured x 1.15
  };
  // Measured: Q8_0 .00216, Q4_0 .0376, Q4_1 .0352, Q5_0 .0181, Q5_1 .0169, Q4_K .0318,
  // Q5_K .0159, Q6_K .0075 (Q4_1 step 2/15 -> .0385 expected).
  const Bound bounds[] = {{DType::kQ8_0, 0.0025}, {DType::kQ4_0, 0.043},  {DType::kQ4_1, 0.040},
                          {DType::kQ5_0, 0.021},  {DType::kQ5_1, 0.0195}, {DType::kQ4_K, 0.0365},
                          {DType::kQ5_K, 0.0183}, {DType::kQ6_K, 0.0097}};
  for (const Bound& b : bounds) {
    std::vector<uint8_t> q(DTypeRowBytes(b.dtype, n));
    QuantizeRow(b.dtype, x.data(), n, q.data());
    std::vector<float> y(n);
    DequantizeRowRef(b.dtype, q.data(), n, y.data());
    double se = 0, max_err = 0;
    for (int64_t i = 0; i < n; ++i) {
      se += (y[i] - x[i]) * (y[i] - x[i]);
      max_err = std::max(max_err, static_cast<double>(std::fabs(y[i] - x[i])));
    }
    const double rmse = std::sqrt(se / n);
    std::printf("%s round trip: rmse %.5f max %.5f\n", DTypeName(b.dtype).data(), rmse, max_err);
    EXPECT_LE(rmse, b.rmse) << DTypeName(b.dtype);
    EXPECT_LE(max_err, 4 * b.rmse) << DTypeName(b.dtype);
    ForEachQuantTarget([&](const std::string&) {
      std::vector<float> z(n);
      ConvertToF32(b.dtype, q.data(), n, z.data());
      EXPECT_EQ(std::memcmp(z.data(), y.data(), n * sizeof(float)), 0) << DTypeName(b.dtype);
    });
  }
}

TEST(QuantRoundTripTest, ZerosAndConstantsStayExact) {
  for (DType dtype : kStored) {
    const int bs = GetDTypeInfo(dtype).block_size;
    std::vector<float> zeros(bs, 0.0f);
    std::vector<uint8_t> q(DTypeRowBytes(dtype, bs));
    QuantizeRow(dtype, zeros.data(), bs, q.data());
    std::vector<float> y(bs, 1.0f);
    DequantizeRowRef(dtype, q.data(), bs, y.data());
    for (float v : y) EXPECT_EQ(v, 0.0f) << DTypeName(dtype);
  }
}

TEST(QuantFallbackTest, FollowsLlamaQuantize) {
  EXPECT_EQ(QuantFallback(DType::kQ4_K, 512), DType::kQ4_K);
  EXPECT_EQ(QuantFallback(DType::kQ4_K, 96), DType::kQ5_0);
  EXPECT_EQ(QuantFallback(DType::kQ5_K, 96), DType::kQ5_1);
  EXPECT_EQ(QuantFallback(DType::kQ6_K, 160), DType::kQ8_0);
  EXPECT_EQ(QuantFallback(DType::kQ6_K, 16), DType::kF16);
  EXPECT_EQ(QuantFallback(DType::kQ8_0, 48), DType::kF16);
  EXPECT_EQ(QuantFallback(DType::kBF16, 5), DType::kBF16);
}

// ---- quantized MatMul ----

// A random [rows, cols] matrix quantized to `dtype`, and its dequantized values.
struct QWeights {
  std::vector<uint8_t> bytes;
  std::vector<float> deq;
  WeightMatrix view(DType dtype, int64_t rows, int64_t cols) const {
    return WeightMatrix{dtype, bytes.data(), rows, cols};
  }
};

QWeights MakeQWeights(std::mt19937& rng, DType dtype, int64_t rows, int64_t cols) {
  QWeights w;
  const std::vector<float> f = RandomVec(rng, rows * cols, -1.0f, 1.0f);
  const size_t rb = DTypeRowBytes(dtype, cols);
  w.bytes.resize(rb * rows);
  w.deq.resize(rows * cols);
  for (int64_t r = 0; r < rows; ++r) {
    QuantizeRow(dtype, f.data() + r * cols, cols, w.bytes.data() + r * rb);
    DequantizeRowRef(dtype, w.bytes.data() + r * rb, cols, w.deq.data() + r * cols);
  }
  return w;
}

// y vs MatMulRef (same integers, F32 summation order only) and vs the double product of the
// dequantized weights and the dequantized quantized activations (Q8_1's F16 block sum aside).
void CheckQuant(DType dtype, const QWeights& w, int64_t rows, int64_t cols,
                const std::vector<float>& x, int64_t x_stride, int64_t n,
                const std::vector<float>& y, const std::vector<float>& y_ref, int64_t y_stride) {
  using kernels_internal::QuantActs;
  using kernels_internal::QuantGroup;
  const auto kind = kernels_internal::QuantKindOf(dtype);
  QuantActs xq;
  kernels_internal::QuantizeActs(kind, x.data(), x_stride, n, cols, &xq);
  const int64_t g = QuantGroup(kind);
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t r = 0; r < rows; ++r) {
      double dot = 0, mag = 0;
      for (int64_t c = 0; c < cols; ++c) {
        const double xv = static_cast<double>(xq.q[i * cols + c]) * xq.d[(i * cols + c) / g];
        dot += xv * w.deq[r * cols + c];
        mag += std::fabs(xv * w.deq[r * cols + c]);
      }
      const double got = y[i * y_stride + r], ref = y_ref[i * y_stride + r];
      ASSERT_LE(std::fabs(got - ref), 1e-5 * mag + 1e-6) << "vs MatMulRef i=" << i << " r=" << r;
      ASSERT_LE(std::fabs(ref - dot), 2e-3 * mag + 1e-5) << "ref vs double i=" << i << " r=" << r;
    }
    for (int64_t r = rows; r < y_stride; ++r) ASSERT_EQ(y[i * y_stride + r], -7.0f);
  }
}

TEST(QuantMatMulTest, MatchesRefAllTargetsShapesTypes) {
  std::mt19937 rng(321);
  ThreadPool pool2(2);
  for (DType dtype : kStored) {
    const int bs = GetDTypeInfo(dtype).block_size;
    for (int64_t blocks : {1, 3, 19}) {
      const int64_t cols = blocks * bs;
      for (int64_t rows : {1, 2, 5, 8, 13, 67}) {
        const QWeights w = MakeQWeights(rng, dtype, rows, cols);
        for (int64_t n : {1, 2, 4, 9}) {
          const int64_t x_stride = cols + (n % 2) * 5;
          const int64_t y_stride = rows + 3;
          const std::vector<float> x = RandomVec(rng, n * x_stride, -1.0f, 1.0f);
          std::vector<float> y_ref(n * y_stride, -7.0f);
          MatMulRef(w.view(dtype, rows, cols), x.data(), x_stride, n, y_ref.data(), y_stride);
          ForEachQuantTarget([&](const std::string&) {
            for (ThreadPool* pool : {static_cast<ThreadPool*>(nullptr), &pool2}) {
              SCOPED_TRACE(testing::Message() << DTypeName(dtype) << " rows=" << rows
                                              << " cols=" << cols << " n=" << n);
              std::vector<float> y(n * y_stride, -7.0f);
              MatMul(w.view(dtype, rows, cols), x.data(), x_stride, n, y.data(), y_stride, pool);
              CheckQuant(dtype, w, rows, cols, x, x_stride, n, y, y_ref, y_stride);
            }
          });
          if (HasFailure()) return;
        }
      }
    }
  }
}

// On x86 AVX2 and up every row count runs the fused decode kernels one activation row at a time,
// so a row's result is bit-identical whatever it is batched with (server batches, prefill vs
// decode). 301 rows: several 64 KiB weight blocks and an odd tail. Other targets tile n > 1
// activation rows in another summation order (checked against MatMulRef above).
TEST(QuantMatMulTest, X86RowsBitIdenticalWhateverTheBatch) {
  std::mt19937 rng(77);
  ThreadPool pool2(2);
  int x86_targets = 0;
  for (DType dtype : kStored) {
    for (int64_t blocks : {19, 2, 5}) {  // (rows of fewer than 8 blocks: a kernel of their own)
      const int64_t cols = blocks * GetDTypeInfo(dtype).block_size, rows = 301;
      const QWeights w = MakeQWeights(rng, dtype, rows, cols);
      const std::vector<float> x = RandomVec(rng, 9 * cols, -1.0f, 1.0f);  // [9, cols]
      ForEachQuantTarget([&](const std::string& target) {
        if (target.rfind("AVX", 0) != 0) return;
        ++x86_targets;
        std::vector<float> alone(9 * rows);
        for (int64_t i = 0; i < 9; ++i) {
          MatMul(w.view(dtype, rows, cols), x.data() + i * cols, cols, 1, alone.data() + i * rows,
                 rows, &pool2);
        }
        for (int64_t n : {2, 5, 9}) {
          SCOPED_TRACE(testing::Message()
                       << DTypeName(dtype) << " cols=" << cols << " " << target << " n=" << n);
          std::vector<float> y(n * rows, -7.0f);
          MatMul(w.view(dtype, rows, cols), x.data(), cols, n, y.data(), rows, &pool2);
          ASSERT_EQ(std::memcmp(y.data(), alone.data(), y.size() * sizeof(float)), 0);
        }
      });
    }
  }
  if (x86_targets == 0) GTEST_SKIP() << "no x86 AVX2+ target on this CPU";
}

// Every scale is +-1 and every partial sum an integer below 2^24, so any F32 summation order is
// exact: the SIMD decode (every target, n == 1 fused kernels and n > 1 tiles) must then equal
// MatMulRef bit for bit, which checks the integer dot products themselves (codes at their
// extremes included: random bytes for every code field).
TEST(QuantMatMulTest, IntegerDotsExactAllTargets) {
  std::mt19937 rng(99);
  std::uniform_int_distribution<int> byte(0, 255), small(-3, 3), scale6k(-16, 16);
  for (DType dtype : kStored) {
    const int bs = GetDTypeInfo(dtype).block_size;
    const size_t bb = GetDTypeInfo(dtype).block_bytes;
    const int64_t cols = (bs == 32 ? 19 : 9) * bs, rows = 11;
    const size_t rb = DTypeRowBytes(dtype, cols);
    std::vector<uint8_t> w(rb * rows);
    for (auto& v : w) v = static_cast<uint8_t>(byte(rng));
    const uint16_t one = 0x3C00;  // F16 1.0
    for (size_t off = 0; off < w.size(); off += bb) {
      uint8_t* blk = w.data() + off;
      if (dtype == DType::kQ6_K) {
        std::memcpy(blk + 208, &one, 2);
        for (int j = 0; j < 16; ++j) blk[192 + j] = static_cast<uint8_t>(scale6k(rng));
      } else {
        std::memcpy(blk, &one, 2);
        const bool second = dtype == DType::kQ4_1 || dtype == DType::kQ5_1 ||
                            dtype == DType::kQ4_K || dtype == DType::kQ5_K;
        if (second) std::memcpy(blk + 2, &one, 2);  // m / dmin
      }
    }
    const WeightMatrix wm{dtype, w.data(), rows, cols};
    for (int64_t n : {1, 2, 5}) {
      // Integers in [-3, 3] with one 127 per 32 (amax 127: activation scales +-1).
      std::vector<float> x(n * cols);
      for (int64_t i = 0; i < n * cols; ++i) x[i] = (i % 32 == 7) ? 127.0f : small(rng);
      std::vector<float> y_ref(n * rows);
      MatMulRef(wm, x.data(), cols, n, y_ref.data(), rows);
      ForEachQuantTarget([&](const std::string&) {
        std::vector<float> y(n * rows, -7.0f);
        MatMul(wm, x.data(), cols, n, y.data(), rows, nullptr);
        for (int64_t k = 0; k < n * rows; ++k) {
          ASSERT_EQ(y[k], y_ref[k]) << DTypeName(dtype) << " n=" << n << " k=" << k;
        }
      });
    }
  }
}

TEST(QuantMatMulTest, GatherRowsDequantizesExactly) {
  std::mt19937 rng(11);
  for (DType dtype : kStored) {
    const int64_t cols = 2 * GetDTypeInfo(dtype).block_size, rows = 9;
    const QWeights w = MakeQWeights(rng, dtype, rows, cols);
    const int32_t ids[4] = {8, 0, 3, 8};
    ForEachQuantTarget([&](const std::string&) {
      std::vector<float> out(4 * (cols + 1), -7.0f);
      GatherRows(w.view(dtype, rows, cols), ids, 4, out.data(), cols + 1);
      for (int i = 0; i < 4; ++i) {
        EXPECT_EQ(std::memcmp(out.data() + i * (cols + 1), w.deq.data() + ids[i] * cols,
                              cols * sizeof(float)),
                  0)
            << DTypeName(dtype) << " i=" << i;
        EXPECT_EQ(out[i * (cols + 1) + cols], -7.0f);
      }
    });
  }
}

TEST(QuantMatMulTest, RowsNotAMultipleOfTheBlockAbort) {
  std::vector<uint8_t> bytes(1024);
  std::vector<float> x(300), y(2);
  const WeightMatrix w{DType::kQ4_K, bytes.data(), 1, 288};
  EXPECT_DEATH(MatMul(w, x.data(), 288, 1, y.data(), 1, nullptr), "not a multiple of 256");
  EXPECT_DEATH(MatMulRef(w, x.data(), 288, 1, y.data(), 1), "not a multiple of 256");
  const WeightMatrix w0{DType::kQ8_0, bytes.data(), 1, 48};
  EXPECT_DEATH(MatMul(w0, x.data(), 48, 1, y.data(), 1, nullptr), "not a multiple of 32");
}

// The SIMD activation quantizer (every target) gives exactly the scalar QuantizeActs' output,
// including all-zero groups, ties of the largest magnitude with opposite signs and half-way
// products.
TEST(QuantMatMulTest, SimdActivationQuantizationMatchesScalar) {
  using kernels_internal::QuantActs;
  using kernels_internal::QuantKind;
  std::mt19937 rng(5);
  const int64_t cols = 1024, n = 3, x_stride = cols + 7;
  std::vector<float> x = RandomVec(rng, n * x_stride, -2.0f, 2.0f);
  for (int64_t c = 0; c < 256; ++c) x[x_stride + c] = 0.0f;  // row 1: a zero group (all kinds)
  x[2 * x_stride + 3] = 5.0f;                                // row 2: tie, first one positive
  x[2 * x_stride + 200] = -5.0f;
  x[2 * x_stride + 300] = -6.0f;  // ... and first one negative
  x[2 * x_stride + 400] = 6.0f;
  for (int64_t c = 512; c < 544; ++c) x[2 * x_stride + c] = static_cast<float>(c - 528) * 0.5f;
  for (QuantKind kind :
       {QuantKind::kSym32, QuantKind::kMin32, QuantKind::kKMin, QuantKind::kKSym}) {
    QuantActs ref;
    kernels_internal::QuantizeActs(kind, x.data(), x_stride, n, cols, &ref);
    ForEachQuantTarget([&](const std::string&) {
      QuantActs got;
      kernels_internal::QuantizeActsFast(kind, x.data(), x_stride, n, cols, &got);
      EXPECT_EQ(got.q, ref.q);
      EXPECT_EQ(got.q8, ref.q8);
      EXPECT_EQ(got.qsum, ref.qsum);
      EXPECT_EQ(got.bsum, ref.bsum);
      ASSERT_EQ(got.d.size(), ref.d.size());
      if (!ref.d.empty()) {  // (memcmp of empty vectors' null data() is UB)
        EXPECT_EQ(std::memcmp(got.d.data(), ref.d.data(), ref.d.size() * sizeof(float)), 0);
      }
      ASSERT_EQ(got.s.size(), ref.s.size());
      if (!ref.s.empty()) {
        EXPECT_EQ(std::memcmp(got.s.data(), ref.s.data(), ref.s.size() * sizeof(float)), 0);
      }
    });
  }
}

// The quantized MatMul also compiles AVX3_DL (VNNI); where the CPU has it the tests run it.
TEST(QuantMatMulTest, TargetsIncludeAvx3DlWhereSupported) {
#if HWY_ARCH_X86
  const std::vector<int64_t> targets = hwy::SupportedAndGeneratedTargets();
  const bool listed = std::find(targets.begin(), targets.end(), HWY_AVX3_DL) != targets.end();
  EXPECT_EQ(listed, (hwy::SupportedTargets() & HWY_AVX3_DL) != 0);
#endif
}

// Activation quantization as ggml-cpu: Q8_0 rounds half to even with id = 127 / amax; Q8_K
// uses iscale = -127 / (signed max).
TEST(QuantMatMulTest, ActivationQuantizationMatchesGgmlRules) {
  using kernels_internal::QuantKind;
  std::vector<float> x(256, 0.0f);
  x[0] = 127.0f;  // amax: id = 1
  x[1] = 2.5f;    // half-way: to even -> 2
  x[2] = -3.5f;   // -> -4
  kernels_internal::QuantActs q;
  kernels_internal::QuantizeActs(QuantKind::kSym32, x.data(), 256, 1, 256, &q);
  EXPECT_EQ(q.q[0], 127);
  EXPECT_EQ(q.q[1], 2);
  EXPECT_EQ(q.q[2], -4);
  EXPECT_EQ(q.d[0], 1.0f);
  EXPECT_EQ(q.d[1], 0.0f);  // all-zero block
  kernels_internal::QuantizeActs(QuantKind::kMin32, x.data(), 256, 1, 256, &q);
  EXPECT_EQ(q.s[0], 125.0f);  // d * (127 + 2 - 4)
  x[3] = -254.0f;             // signed max: iscale = -127 / -254 = 0.5
  kernels_internal::QuantizeActs(QuantKind::kKSym, x.data(), 256, 1, 256, &q);
  EXPECT_EQ(q.q[3], -127);
  EXPECT_EQ(q.q[0], 64);  // 63.5 -> even 64
  EXPECT_EQ(q.d[0], 2.0f);
  EXPECT_EQ(q.bsum[0], -127 + 64 + 1 - 2);  // 2.5 * 0.5 = 1.25 -> 1; -3.5 * 0.5 = -1.75 -> -2
}

}  // namespace
}  // namespace mamba
