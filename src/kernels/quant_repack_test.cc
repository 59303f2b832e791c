// SPDX-License-Identifier: MIT
// The kGroups8 layout: byte (Q4_K: nibble) positions written from the layout's description, the
// round trip, and products over regrouped matrices bit-identical to those over the stored ones on
// every target.
#include "kernels/quant_repack.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "base/dtype.h"
#include "kernels/matmul.h"
#include "kernels/quant_test_util.h"
#include "kernels/quantize.h"
#include "threading/thread_pool.h"

namespace mamba {
namespace {

using kernels_test::ForEachQuantTarget;

constexpr DType kGrouped[] = {DType::kQ8_0, DType::kQ4_0, DType::kQ4_1, DType::kQ5_0, DType::kQ5_1};

// Field offsets inside one stored block (ggml's structs, kernels/quant_blocks.h).
struct StoredFields {
  int m = -1, qh = -1, qs = 0, qs_bytes = 16;
};
StoredFields FieldsOf(DType t) {
  switch (t) {
    case DType::kQ8_0:
      return {-1, -1, 2, 32};
    case DType::kQ4_0:
      return {-1, -1, 2, 16};
    case DType::kQ4_1:
      return {2, -1, 4, 16};
    case DType::kQ5_0:
      return {-1, 2, 6, 16};
    default:  // Q5_1
      return {2, 4, 8, 16};
  }
}

std::vector<uint8_t> RandomBytes(std::mt19937& rng, size_t n) {
  std::uniform_int_distribution<int> byte(0, 255);
  std::vector<uint8_t> v(n);
  for (auto& b : v) b = static_cast<uint8_t>(byte(rng));
  return v;
}

// Every field of every block lands where the layout's comment says (d, then m, then qh, then
// the qs bytes by 32-bit words, lane k = block k), and the blocks after the last whole group of
// 8 stay as stored.
TEST(Groups8LayoutTest, FieldsLandWhereDocumented) {
  std::mt19937 rng(5);
  for (DType t : kGrouped) {
    SCOPED_TRACE(DTypeName(t).data());
    const size_t bb = GetDTypeInfo(t).block_bytes;
    const StoredFields f = FieldsOf(t);
    const int64_t cols = 19 * 32, rows = 3;  // 2 groups and 3 blocks per row
    const size_t rb = DTypeRowBytes(t, cols);
    const std::vector<uint8_t> src = RandomBytes(rng, rb * rows);
    std::vector<uint8_t> dst(src.size());
    RegroupRows(t, src.data(), rows, cols, dst.data());
    const size_t m_at = 16, qh_at = f.m >= 0 ? 32 : 16;
    const size_t codes_at = 16 + (f.m >= 0 ? 16 : 0) + (f.qh >= 0 ? 32 : 0);
    for (int64_t r = 0; r < rows; ++r) {
      for (int g = 0; g < 2; ++g) {
        const uint8_t* blocks = src.data() + r * rb + g * 8 * bb;
        const uint8_t* group = dst.data() + r * rb + g * 8 * bb;
        for (size_t k = 0; k < 8; ++k) {
          const uint8_t* blk = blocks + k * bb;
          EXPECT_EQ(std::memcmp(group + 2 * k, blk, 2), 0) << "d of block " << k;
          if (f.m >= 0) {
            EXPECT_EQ(std::memcmp(group + m_at + 2 * k, blk + f.m, 2), 0) << "m of block " << k;
          }
          if (f.qh >= 0) {
            EXPECT_EQ(std::memcmp(group + qh_at + 4 * k, blk + f.qh, 4), 0) << "qh of block " << k;
          }
          for (int i = 0; i < f.qs_bytes; ++i) {
            ASSERT_EQ(group[codes_at + 32 * (i / 4) + 4 * k + i % 4], blk[f.qs + i])
                << "qs byte " << i << " of block " << k;
          }
        }
      }
      EXPECT_EQ(std::memcmp(dst.data() + r * rb + 16 * bb, src.data() + r * rb + 16 * bb, 3 * bb),
                0)
          << "tail blocks";
    }
    std::vector<uint8_t> back(src.size());
    UngroupRows(WeightMatrix{t, dst.data(), rows, cols, WeightLayout::kGroups8}, 0, rows,
                back.data());
    EXPECT_EQ(back, src);
  }
  EXPECT_TRUE(HasGroups8Layout(DType::kQ4_K));
  EXPECT_TRUE(HasGroups8Layout(DType::kQ5_K));
  EXPECT_TRUE(HasGroups8Layout(DType::kQ6_K));
  EXPECT_FALSE(HasGroups8Layout(DType::kF16));
}

// Q4_K / Q5_K: the 16 header bytes of every superblock stay, and every element's code moves to
// the nibble the layout's comment names: element e = 32s + 16h + 4t + b (sub-block s, half h) to
// code byte 32t + 4(4h + s % 4) + b, low nibble for s < 4, high for s >= 4 (the codes start at
// byte 16, Q5_K: 48); stored, it is nibble (e / 32) % 2 of code byte 32(e / 64) + e % 32. Q5_K's
// 5th bit of e (stored: bit s of qh byte e % 32, qh at byte 16) moves to bit t (s < 4) or 4 + t
// (s >= 4) of qh byte 4(4h + s % 4) + b.
TEST(Groups8LayoutTest, KQuantCodesLandWhereDocumented) {
  std::mt19937 rng(6);
  for (DType type : {DType::kQ4_K, DType::kQ5_K}) {
    SCOPED_TRACE(DTypeName(type).data());
    const bool q5 = type == DType::kQ5_K;
    const size_t bb = GetDTypeInfo(type).block_bytes, codes_at = q5 ? 48 : 16;
    const int64_t cols = 3 * 256, rows = 2;
    const size_t rb = DTypeRowBytes(type, cols);
    const std::vector<uint8_t> src = RandomBytes(rng, rb * rows);
    std::vector<uint8_t> dst(src.size());
    RegroupRows(type, src.data(), rows, cols, dst.data());
    for (size_t sb = 0; sb < src.size() / bb; ++sb) {
      const uint8_t* in = src.data() + bb * sb;
      const uint8_t* out = dst.data() + bb * sb;
      EXPECT_EQ(std::memcmp(in, out, 16), 0) << "header of superblock " << sb;
      for (int e = 0; e < 256; ++e) {
        const int s = e / 32, h = (e % 32) / 16, t = (e % 16) / 4, b = e % 4;
        const int byte = 4 * (4 * h + s % 4) + b;
        const int stored = (in[codes_at + 32 * (e / 64) + e % 32] >> (4 * ((e / 32) % 2))) & 0xF;
        const int grouped = (out[codes_at + 32 * t + byte] >> (s >= 4 ? 4 : 0)) & 0xF;
        ASSERT_EQ(grouped, stored) << "element " << e << " of superblock " << sb;
        if (q5) {
          ASSERT_EQ((out[16 + byte] >> (s >= 4 ? 4 + t : t)) & 1, (in[16 + e % 32] >> s) & 1)
              << "5th bit of element " << e << " of superblock " << sb;
        }
      }
    }
    std::vector<uint8_t> back(src.size());
    UngroupRows(WeightMatrix{type, dst.data(), rows, cols, WeightLayout::kGroups8}, 1, 2,
                back.data());
    EXPECT_EQ(std::memcmp(back.data(), src.data() + rb, rb), 0) << "row 1 ungrouped alone";
  }
}

// Q6_K element e's 6-bit code in ggml's encoding (ql: 128 bytes of low nibbles, qh: 64 bytes of
// 2-bit pairs): half h = e / 128, quarter q = (e % 128) / 32, l = e % 32.
int Q6KCode(const uint8_t* blk, int e) {
  const int h = e / 128, q = (e % 128) / 32, l = e % 32;
  const uint8_t lo = blk[64 * h + (q % 2) * 32 + l];
  const int low = q < 2 ? lo & 0xF : lo >> 4;
  return low | ((blk[128 + 32 * h + l] >> (2 * q)) & 3) << 4;
}

// Q6_K: the scales and d stay, and the code the stored encoding puts at element 32n + i (n = 2k +
// t, lane L = i / 4, b = i % 4) is that of element 64k + base(L) + 4t + b, base = [0, 8, 32, 40,
// 16, 24, 48, 56].
TEST(Groups8LayoutTest, Q6KCodesLandWhereDocumented) {
  std::mt19937 rng(9);
  const int64_t cols = 2 * 256, rows = 3;
  const size_t rb = DTypeRowBytes(DType::kQ6_K, cols);
  const std::vector<uint8_t> src = RandomBytes(rng, rb * rows);
  std::vector<uint8_t> dst(src.size());
  RegroupRows(DType::kQ6_K, src.data(), rows, cols, dst.data());
  const int base[8] = {0, 8, 32, 40, 16, 24, 48, 56};
  for (size_t sb = 0; sb < src.size() / 210; ++sb) {
    const uint8_t* in = src.data() + 210 * sb;
    const uint8_t* out = dst.data() + 210 * sb;
    EXPECT_EQ(std::memcmp(in + 192, out + 192, 18), 0) << "scales and d of superblock " << sb;
    for (int n = 0; n < 8; ++n) {
      for (int i = 0; i < 32; ++i) {
        const int e = 64 * (n / 2) + base[i / 4] + 4 * (n % 2) + i % 4;
        ASSERT_EQ(Q6KCode(out, 32 * n + i), Q6KCode(in, e)) << "n " << n << " i " << i;
      }
    }
  }
  std::vector<uint8_t> back(src.size());
  UngroupRows(WeightMatrix{DType::kQ6_K, dst.data(), rows, cols, WeightLayout::kGroups8}, 0, rows,
              back.data());
  EXPECT_EQ(back, src);
}

// Q4_K / Q5_K / Q6_K rows of random bytes (every code, 5th bit and scale and min at its
// extremes) with d = dmin = 1: the regrouped kernels give the stored kernels' bits, n == 1 and
// batched, on every target.
TEST(Groups8LayoutTest, KQuantExtremeCodesMatchTheStoredLayout) {
  std::mt19937 rng(8);
  ThreadPool pool2(2);
  for (DType type : {DType::kQ4_K, DType::kQ5_K, DType::kQ6_K}) {
    const size_t bb = GetDTypeInfo(type).block_bytes;
    const int64_t cols = 5 * 256, rows = 21;
    std::vector<uint8_t> stored = RandomBytes(rng, DTypeRowBytes(type, cols) * rows);
    const uint16_t one = 0x3C00;  // F16 1.0
    for (size_t off = 0; off < stored.size(); off += bb) {
      if (type == DType::kQ6_K) {
        std::memcpy(stored.data() + off + 208, &one, 2);  // d; the int8 scales stay random
      } else {
        std::memcpy(stored.data() + off, &one, 2);
        std::memcpy(stored.data() + off + 2, &one, 2);
      }
    }
    std::vector<uint8_t> grouped(stored.size());
    RegroupRows(type, stored.data(), rows, cols, grouped.data());
    const WeightMatrix ws{type, stored.data(), rows, cols};
    const WeightMatrix wg{type, grouped.data(), rows, cols, WeightLayout::kGroups8};
    std::uniform_real_distribution<float> u(-3.0f, 3.0f);
    std::vector<float> x(static_cast<size_t>(6 * cols));
    for (float& v : x) v = u(rng);
    for (int64_t i = 0; i < 6 * cols; i += 97) x[i] = 1e3f;  // activation codes at +-127
    for (int64_t n : {1, 6}) {
      ForEachQuantTarget([&](const std::string& target) {
        SCOPED_TRACE(testing::Message() << DTypeName(type) << " " << target << " n=" << n);
        std::vector<float> ys(n * rows), yg(n * rows, -7.0f);
        MatMul(ws, x.data(), cols, n, ys.data(), rows, &pool2);
        MatMul(wg, x.data(), cols, n, yg.data(), rows, &pool2);
        ASSERT_EQ(yg, ys);
      });
    }
  }
}

// MatMul, MatMulRef and GatherRows over a regrouped matrix give the bits they give over the
// stored one, on every target (x86 AVX2 and up read the groups; the others an ungrouped copy),
// for decode (n == 1), batches (the multi-row kernels) and both thread counts.
TEST(Groups8LayoutTest, ProductsMatchTheStoredLayoutOnEveryTarget) {
  std::mt19937 rng(17);
  ThreadPool pool2(2);
  std::vector<DType> types(std::begin(kGrouped), std::end(kGrouped));
  types.push_back(DType::kQ4_K);
  types.push_back(DType::kQ5_K);
  types.push_back(DType::kQ6_K);
  for (DType t : types) {
    for (int64_t blocks : {8, 19, 40}) {
      // K-quants: 1, 2 or 5 superblocks.
      const int64_t cols = GetDTypeInfo(t).block_size == 256 ? 256 * (blocks / 8) : 32 * blocks;
      const int64_t rows = 37;
      const size_t rb = DTypeRowBytes(t, cols);
      std::vector<uint8_t> stored(rb * rows);
      const std::vector<float> f = [&] {
        std::uniform_real_distribution<float> u(-1.0f, 1.0f);
        std::vector<float> v(static_cast<size_t>(rows * cols));
        for (float& x : v) x = u(rng);
        return v;
      }();
      for (int64_t r = 0; r < rows; ++r)
        QuantizeRow(t, f.data() + r * cols, cols, stored.data() + r * rb);
      std::vector<uint8_t> grouped(stored.size());
      RegroupRows(t, stored.data(), rows, cols, grouped.data());
      const WeightMatrix ws{t, stored.data(), rows, cols};
      const WeightMatrix wg{t, grouped.data(), rows, cols, WeightLayout::kGroups8};
      std::uniform_real_distribution<float> u(-2.0f, 2.0f);
      std::vector<float> x(static_cast<size_t>(9 * cols));
      for (float& v : x) v = u(rng);
      for (int64_t n : {1, 2, 5, 9}) {
        SCOPED_TRACE(testing::Message() << DTypeName(t) << " cols=" << cols << " n=" << n);
        std::vector<float> ref_s(n * rows), ref_g(n * rows, -7.0f);
        MatMulRef(ws, x.data(), cols, n, ref_s.data(), rows);
        MatMulRef(wg, x.data(), cols, n, ref_g.data(), rows);
        ASSERT_EQ(ref_g, ref_s);
        ForEachQuantTarget([&](const std::string& target) {
          SCOPED_TRACE(target);
          // The x86 AVX2+ kernels read the groups themselves; the others get a copy.
          EXPECT_EQ(KernelsPreferGroups8(t), target.rfind("AVX", 0) == 0);
          for (ThreadPool* pool : {static_cast<ThreadPool*>(nullptr), &pool2}) {
            std::vector<float> ys(n * rows), yg(n * rows, -7.0f);
            MatMul(ws, x.data(), cols, n, ys.data(), rows, pool);
            MatMul(wg, x.data(), cols, n, yg.data(), rows, pool);
            ASSERT_EQ(yg, ys);
          }
        });
      }
      const int32_t ids[3] = {36, 0, 17};
      std::vector<float> gs(3 * cols), gg(3 * cols);
      GatherRows(ws, ids, 3, gs.data(), cols);
      GatherRows(wg, ids, 3, gg.data(), cols);
      EXPECT_EQ(gg, gs);
    }
  }
}

}  // namespace
}  // namespace mamba
