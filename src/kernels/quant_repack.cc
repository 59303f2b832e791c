// SPDX-License-Identifier: MIT
// Scalar regrouping of quantized rows to and from the kGroups8 layout (a byte permutation; for
// the K-quants a permutation of their codes).
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

// One Q4_K / Q5_K superblock to its kGroups8 form (kToGroups) or back: the header stays, the
// codes are a nibble permutation done through the 256 codes in element order (grouped byte
// 32t + 16h + 4j + b pairs elements 32j + 16h + 4t + b and that + 128, quant::Q4KGroupedElement:
// t and j swap places), Q5_K's 5th bits a bit permutation (quant::Q5KGroupedBitElement).
template <bool kToGroups>
void PermuteKQuant(bool q5, const uint8_t* src, uint8_t* dst) {
  const size_t codes_at = quant::KQuantCodesOffset(q5);
  std::memcpy(dst, src, 16);
  const uint8_t* in = src + codes_at;
  uint8_t* out = dst + codes_at;
  uint8_t codes[256];  // element order
  uint8_t lo[128], hi[128];
  if constexpr (kToGroups) {
    for (int c = 0; c < 4; ++c) {
      for (int i = 0; i < 32; ++i) {
        codes[64 * c + i] = in[32 * c + i] & 0xF;
        codes[64 * c + 32 + i] = in[32 * c + i] >> 4;
      }
    }
    for (int t = 0; t < 4; ++t) {
      for (int h = 0; h < 2; ++h) {
        for (int j = 0; j < 4; ++j) {
          std::memcpy(lo + 32 * t + 16 * h + 4 * j, codes + 32 * j + 16 * h + 4 * t, 4);
          std::memcpy(hi + 32 * t + 16 * h + 4 * j, codes + 128 + 32 * j + 16 * h + 4 * t, 4);
        }
      }
    }
    for (int i = 0; i < 128; ++i) out[i] = static_cast<uint8_t>(lo[i] | hi[i] << 4);
  } else {
    for (int i = 0; i < 128; ++i) {
      lo[i] = in[i] & 0xF;
      hi[i] = in[i] >> 4;
    }
    for (int t = 0; t < 4; ++t) {
      for (int h = 0; h < 2; ++h) {
        for (int j = 0; j < 4; ++j) {
          std::memcpy(codes + 32 * j + 16 * h + 4 * t, lo + 32 * t + 16 * h + 4 * j, 4);
          std::memcpy(codes + 128 + 32 * j + 16 * h + 4 * t, hi + 32 * t + 16 * h + 4 * j, 4);
        }
      }
    }
    for (int c = 0; c < 4; ++c) {
      for (int i = 0; i < 32; ++i) {
        out[32 * c + i] = static_cast<uint8_t>(codes[64 * c + i] | codes[64 * c + 32 + i] << 4);
      }
    }
  }
  if (q5) {
    const uint8_t* qh = src + 16;
    uint8_t* qh_out = dst + 16;
    std::memset(qh_out, 0, 32);
    for (int i = 0; i < 32; ++i) {
      for (int m = 0; m < 8; ++m) {
        const int e = quant::Q5KGroupedBitElement(i, m);
        if constexpr (kToGroups) {
          qh_out[i] = static_cast<uint8_t>(qh_out[i] | ((qh[e % 32] >> (e / 32)) & 1) << m);
        } else {
          qh_out[e % 32] = static_cast<uint8_t>(qh_out[e % 32] | ((qh[i] >> m) & 1) << (e / 32));
        }
      }
    }
  }
}

// ggml's Q6_K code encoding: the 256 6-bit codes of a superblock (element order) to and from
// ql (low 4 bits) and qh (high 2 bits).
void DecodeQ6KCodes(const uint8_t* ql, const uint8_t* qh, uint8_t* codes) {
  for (int h = 0; h < 2; ++h) {
    for (int l = 0; l < 32; ++l) {
      const int hi = qh[32 * h + l];
      const uint8_t* q = ql + 64 * h;
      uint8_t* c = codes + 128 * h;
      c[l] = static_cast<uint8_t>((q[l] & 0xF) | (hi & 3) << 4);
      c[l + 32] = static_cast<uint8_t>((q[l + 32] & 0xF) | ((hi >> 2) & 3) << 4);
      c[l + 64] = static_cast<uint8_t>((q[l] >> 4) | ((hi >> 4) & 3) << 4);
      c[l + 96] = static_cast<uint8_t>((q[l + 32] >> 4) | ((hi >> 6) & 3) << 4);
    }
  }
}
void EncodeQ6KCodes(const uint8_t* codes, uint8_t* ql, uint8_t* qh) {
  for (int h = 0; h < 2; ++h) {
    for (int l = 0; l < 32; ++l) {
      const uint8_t* c = codes + 128 * h;
      ql[64 * h + l] = static_cast<uint8_t>((c[l] & 0xF) | (c[l + 64] & 0xF) << 4);
      ql[64 * h + l + 32] = static_cast<uint8_t>((c[l + 32] & 0xF) | (c[l + 96] & 0xF) << 4);
      qh[32 * h + l] = static_cast<uint8_t>(c[l] >> 4 | (c[l + 32] >> 4) << 2 |
                                            (c[l + 64] >> 4) << 4 | (c[l + 96] >> 4) << 6);
    }
  }
}

// One Q6_K superblock to its kGroups8 form (kToGroups) or back (quant::Q6KGroupedElement).
template <bool kToGroups>
void PermuteQ6K(const uint8_t* src, uint8_t* dst) {
  uint8_t in[256], out[256];
  DecodeQ6KCodes(src, src + 128, in);
  for (int n = 0; n < 8; ++n) {
    for (int i = 0; i < 32; ++i) {
      const int e = quant::Q6KGroupedElement(n, i / 4, i % 4);
      if constexpr (kToGroups) {
        out[32 * n + i] = in[e];
      } else {
        out[e] = in[32 * n + i];
      }
    }
  }
  EncodeQ6KCodes(out, dst, dst + 128);
  std::memcpy(dst + 192, src + 192, 18);  // scales, d
}

template <bool kToGroups>
void PermuteRows(DType dtype, const uint8_t* src, int64_t rows, int64_t cols, uint8_t* dst) {
  if (dtype == DType::kQ6_K) {
    MAMBA_CHECK(cols % 256 == 0, "kGroups8: Q6_K rows of %lld elements",
                static_cast<long long>(cols));
    const size_t n = static_cast<size_t>(rows * (cols / 256));
    for (size_t i = 0; i < n; ++i) PermuteQ6K<kToGroups>(src + 210 * i, dst + 210 * i);
    return;
  }
  if (dtype == DType::kQ4_K || dtype == DType::kQ5_K) {
    MAMBA_CHECK(cols % 256 == 0, "kGroups8: %s rows of %lld elements", DTypeName(dtype).data(),
                static_cast<long long>(cols));
    const bool q5 = dtype == DType::kQ5_K;
    const size_t bytes = GetDTypeInfo(dtype).block_bytes;
    const size_t n = static_cast<size_t>(rows * (cols / 256));
    for (size_t i = 0; i < n; ++i) PermuteKQuant<kToGroups>(q5, src + bytes * i, dst + bytes * i);
    return;
  }
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

bool HasGroups8Layout(DType dtype) {
  return dtype == DType::kQ4_K || dtype == DType::kQ5_K || dtype == DType::kQ6_K ||
         quant::Groups8Of(dtype).block_bytes != 0;
}

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
