// SPDX-License-Identifier: MIT
// The kGroups8 layout of the 32-element block types (Q8_0, Q4_0, Q4_1, Q5_0, Q5_1): each run of
// 8 consecutive blocks of a row is regrouped so the x86 kernels load a group's scales and its
// codes, already in the order their int8 dot products want, with plain vector loads instead of
// unpacking 8 blocks at an 18-34 byte stride in registers (which cost them half their time).
// Q4_K's and Q5_K's form transposes the 8 sub-blocks of each superblock the same way, Q6_K's its
// 16 sub-blocks of 16 (below).
// A regrouped row has the same bytes as the stored one, permuted; loaders regroup a matrix once
// (WeightMatrix::layout says which layout it holds) where the dispatched kernels prefer it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "base/dtype.h"
#include "kernels/matmul.h"

namespace mamba {

namespace quant {

// Where the fields of blocks b0 .. b7 go in a kGroups8 group (8 * block bytes), from the start
// of the group:
//   [d]     8 F16 scales, block k's at 2k;
//   [m]     8 F16 minimums, block k's at m + 2k (Q4_1, Q5_1);
//   [qh]    8 u32 5th-bit words, block k's at qh + 4k (Q5_0, Q5_1);
//   [codes] the qs bytes transposed by 32-bit words: bytes 4t .. 4t + 3 of block k's qs at
//           codes + 32t + 4k, t < qs_bytes / 4 (one 32-byte vector per t, lane k = block k).
// A row's blocks after its last whole group of 8 stay as stored.
// Q4_K and Q5_K have their own kGroups8 form, per superblock (see Q4KGroupedElement): its 16
// header bytes (d, dmin, the 6-bit scales and mins) stay, and its 128 code bytes are permuted so
// that 32-bit lane L = 4h + j (h < 2, j < 4) of code vector t holds the codes of sub-block j (low
// nibbles) and of sub-block j + 4 (high nibbles), elements 16h + 4t .. 16h + 4t + 3 of each. An
// int8 dot product of vector t with the activations likewise transposed then sums, in lane L, the
// same 16-element halves of sub-blocks that the stored-layout kernel sums in its lane L. Q5_K's
// 32 bytes of 5th bits are permuted to match (see Q5KGroupedBitElement).
struct Groups8Layout {
  size_t block_bytes = 0;
  size_t src_m = 0, src_qh = 0, src_qs = 0;  // field offsets inside a stored block
  size_t qs_bytes = 0;                       // 32 (Q8_0) or 16
  bool has_m = false, has_qh = false;
  size_t m = 0, qh = 0, codes = 0;  // offsets inside a group
};

constexpr Groups8Layout Groups8Of(DType dtype) {
  Groups8Layout l;
  switch (dtype) {
    case DType::kQ8_0:
      l.block_bytes = 34, l.src_qs = 2, l.qs_bytes = 32;
      break;
    case DType::kQ4_0:
      l.block_bytes = 18, l.src_qs = 2, l.qs_bytes = 16;
      break;
    case DType::kQ4_1:
      l.block_bytes = 20, l.src_m = 2, l.src_qs = 4, l.qs_bytes = 16, l.has_m = true;
      break;
    case DType::kQ5_0:
      l.block_bytes = 22, l.src_qh = 2, l.src_qs = 6, l.qs_bytes = 16, l.has_qh = true;
      break;
    case DType::kQ5_1:
      l.block_bytes = 24, l.src_m = 2, l.src_qh = 4, l.src_qs = 8, l.qs_bytes = 16;
      l.has_m = l.has_qh = true;
      break;
    default:
      return l;  // block_bytes == 0: no kGroups8 layout
  }
  size_t off = 16;  // after d[8]
  if (l.has_m) l.m = off, off += 16;
  if (l.has_qh) l.qh = off, off += 32;
  l.codes = off;
  return l;
}

// Q4_K / Q5_K kGroups8: code byte 32t + 4L + b of a superblock (t < 4, L = 4h + j < 8, b < 4;
// the codes start at byte 16 for Q4_K, 48 for Q5_K) holds, in its low nibble, the code of element
// 32j + 16h + 4t + b and, in its high nibble, that of element 32(j + 4) + 16h + 4t + b
// (Q4KGroupedElement). Stored, element e's code is nibble (e / 32) % 2 of code byte
// 32(e / 64) + e % 32.
constexpr size_t KQuantCodesOffset(bool q5) { return q5 ? 48 : 16; }
constexpr int Q4KGroupedElement(int t, int lane, int b, bool high) {
  return 32 * (lane % 4 + (high ? 4 : 0)) + 16 * (lane / 4) + 4 * t + b;
}
// Q5_K kGroups8: bit m of qh byte i (bytes 16 .. 47) is the 5th bit of the element whose low
// bits are in nibble m / 4 of code byte 32(m % 4) + i, i.e. of element
// Q4KGroupedElement(m % 4, i / 4, i % 4, m >= 4); so code vector t takes bit t of each qh byte
// (low nibbles) and bit 4 + t (high nibbles), as stored Q5_K rows take bit j for sub-block j.
// Stored, element e's 5th bit is bit e / 32 of qh byte e % 32.
constexpr int Q5KGroupedBitElement(int i, int m) {
  return Q4KGroupedElement(m % 4, i / 4, i % 4, m >= 4);
}

// Q6_K kGroups8: the superblock's 256 codes are permuted, then stored in ggml's Q6_K encoding
// (scales and d stay): the codes the stored encoding puts at element 32n + i (n < 8, i < 32)
// are those of element Q6KGroupedElement(n, i / 4, i % 4), so code vector n (elements 32n ..
// 32n + 31 when unpacked as stored) holds in lane L = i / 4 elements 64k + base(L) + 4t .. + 3
// (n = 2k + t, base = [0, 8, 32, 40, 16, 24, 48, 56]): the 8 elements that the stored-layout
// kernel's lane L sums under one scale, in two 32-bit lanes' worth of products.
constexpr int Q6KGroupedElement(int n, int lane, int b) {
  constexpr int kBase[8] = {0, 8, 32, 40, 16, 24, 48, 56};
  return 64 * (n / 2) + kBase[lane] + 4 * (n % 2) + b;
}

}  // namespace quant

// True for the dtypes that have a kGroups8 layout.
bool HasGroups8Layout(DType dtype);

// True when the kernels the process dispatches to now read kGroups8 rows of `dtype` natively
// (x86 with AVX2 and up); elsewhere MatMul still accepts them, through a slow ungrouped copy.
bool KernelsPreferGroups8(DType dtype);

// dst (rows x DTypeRowBytes(dtype, cols) bytes) = the stored rows at src in the kGroups8 layout.
// HasGroups8Layout(dtype); src and dst do not overlap.
void RegroupRows(DType dtype, const void* src, int64_t rows, int64_t cols, void* dst);

// The inverse of RegroupRows for rows [r0, r1) of a kGroups8 matrix, into dst (r1 - r0 stored
// rows, the ggml layout).
void UngroupRows(const WeightMatrix& w, int64_t r0, int64_t r1, void* dst);

// `w` with its rows in the ggml layout: `w` itself when it already is, else a copy whose bytes
// `storage` keeps.
WeightMatrix UngroupedMatrix(const WeightMatrix& w, std::vector<uint8_t>* storage);

}  // namespace mamba
