// SPDX-License-Identifier: MIT
#include "base/dtype.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>

namespace mamba {
namespace {

// Independent reference: decode binary16 by its definition with ldexp.
double F16Definition(uint16_t h) {
  const int sign = (h >> 15) ? -1 : 1;
  const int exp = (h >> 10) & 31;
  const int mant = h & 1023;
  if (exp == 0) return sign * std::ldexp(mant, -24);
  if (exp == 31) return mant ? std::nan("") : sign * std::numeric_limits<double>::infinity();
  return sign * std::ldexp(1024 + mant, exp - 25);
}

TEST(DTypeTest, F16ToF32MatchesDefinitionForAllBitPatterns) {
  for (uint32_t h = 0; h < 65536; ++h) {
    const float got = F16ToF32(static_cast<uint16_t>(h));
    const double want = F16Definition(static_cast<uint16_t>(h));
    if (std::isnan(want)) {
      EXPECT_TRUE(std::isnan(got)) << h;
    } else {
      EXPECT_EQ(static_cast<double>(got), want) << h;
      EXPECT_EQ(std::signbit(got), std::signbit(want)) << h;
    }
  }
}

TEST(DTypeTest, F32ToF16RoundTripsAndRoundsToNearestEven) {
  for (uint32_t h = 0; h < 65536; ++h) {
    const float f = F16ToF32(static_cast<uint16_t>(h));
    if (std::isnan(f)) continue;
    EXPECT_EQ(F32ToF16(f), h) << h;
  }
  // Halfway between 1.0 (0x3C00) and the next f16 (0x3C01): ties to even -> 0x3C00.
  EXPECT_EQ(F32ToF16(1.0f + std::ldexp(1.0f, -11)), 0x3C00);
  // Halfway between 0x3C01 and 0x3C02: ties to even -> 0x3C02.
  EXPECT_EQ(F32ToF16(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3C02);
  // Just above halfway rounds up.
  EXPECT_EQ(F32ToF16(std::nextafter(1.0f + std::ldexp(1.0f, -11), 2.0f)), 0x3C01);
  EXPECT_EQ(F32ToF16(1e6f), 0x7C00);  // overflow -> inf
  EXPECT_EQ(F32ToF16(-1e6f), 0xFC00);
  EXPECT_EQ(F32ToF16(std::ldexp(1.0f, -25)), 0x0000);  // half of the smallest subnormal: to even
  EXPECT_EQ(F32ToF16(std::ldexp(1.5f, -25)), 0x0001);
  EXPECT_TRUE(std::isnan(F16ToF32(F32ToF16(std::nanf("")))));
}

TEST(DTypeTest, BF16) {
  for (uint32_t b = 0; b < 65536; ++b) {
    const float f = BF16ToF32(static_cast<uint16_t>(b));
    uint32_t bits;
    std::memcpy(&bits, &f, 4);
    EXPECT_EQ(bits, b << 16);
    if (!std::isnan(f)) {
      EXPECT_EQ(F32ToBF16(f), b);
    }
  }
  // 1 + 2^-8 is halfway between bf16 1.0 and 1.0078125: ties to even -> 1.0.
  EXPECT_EQ(F32ToBF16(1.0f + std::ldexp(1.0f, -8)), 0x3F80);
  EXPECT_EQ(F32ToBF16(1.0f + 3 * std::ldexp(1.0f, -8)), 0x3F82);
}

TEST(DTypeTest, NamesAndRowBytes) {
  EXPECT_EQ(DTypeFromSafetensorsName("BF16"), DType::kBF16);
  EXPECT_FALSE(DTypeFromSafetensorsName("F64").has_value());
  EXPECT_EQ(DTypeRowBytes(DType::kF16, 10), 20u);
  EXPECT_EQ(DTypeName(DType::kF32), "F32");
}

TEST(DTypeTest, QuantizedBlockGeometryMatchesGgml) {
  struct Want {
    DType dtype;
    const char* name;
    int block_size;
    int block_bytes;
  };
  const Want wants[] = {
      {DType::kQ8_0, "Q8_0", 32, 34},    {DType::kQ4_0, "Q4_0", 32, 18},
      {DType::kQ4_1, "Q4_1", 32, 20},    {DType::kQ5_0, "Q5_0", 32, 22},
      {DType::kQ5_1, "Q5_1", 32, 24},    {DType::kQ4_K, "Q4_K", 256, 144},
      {DType::kQ5_K, "Q5_K", 256, 176},  {DType::kQ6_K, "Q6_K", 256, 210},
      {DType::kQ8_1, "Q8_1", 32, 36},    {DType::kQ8_K, "Q8_K", 256, 292},
  };
  for (const Want& w : wants) {
    const DTypeInfo& info = GetDTypeInfo(w.dtype);
    EXPECT_EQ(info.name, w.name);
    EXPECT_EQ(info.block_size, w.block_size) << w.name;
    EXPECT_EQ(info.block_bytes, w.block_bytes) << w.name;
    EXPECT_TRUE(IsQuantized(w.dtype)) << w.name;
    EXPECT_EQ(DTypeRowBytes(w.dtype, 4 * w.block_size), 4u * w.block_bytes) << w.name;
    // Safetensors has no quantized types: the parser must keep rejecting these names.
    EXPECT_FALSE(DTypeFromSafetensorsName(w.name).has_value()) << w.name;
  }
  EXPECT_FALSE(IsQuantized(DType::kF32));
  EXPECT_FALSE(IsQuantized(DType::kBF16));
  EXPECT_DEATH(DTypeRowBytes(DType::kQ4_K, 100), "multiple");
}

}  // namespace
}  // namespace mamba
