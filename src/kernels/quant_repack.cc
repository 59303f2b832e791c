// SPDX-License-Identifier: MIT
// Scalar regrouping of quantized rows to and from the kGroups8 layout (a byte permutation).
// KernelsPreferGroups8 is in quant_matmul.cc, next to the kernels it asks about.
#include "kernels/quant_repack.h"

#include <cstring>

#include "base/check.h"

namespace mamba {

namespace {

// Permutes one group of 8 stored blocks to its kGroups8 form (kToGroups) or back.
template <bool kToGroups>
void PermuteGroup(const quant::Groups8Layout& l, const uint8_t* src, uint8_t* dst) {
  // The n bytes at offset b of the stored blocks are those at offset g of the group.
  auto move = [&](size_t b, size_t g, size_t n) {
    if constexpr (kToGroups) {
      std::memcpy(dst + g, src + b, n);
    } else {
      std::memcpy(dst + b, src + g, n);
    }
  };
  for (size_t k = 0; k < 8; ++k) {
    const size_t blk = k * l.block_bytes;
    move(blk, 2 * k, 2);  // d
    if (l.has_m) move(blk + l.src_m, l.m + 2 * k, 2);
    if (l.has_qh) move(blk + l.src_qh, l.qh + 4 * k, 4);
    for (size_t t = 0; t < l.qs_bytes / 4; ++t)
      move(blk + l.src_qs + 4 * t, l.codes + 32 * t + 4 * k, 4);
  }
}

template <bool kToGroups>
void PermuteRows(DType dtype, const uint8_t* src, int64_t rows, int64_t cols, uint8_t* dst) {
  const quant::Groups8Layout l = quant::Groups8Of(dtype);
  MAMBA_CHECK(l.block_bytes != 0, "kGroups8: no such layout for %s", DTypeName(dtype).data());
  MAMBA_CHECK(cols % 32 == 0, "kGroups8: rows of %lld elements", static_cast<long long>(cols));
  const size_t row_bytes = DTypeRowBytes(dtype, cols);
  const size_t group_bytes = 8 * l.block_bytes;
  const size_t groups = static_cast<size_t>(cols / 256);
  for (int64_t r = 0; r < rows; ++r) {
    const uint8_t* s = src + static_cast<size_t>(r) * row_bytes;
    uint8_t* d = dst + static_cast<size_t>(r) * row_bytes;
    for (size_t g = 0; g < groups; ++g) {
      PermuteGroup<kToGroups>(l, s + g * group_bytes, d + g * group_bytes);
    }
    const size_t tail = groups * group_bytes;
    std::memcpy(d + tail, s + tail, row_bytes - tail);
  }
}

}  // namespace

bool HasGroups8Layout(DType dtype) { return quant::Groups8Of(dtype).block_bytes != 0; }

void RegroupRows(DType dtype, const void* src, int64_t rows, int64_t cols, void* dst) {
  PermuteRows<true>(dtype, static_cast<const uint8_t*>(src), rows, cols,
                    static_cast<uint8_t*>(dst));
}

void UngroupRows(const WeightMatrix& w, int64_t r0, int64_t r1, void* dst) {
  MAMBA_CHECK(w.layout == WeightLayout::kGroups8 && 0 <= r0 && r0 <= r1 && r1 <= w.rows,
              "UngroupRows: rows [%lld, %lld) of a %lld-row matrix", static_cast<long long>(r0),
              static_cast<long long>(r1), static_cast<long long>(w.rows));
  const size_t row_bytes = DTypeRowBytes(w.dtype, w.cols);
  PermuteRows<false>(w.dtype,
                     static_cast<const uint8_t*>(w.data) + static_cast<size_t>(r0) * row_bytes,
                     r1 - r0, w.cols, static_cast<uint8_t*>(dst));
}

WeightMatrix UngroupedMatrix(const WeightMatrix& w, std::vector<uint8_t>* storage) {
  if (w.layout == WeightLayout::kGgml) return w;
  storage->resize(DTypeRowBytes(w.dtype, w.cols) * static_cast<size_t>(w.rows));
  UngroupRows(w, 0, w.rows, storage->data());
  WeightMatrix out = w;
  out.data = storage->data();
  out.layout = WeightLayout::kGgml;
  return out;
}

}  // namespace mamba
