// SPDX-License-Identifier: MIT
#include "base/dtype.h"

#include "base/check.h"

namespace mamba {

namespace {
constexpr DTypeInfo kInfos[] = {
    {"F32", 1, 4},
    {"F16", 1, 2},
    {"BF16", 1, 2},
    {"Q8_0", 32, 34},
    {"Q4_0", 32, 18},
    {"Q4_1", 32, 20},
    {"Q5_0", 32, 22},
    {"Q5_1", 32, 24},
    {"Q4_K", 256, 144},
    {"Q5_K", 256, 176},
    {"Q6_K", 256, 210},
    {"Q8_1", 32, 36},
    {"Q8_K", 256, 292},
};
}  // namespace

const DTypeInfo& GetDTypeInfo(DType dtype) {
  const auto index = static_cast<size_t>(dtype);
  MAMBA_CHECK(index < sizeof(kInfos) / sizeof(kInfos[0]), "bad DType %zu", index);
  return kInfos[index];
}

bool IsQuantized(DType dtype) { return GetDTypeInfo(dtype).block_size > 1; }

size_t DTypeRowBytes(DType dtype, int64_t n) {
  const DTypeInfo& info = GetDTypeInfo(dtype);
  MAMBA_CHECK(n >= 0 && n % info.block_size == 0, "%lld elements not a multiple of %s block %d",
              static_cast<long long>(n), info.name.data(), info.block_size);
  return static_cast<size_t>(n / info.block_size) * static_cast<size_t>(info.block_bytes);
}

std::optional<DType> DTypeFromSafetensorsName(std::string_view name) {
  if (name == "F32") return DType::kF32;
  if (name == "F16") return DType::kF16;
  if (name == "BF16") return DType::kBF16;
  return std::nullopt;
}

uint16_t F32ToF16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  const uint32_t sign = (x >> 16) & 0x8000u;
  const uint32_t abs = x & 0x7FFFFFFFu;
  if (abs >= 0x7F800000u) {  // inf or nan
    return static_cast<uint16_t>(sign | 0x7C00u | (abs > 0x7F800000u ? 0x200u : 0u));
  }
  if (abs >= 0x477FF000u) return static_cast<uint16_t>(sign | 0x7C00u);  // rounds to inf
  if (abs < 0x38800000u) {  // result is subnormal or zero: value / 2^-24, rounded to even
    float a;
    std::memcpy(&a, &abs, 4);
    // Adding 0.5 (= 2^-1) aligns the binary point so the FPU performs the RNE rounding.
    float shifted = a + 0.5f;
    uint32_t bits;
    std::memcpy(&bits, &shifted, 4);
    return static_cast<uint16_t>(sign | (bits - 0x3F000000u));
  }
  const uint32_t mant_odd = (abs >> 13) & 1u;
  uint32_t rounded = abs + 0xC8000FFFu + mant_odd;  // rebias exponent (-112<<23) and round
  return static_cast<uint16_t>(sign | (rounded >> 13));
}

uint16_t F32ToBF16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  if ((x & 0x7FFFFFFFu) > 0x7F800000u) return static_cast<uint16_t>((x >> 16) | 0x40u);  // NaN
  const uint32_t lsb = (x >> 16) & 1u;
  x += 0x7FFFu + lsb;
  return static_cast<uint16_t>(x >> 16);
}

}  // namespace mamba
