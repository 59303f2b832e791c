// SPDX-License-Identifier: MIT
// MatMul / GatherRows / ConvertToF32 vs the scalar twin and a double-precision dot product, on
// every compiled target, for F32/F16/BF16 weights, odd shapes, padded strides and thread pools.
#include "kernels/matmul.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <random>
#include <vector>

#include "base/dtype.h"
#include "kernels/kernel_test_util.h"
#include "threading/thread_pool.h"

namespace mamba {
namespace {

using kernels_test::ForEachTarget;
using kernels_test::kEps;
using kernels_test::RandomVec;

// A random [rows, cols] matrix stored in `dtype`, plus its exact F32 values.
struct TestWeights {
  DType dtype;
  int64_t rows, cols;
  std::vector<float> f32;     // [rows, cols]: stored values widened (exact)
  std::vector<uint16_t> u16;  // [rows, cols]: F16 or BF16 bits
  WeightMatrix view() const {
    const void* data = dtype == DType::kF32 ? static_cast<const void*>(f32.data())
                                            : static_cast<const void*>(u16.data());
    return WeightMatrix{dtype, data, rows, cols};
  }
};

TestWeights MakeWeights(std::mt19937& rng, DType dtype, int64_t rows, int64_t cols) {
  TestWeights w{dtype, rows, cols, RandomVec(rng, rows * cols, -1.0f, 1.0f), {}};
  if (dtype != DType::kF32) {
    w.u16.resize(w.f32.size());
    for (size_t i = 0; i < w.f32.size(); ++i) {
      w.u16[i] = dtype == DType::kF16 ? F32ToF16(w.f32[i]) : F32ToBF16(w.f32[i]);
      w.f32[i] = dtype == DType::kF16 ? F16ToF32(w.u16[i]) : BF16ToF32(w.u16[i]);
    }
  }
  return w;
}

// Exact products in double: dot[i * rows + r] and mag = sum_c |x_c w_c|.
struct Expected {
  std::vector<double> dot, mag;  // [n, rows]
};

Expected ExactProducts(const TestWeights& w, const std::vector<float>& x, int64_t x_stride,
                       int64_t n) {
  Expected e{std::vector<double>(n * w.rows), std::vector<double>(n * w.rows)};
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t r = 0; r < w.rows; ++r) {
      double dot = 0, mag = 0;
      for (int64_t c = 0; c < w.cols; ++c) {
        const double p = static_cast<double>(x[i * x_stride + c]) * w.f32[r * w.cols + c];
        dot += p;
        mag += std::fabs(p);
      }
      e.dot[i * w.rows + r] = dot;
      e.mag[i * w.rows + r] = mag;
    }
  }
  return e;
}

// Checks y ([n, rows], stride y_stride) against the exact products. Both the kernel and the
// reference sum `cols` products in F32 in some order; the rounding errors behave like a random
// walk, so |error| stays below a few eps * sqrt(cols) * sum_c |x_c w_c|. A single dropped or
// doubled term is ~ sum|x w| / cols, far outside this for cols <= 1000.
void Check(const Expected& e, int64_t rows, int64_t cols, int64_t n, const std::vector<float>& y,
           int64_t y_stride, const char* what, const std::vector<float>* y_ref = nullptr) {
  const double k = 4.0 * kEps * std::sqrt(static_cast<double>(cols) + 1.0);
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t r = 0; r < rows; ++r) {
      const double got = y[i * y_stride + r];
      const double dot = e.dot[i * rows + r], mag = e.mag[i * rows + r];
      ASSERT_LE(std::fabs(got - dot), k * mag + 1e-30)
          << what << " i=" << i << " r=" << r << " got " << got << " want " << dot;
      if (y_ref != nullptr) {  // kernel and reference each within k * mag of the exact value
        ASSERT_LE(std::fabs(got - (*y_ref)[i * y_stride + r]), 2 * k * mag + 1e-30)
            << what << " vs MatMulRef, i=" << i << " r=" << r;
      }
    }
    for (int64_t r = rows; r < y_stride; ++r) {
      ASSERT_EQ(y[i * y_stride + r], -7.0f) << what << ": wrote into the stride padding";
    }
  }
}

// MatMul of w with x ([n, w.cols], stride x_stride) on every compiled target, inline and on
// `pool`, each result ([n, w.rows], stride y_stride) checked against the exact products and
// against y_ref, MatMulRef's result.
void CheckMatMulEveryTarget(const TestWeights& w, const std::vector<float>& x, int64_t x_stride,
                            int64_t n, const Expected& e, const std::vector<float>& y_ref,
                            int64_t y_stride, ThreadPool* pool) {
  ForEachTarget([&](const std::string&) {
    for (ThreadPool* p : {static_cast<ThreadPool*>(nullptr), pool}) {
      SCOPED_TRACE(testing::Message()
                   << DTypeName(w.dtype) << " rows=" << w.rows << " cols=" << w.cols << " n=" << n
                   << " pool=" << (p ? p->num_threads() : 0));
      std::vector<float> y(n * y_stride, -7.0f);
      MatMul(w.view(), x.data(), x_stride, n, y.data(), y_stride, p);
      Check(e, w.rows, w.cols, n, y, y_stride, "MatMul", &y_ref);
    }
  });
}

TEST(MatMulTest, MatchesRefAllTargetsShapesDtypes) {
  std::mt19937 rng(1234);
  ThreadPool pool2(2);
  const int64_t kCols[] = {1, 3, 8, 17, 129, 1000};
  const int64_t kRows[] = {1, 2, 3, 4, 5, 7, 8, 9, 13, 16, 31, 67};
  for (DType dtype : {DType::kF32, DType::kF16, DType::kBF16}) {
    for (int64_t cols : kCols) {
      for (int64_t rows : kRows) {
        const TestWeights w = MakeWeights(rng, dtype, rows, cols);
        for (int64_t n = 1; n <= 9; ++n) {
          const int64_t x_stride = cols + (n % 2) * 5;  // strides wider than the rows
          const int64_t y_stride = rows + 3;
          const std::vector<float> x = RandomVec(rng, n * x_stride, -1.0f, 1.0f);
          std::vector<float> y_ref(n * y_stride, -7.0f);
          MatMulRef(w.view(), x.data(), x_stride, n, y_ref.data(), y_stride);
          const Expected e = ExactProducts(w, x, x_stride, n);
          Check(e, rows, cols, n, y_ref, y_stride, "MatMulRef");
          CheckMatMulEveryTarget(w, x, x_stride, n, e, y_ref, y_stride, &pool2);
          if (HasFailure()) return;
        }
      }
    }
  }
}

// Model-sized products on 3 threads (several parallel chunks per call).
TEST(MatMulTest, LargeShapesWithPool) {
  std::mt19937 rng(99);
  ThreadPool pool3(3);
  for (DType dtype : {DType::kF32, DType::kF16, DType::kBF16}) {
    const TestWeights w = MakeWeights(rng, dtype, 301, 768);
    for (int64_t n : {1, 2, 5, 8, 9, 19, 200}) {  // <= 8: RowsBatch; 200: several L2 blocks
      const std::vector<float> x = RandomVec(rng, n * 770, -1.0f, 1.0f);
      std::vector<float> y_ref(n * 301, -7.0f);
      MatMulRef(w.view(), x.data(), 770, n, y_ref.data(), 301);
      const Expected e = ExactProducts(w, x, 770, n);
      Check(e, 301, 768, n, y_ref, 301, "MatMulRef");
      ForEachTarget([&](const std::string&) {
        SCOPED_TRACE(testing::Message() << DTypeName(dtype) << " n=" << n);
        std::vector<float> y(n * 301, -7.0f);
        MatMul(w.view(), x.data(), 770, n, y.data(), 301, &pool3);
        Check(e, 301, 768, n, y, 301, "MatMul", &y_ref);
      });
    }
  }
}

// A row's result does not depend on the rows it is batched with: every kernel path below the
// GEMM (one weight row per pass, two per pass once the inputs outgrow L1, the dot-product tiles
// for 8 < n < 32) sums each output in the same order, so batched decode and short prefills are
// bit-identical to decoding alone.
// 301 rows (odd: a paired chunk ends in a single row), 1541 columns (a tail), n up to 19.
TEST(MatMulTest, RowsBitIdenticalWhateverTheBatch) {
  std::mt19937 rng(11);
  ThreadPool pool2(2);
  const int64_t rows = 301, cols = 1541;
  for (DType dtype : {DType::kF32, DType::kF16, DType::kBF16}) {
    const TestWeights w = MakeWeights(rng, dtype, rows, cols);
    const std::vector<float> x = RandomVec(rng, 19 * cols, -1.0f, 1.0f);  // [19, cols]
    ForEachTarget([&](const std::string&) {
      std::vector<float> alone(19 * rows);  // [19, rows]: each input row on its own
      for (int64_t i = 0; i < 19; ++i) {
        MatMul(w.view(), x.data() + i * cols, cols, 1, alone.data() + i * rows, rows, &pool2);
      }
      for (int64_t n : {2, 3, 5, 6, 7, 8, 9, 19}) {
        SCOPED_TRACE(testing::Message() << DTypeName(dtype) << " n=" << n);
        std::vector<float> y(n * rows, -7.0f);
        MatMul(w.view(), x.data(), cols, n, y.data(), rows, &pool2);
        ASSERT_EQ(std::memcmp(y.data(), alone.data(), y.size() * sizeof(float)), 0);
      }
    });
  }
}

// The prefill GEMM (n >= 32 input rows): odd shapes (partial weight tiles, partial input
// panels, columns beyond one weight block of 256 and not a multiple of it, strides wider than
// the rows) against the exact products and MatMulRef, on every target, inline and on 2 threads.
TEST(MatMulTest, GemmMatchesRefOddShapes) {
  std::mt19937 rng(4321);
  ThreadPool pool2(2);
  const int64_t kShapes[][2] = {{1, 1}, {13, 3}, {15, 17}, {31, 300}, {67, 129}, {29, 1000}};
  for (DType dtype : {DType::kF32, DType::kF16, DType::kBF16}) {
    for (const auto& [rows, cols] : kShapes) {
      const TestWeights w = MakeWeights(rng, dtype, rows, cols);
      for (int64_t n : {32, 33, 47, 65}) {
        const int64_t x_stride = cols + 5, y_stride = rows + 3;
        const std::vector<float> x = RandomVec(rng, n * x_stride, -1.0f, 1.0f);
        std::vector<float> y_ref(n * y_stride, -7.0f);
        MatMulRef(w.view(), x.data(), x_stride, n, y_ref.data(), y_stride);
        const Expected e = ExactProducts(w, x, x_stride, n);
        CheckMatMulEveryTarget(w, x, x_stride, n, e, y_ref, y_stride, &pool2);
        if (HasFailure()) return;
      }
    }
  }
}

// The GEMM sums each output over the columns in order, one product at a time, so an input row's
// result is bit-identical whatever the batch (n >= 32), its place in it and the thread count.
// (In a BLAS build F32 goes to the library instead, held to float rounding.)
TEST(MatMulTest, GemmRowsBitIdenticalWhateverTheBatchAndThreads) {
  std::mt19937 rng(12);
  ThreadPool pool2(2), pool3(3);
  const int64_t rows = 301, cols = 541;
  for (DType dtype : {DType::kF32, DType::kF16, DType::kBF16}) {
    const TestWeights w = MakeWeights(rng, dtype, rows, cols);
    const std::vector<float> x = RandomVec(rng, 100 * cols, -1.0f, 1.0f);  // [100, cols]
    ForEachTarget([&](const std::string&) {
      std::vector<float> all(100 * rows);  // [100, rows], inline
      MatMul(w.view(), x.data(), cols, 100, all.data(), rows, nullptr);
      for (int64_t first : {0, 3, 40}) {
        for (int64_t n : {32, 33, 60}) {
          for (ThreadPool* pool : {&pool2, &pool3}) {
            SCOPED_TRACE(testing::Message() << DTypeName(dtype) << " rows " << first << ".."
                                            << first + n << " threads=" << pool->num_threads());
            std::vector<float> y(n * rows, -7.0f);
            MatMul(w.view(), x.data() + first * cols, cols, n, y.data(), rows, pool);
            if (dtype == DType::kF32 && MatMulBlasName() != nullptr) {
              // A BLAS build's F32 products: the library promises float rounding, not bits
              // (BLIS's differ with the row split).
              for (size_t i = 0; i < y.size(); ++i) {
                const float want = all[first * rows + i];
                ASSERT_NEAR(y[i], want, 1e-5f * std::max(1.0f, std::fabs(want))) << i;
              }
              continue;
            }
            ASSERT_EQ(std::memcmp(y.data(), all.data() + first * rows, y.size() * sizeof(float)),
                      0);
          }
        }
      }
    });
  }
}

TEST(MatMulTest, ZeroColsGivesZero) {
  const float dummy = 0;
  const WeightMatrix w{DType::kF32, &dummy, 3, 0};
  ForEachTarget([&](const std::string&) {
    float y[6] = {1, 1, 1, 1, 1, 1};
    MatMul(w, &dummy, 0, 2, y, 3, nullptr);
    for (float v : y) EXPECT_EQ(v, 0.0f);
  });
}

// Every one of the 65536 F16 and BF16 bit patterns converts exactly like the scalar conversions
// in base/dtype.h (NaN only has to stay NaN: F16C may quiet a signalling NaN).
TEST(MatMulTest, ConvertToF32AllBitPatterns) {
  std::vector<uint16_t> all(65536 + 5);
  for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<uint16_t>(i);
  ForEachTarget([&](const std::string&) {
    for (DType dtype : {DType::kF16, DType::kBF16}) {
      std::vector<float> out(all.size(), -7.0f);
      ConvertToF32(dtype, all.data(), static_cast<int64_t>(all.size()), out.data());
      for (size_t i = 0; i < all.size(); ++i) {
        const float want = dtype == DType::kF16 ? F16ToF32(all[i]) : BF16ToF32(all[i]);
        if (std::isnan(want)) {
          ASSERT_TRUE(std::isnan(out[i])) << DTypeName(dtype) << " bits " << all[i];
        } else {
          uint32_t a, b;
          std::memcpy(&a, &out[i], 4);
          std::memcpy(&b, &want, 4);
          ASSERT_EQ(a, b) << DTypeName(dtype) << " bits " << all[i];
        }
      }
    }
    const float src[5] = {1.5f, -2, 3, 0, 7};
    float dst[5];
    ConvertToF32(DType::kF32, src, 5, dst);
    for (int i = 0; i < 5; ++i) EXPECT_EQ(dst[i], src[i]);
  });
}

TEST(MatMulTest, GatherRows) {
  std::mt19937 rng(5);
  for (DType dtype : {DType::kF32, DType::kF16, DType::kBF16}) {
    for (int64_t cols : {1, 7, 16, 33}) {
      const TestWeights w = MakeWeights(rng, dtype, 10, cols);
      const int32_t ids[5] = {3, 0, 9, 3, 5};
      ForEachTarget([&](const std::string&) {
        const int64_t stride = cols + 2;
        std::vector<float> out(5 * stride, -7.0f);
        GatherRows(w.view(), ids, 5, out.data(), stride);
        for (int i = 0; i < 5; ++i) {
          for (int64_t c = 0; c < cols; ++c) {
            ASSERT_EQ(out[i * stride + c], w.f32[ids[i] * cols + c]) << i << "," << c;
          }
          ASSERT_EQ(out[i * stride + cols], -7.0f);
        }
      });
    }
  }
}

}  // namespace
}  // namespace mamba
