// SPDX-License-Identifier: MIT
// Element types of stored tensors, and the scalar F16/BF16 <-> F32 conversions every layer uses.
// Block-quantized types (ggml layouts) store `block_size` elements in `block_bytes` bytes; plain
// types have block_size 1.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <string_view>

namespace mamba {

enum class DType : uint8_t {
  kF32,
  kF16,
  kBF16,
  // Block-quantized types, bit-exact ggml block layouts (see src/kernels/quant_blocks.h).
  kQ8_0,  // 32 elements: f16 d, int8 q[32]                                      (34 bytes)
  kQ4_0,  // 32 elements: f16 d, 4-bit q[32] offset 8                            (18 bytes)
  kQ4_1,  // 32 elements: f16 d, f16 m, 4-bit q[32]                              (20 bytes)
  kQ5_0,  // 32 elements: f16 d, 5th bits u32, 4-bit low q[32] offset 16          (22 bytes)
  kQ5_1,  // 32 elements: f16 d, f16 m, 5th bits u32, 4-bit low q[32]             (24 bytes)
  kQ4_K,  // 256 elements: f16 d, f16 dmin, 12 bytes 6-bit scales/mins, 128 q     (144 bytes)
  kQ5_K,  // 256 elements: as Q4_K plus 32 bytes of 5th bits                      (176 bytes)
  kQ6_K,  // 256 elements: 128 low nibbles, 64 high 2-bit, 16 int8 scales, f16 d  (210 bytes)
  // Activation-side block types used inside quantized matmul (never stored in model files).
  kQ8_1,  // 32 elements: f16 d, f16 s (= d * sum q), int8 q[32]                 (36 bytes)
  kQ8_K,  // 256 elements: f32 d, int8 q[256], int16 bsums[16]                   (292 bytes)
};

// True for the block-quantized types (block_size > 1).
bool IsQuantized(DType dtype);

struct DTypeInfo {
  std::string_view name;  // "F32", "F16", "BF16" (safetensors spelling), "Q4_K"... (ggml's)
  int block_size;         // elements per block
  int block_bytes;        // bytes per block
};

const DTypeInfo& GetDTypeInfo(DType dtype);
inline std::string_view DTypeName(DType dtype) { return GetDTypeInfo(dtype).name; }

// Bytes needed for `n` elements; n must be a multiple of the block size (checked).
size_t DTypeRowBytes(DType dtype, int64_t n);

// Parses a safetensors dtype string ("F32", "F16", "BF16"). nullopt for anything else.
std::optional<DType> DTypeFromSafetensorsName(std::string_view name);

// IEEE binary16 -> binary32, exact (subnormals, inf, nan preserved).
inline float F16ToF32(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1Fu;
  const uint32_t mant = h & 0x3FFu;
  uint32_t bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {  // subnormal: value = mant * 2^-24
      float f = static_cast<float>(mant) * (1.0f / 16777216.0f);
      std::memcpy(&bits, &f, 4);
      bits |= sign;
    }
  } else if (exp == 31) {
    bits = sign | 0x7F800000u | (mant << 13);
  } else {
    bits = sign | ((exp + 112u) << 23) | (mant << 13);
  }
  float out;
  std::memcpy(&out, &bits, 4);
  return out;
}

// binary32 -> binary16 with round-to-nearest-even (overflow to inf, NaN stays NaN).
uint16_t F32ToF16(float f);

// bfloat16 is the top half of a binary32.
inline float BF16ToF32(uint16_t b) {
  const uint32_t bits = static_cast<uint32_t>(b) << 16;
  float out;
  std::memcpy(&out, &bits, 4);
  return out;
}

// binary32 -> bfloat16 with round-to-nearest-even (NaN stays NaN).
uint16_t F32ToBF16(float f);

}  // namespace mamba
