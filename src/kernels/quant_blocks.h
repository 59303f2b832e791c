// SPDX-License-Identifier: MIT
// Byte layouts of ggml's block-quantized types (bit-exact, so GGUF files are interchangeable).
// All multi-byte fields are little-endian; `ggml_half` fields are IEEE binary16 bits.
// Written from the published layout description (docs: anchors-research §2.8).
#pragma once

#include <cstdint>

namespace mamba::quant {

inline constexpr int kQK = 32;     // elements per block of the *_0 / *_1 / Q8 types
inline constexpr int kQK_K = 256;  // elements per K-quant super-block
inline constexpr int kKScaleBytes = 12;

// Q8_0: x[j] = qs[j] * d.
struct BlockQ8_0 {
  uint16_t d;
  int8_t qs[kQK];
};
// Q4_0: x[j] = ((qs[j] & 15) - 8) * d, x[j + 16] = ((qs[j] >> 4) - 8) * d, j < 16.
struct BlockQ4_0 {
  uint16_t d;
  uint8_t qs[kQK / 2];
};
// Q4_1: x[j] = (qs[j] & 15) * d + m, x[j + 16] = (qs[j] >> 4) * d + m.
struct BlockQ4_1 {
  uint16_t d;
  uint16_t m;
  uint8_t qs[kQK / 2];
};
// Q5_0: as Q4_0 with a 5th bit: bit j of qh (u32 LE) is the high bit of element j; offset 16.
struct BlockQ5_0 {
  uint16_t d;
  uint8_t qh[4];
  uint8_t qs[kQK / 2];
};
// Q5_1: as Q4_1 with the 5th bits of Q5_0 and no offset.
struct BlockQ5_1 {
  uint16_t d;
  uint16_t m;
  uint8_t qh[4];
  uint8_t qs[kQK / 2];
};
// Q8_1 (activations only): Q8_0 plus s = F16(d_f32 * sum(qs)).
struct BlockQ8_1 {
  uint16_t d;
  uint16_t s;
  int8_t qs[kQK];
};
// Q4_K: 8 sub-blocks of 32 with 6-bit scale sc and min m packed in `scales` (see GetScaleMinK4);
// for chunk c < 4 (64 elements): x[64c + l] = d*sc[2c]*(qs[32c+l] & 15) - dmin*m[2c],
// x[64c + 32 + l] = d*sc[2c+1]*(qs[32c+l] >> 4) - dmin*m[2c+1], l < 32.
struct BlockQ4_K {
  uint16_t d;
  uint16_t dmin;
  uint8_t scales[kKScaleBytes];
  uint8_t qs[kQK_K / 2];
};
// Q5_K: as Q4_K; the 5th bit (value 16) of x[64c + l] is bit 2c of qh[l], of x[64c + 32 + l]
// bit 2c + 1 of qh[l].
struct BlockQ5_K {
  uint16_t d;
  uint16_t dmin;
  uint8_t scales[kKScaleBytes];
  uint8_t qh[kQK_K / 8];
  uint8_t qs[kQK_K / 2];
};
// Q6_K: 16 sub-blocks of 16 with int8 scales; per half h < 2 (128 elements, ql += 64h,
// qh += 32h), l < 32, k < 4: x[128h + 32k + l] = d * scales[(128h + 32k + l) / 16] * (q - 32),
// q = low4 | high2 << 4, low4 = ql[l + 32 (k & 1)] nibble (k >> 1), high2 = qh[l] >> 2k & 3.
struct BlockQ6_K {
  uint8_t ql[kQK_K / 2];
  uint8_t qh[kQK_K / 4];
  int8_t scales[kQK_K / 16];
  uint16_t d;
};
// Q8_K (activations only): x[j] = qs[j] * d; bsums[k] = sum of qs[16k .. 16k + 15].
struct BlockQ8_K {
  float d;
  int8_t qs[kQK_K];
  int16_t bsums[kQK_K / 16];
};

static_assert(sizeof(BlockQ8_0) == 34 && sizeof(BlockQ4_0) == 18 && sizeof(BlockQ4_1) == 20);
static_assert(sizeof(BlockQ5_0) == 22 && sizeof(BlockQ5_1) == 24 && sizeof(BlockQ8_1) == 36);
static_assert(sizeof(BlockQ4_K) == 144 && sizeof(BlockQ5_K) == 176 && sizeof(BlockQ6_K) == 210);
static_assert(sizeof(BlockQ8_K) == 292);

// 6-bit scale and min of sub-block j < 8 of a Q4_K / Q5_K `scales` array.
inline void GetScaleMinK4(int j, const uint8_t* q, uint8_t* sc, uint8_t* m) {
  if (j < 4) {
    *sc = q[j] & 63;
    *m = q[j + 4] & 63;
  } else {
    *sc = static_cast<uint8_t>((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
    *m = static_cast<uint8_t>((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
  }
}

// Inverse of GetScaleMinK4 for all 8 sub-blocks (sc[j], m[j] < 64).
inline void PackScaleMinK4(const uint8_t* sc, const uint8_t* m, uint8_t* q) {
  for (int j = 0; j < 4; ++j) {
    q[j] = static_cast<uint8_t>((sc[j] & 63) | ((sc[j + 4] >> 4) << 6));
    q[j + 4] = static_cast<uint8_t>((m[j] & 63) | ((m[j + 4] >> 4) << 6));
    q[j + 8] = static_cast<uint8_t>((sc[j + 4] & 0xF) | ((m[j + 4] & 0xF) << 4));
  }
}

}  // namespace mamba::quant
