// SPDX-License-Identifier: MIT
// Prefill GEMM for F32/F16/BF16 weights, included by matmul.cc inside its per-target namespace
// (uses LoadW, ConvertRow and kSixteenVectorRegisters from there). y[i, r] = sum_k x[i, k] * w[r,
// k] for n >= kGemmMinRows input rows, in the register-blocked outer-product form: a kGemmMR x
// kGemmNV tile of accumulators holds kGemmMR weight rows x (kGemmNV * lanes) input rows; each step
// k loads kGemmNV vectors of inputs (packed k-major: [panel][cols][kGemmNV * lanes]) and broadcasts
// one widened weight per weight row. Each output sums k = 0, 1, 2, ... in order, one product at a
// time, whatever the tile, thread count or batch: deterministic, but not the order of the decode
// kernels (lane j of a vector takes columns j, j + N, ...), so prefill and decode agree to F32
// rounding, not bit for bit.
// Why this form: on an Intel Xeon (two 512-bit FMA ports) a cache-resident 4 x 6 dot-product tile
// (10 full-vector loads per 24 FMAs) peaked at 65 % of the FMA peak; the outer-product tile (2
// vector loads and 14 broadcasts per 28 FMAs) at 83-85 %.
#if defined(MAMBA_KERNELS_MATMUL_GEMM_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef MAMBA_KERNELS_MATMUL_GEMM_INL_H_
#undef MAMBA_KERNELS_MATMUL_GEMM_INL_H_
#else
#define MAMBA_KERNELS_MATMUL_GEMM_INL_H_
#endif

// (Included inside namespace mamba::HWY_NAMESPACE, after LoadW, ConvertRow and RowGrain.)

// Tile: kGemmMR weight rows x kGemmNV vectors of input rows; kGemmMR * kGemmNV accumulators, the
// kGemmNV input vectors and one broadcast weight fit the vector registers (32 on AVX-512 and
// SVE/NEON-class targets, 16 on AVX2/SSE4).
constexpr int kGemmMR = kSixteenVectorRegisters ? 6 : 14;
constexpr int kGemmNV = 2;
// Fewest input rows that take the GEMM; fewer take the dot-product tiles (bit-identical to
// decode), so a batched decode step of fewer sequences gives each the bits of decoding it alone.
constexpr int64_t kGemmMinRows = 32;

// Columns per weight block: a tile's kGemmMR widened weight rows are [kGemmMR][kGemmKC], a
// compile-time stride, so one pointer with constant offsets reads every row's broadcast.
constexpr int64_t kGemmKC = 256;

// c[m][v] (kGemmMR x kGemmNV vectors) += sum over k < kc of wa[m][k] * xp[k][v], k in order
// (c taken as zero when `first`). wa: [kGemmMR][kGemmKC] widened weights; xp: [kc][kGemmNV * N]
// packed inputs; c: [kGemmMR][kGemmNV * N].
// The packed inputs are prefetched into L1 kGemmXpAhead steps of k ahead: without it the two
// input loads of each step were the tile's main stall (1.4b F16 pp512: 82-86 -> 88-93 t/s).
// Past the last step this reaches into the next block or past the buffer, harmless for a
// prefetch (the address is formed as an integer).
constexpr int64_t kGemmXpAhead = 16;
// pf[0, n_pf): cache lines to prefetch into L2, spread evenly over the steps of k (a burst of
// them before the tile filled the line fill buffers and stalled the core).
template <class DF>
HWY_NOINLINE void GemmTile(DF df, const float* HWY_RESTRICT wa, const float* HWY_RESTRICT xp,
                           int64_t kc, bool first, float* HWY_RESTRICT c,
                           const char* const* HWY_RESTRICT pf, int64_t n_pf) {
  using V = hn::Vec<DF>;
  const int64_t N = static_cast<int64_t>(hn::Lanes(df));
  V acc[kGemmMR][kGemmNV];
  for (int m = 0; m < kGemmMR; ++m) {
    for (int v = 0; v < kGemmNV; ++v) {
      acc[m][v] = first ? hn::Zero(df) : hn::Load(df, c + (m * kGemmNV + v) * N);
    }
  }
  const int64_t pf_every = std::max<int64_t>(1, kc / std::max<int64_t>(1, n_pf));
  int64_t pf_countdown = 1, pf_next = 0;
  for (int64_t k = 0; k < kc; ++k) {
    if (--pf_countdown == 0) {
      pf_countdown = pf_every;
      if (pf_next < n_pf) __builtin_prefetch(pf[pf_next++], 0, 2);
    }
    V xv[kGemmNV];
    for (int v = 0; v < kGemmNV; ++v) {
      const uintptr_t ahead =
          reinterpret_cast<uintptr_t>(xp) +
          sizeof(float) * static_cast<uintptr_t>(((k + kGemmXpAhead) * kGemmNV + v) * N);
      __builtin_prefetch(reinterpret_cast<const void*>(ahead), 0, 3);
      xv[v] = hn::Load(df, xp + (k * kGemmNV + v) * N);
    }
    for (int m = 0; m < kGemmMR; ++m) {
      const V b = hn::Set(df, wa[m * kGemmKC + k]);
      for (int v = 0; v < kGemmNV; ++v) acc[m][v] = hn::MulAdd(b, xv[v], acc[m][v]);
    }
  }
  for (int m = 0; m < kGemmMR; ++m) {
    for (int v = 0; v < kGemmNV; ++v) hn::Store(acc[m][v], df, c + (m * kGemmNV + v) * N);
  }
}

// xp[p][k][j] = x[(p * P + j) * x_stride + k] (P = kGemmNV * N input rows per panel), zero for
// rows >= n: the inputs as k-major panels, so a tile's input vectors are one sequential read.
// Copied in blocks of 16 columns x P rows: P lines read, one 16 x P block written (in L1).
inline void PackInputPanels(const float* HWY_RESTRICT x, int64_t x_stride, int64_t n, int64_t cols,
                            int64_t P, int64_t p0, int64_t p1, float* HWY_RESTRICT xp) {
  constexpr int64_t kBlock = 16;
  for (int64_t p = p0; p < p1; ++p) {
    float* HWY_RESTRICT panel = xp + p * cols * P;
    const int64_t rows = std::min(P, n - p * P);
    for (int64_t k0 = 0; k0 < cols; k0 += kBlock) {
      const int64_t k1 = std::min(cols, k0 + kBlock);
      for (int64_t j = 0; j < rows; ++j) {
        const float* HWY_RESTRICT row = x + (p * P + j) * x_stride;
        for (int64_t k = k0; k < k1; ++k) panel[k * P + j] = row[k];
      }
      for (int64_t j = rows; j < P; ++j) {
        for (int64_t k = k0; k < k1; ++k) panel[k * P + j] = 0.0f;
      }
    }
  }
}

template <typename WT>
void GemmT(const WT* HWY_RESTRICT wd, int64_t rows, int64_t cols, const float* x, int64_t x_stride,
           int64_t n, float* y, int64_t y_stride, ThreadPool* pool) {
  const hn::ScalableTag<float> df;
  const int64_t N = static_cast<int64_t>(hn::Lanes(df));
  const int64_t P = kGemmNV * N;  // input rows per panel
  const int64_t panels = (n + P - 1) / P;
  // The inputs packed once, [panels][cols][P], in a buffer kept by the calling thread between
  // calls (a fresh allocation per call spent ~5 % of a 1.4b-shaped product zeroing new pages).
  // (A copy per thread, each packing all panels into its own core's caches, was no faster.)
  static thread_local AlignedBuffer<float> xp_buffer;
  xp_buffer.EnsureSize(static_cast<size_t>(panels * P * cols));
  float* xp = xp_buffer.data();  // (the pool's threads would see their own thread_local)
  ParallelForOrInline(pool, panels, 1, [&](int64_t p0, int64_t p1) {
    PackInputPanels(x, x_stride, n, cols, P, p0, p1, xp);
  });
  const int64_t grain = RowGrain(cols, n, kGemmMR);
  ParallelForOrInline(pool, rows, grain, [&](int64_t r0, int64_t r1) {
    // (Built here, not captured: sizeless vector types, e.g. SVE's, cannot be captured.)
    const hn::RebindToSigned<decltype(df)> di;
    const auto gather_idx = hn::Mul(hn::Iota(di, 0), hn::Set(di, static_cast<int32_t>(P)));
    AlignedBuffer<float> wa(static_cast<size_t>(kGemmMR * kGemmKC));  // [kGemmMR][kGemmKC]
    // [panels][kGemmMR][P], and N rows of padding for the gathers below.
    AlignedBuffer<float> c(static_cast<size_t>((panels * kGemmMR + N) * P));
    std::vector<const char*> pf_lines(
        static_cast<size_t>(kGemmMR * ((kGemmKC * int64_t{sizeof(WT)} + 63) / 64)));
    for (int64_t r = r0; r < r1; r += kGemmMR) {
      const int64_t mr = std::min<int64_t>(kGemmMR, r1 - r);
      for (int64_t k0 = 0; k0 < cols; k0 += kGemmKC) {
        const int64_t kc = std::min<int64_t>(kGemmKC, cols - k0);
        for (int64_t m = 0; m < kGemmMR; ++m) {
          float* dst = wa.data() + m * kGemmKC;
          if (m < mr) {
            ConvertRow(wd + (r + m) * cols + k0, kc, dst);
          } else {
            std::fill(dst, dst + kc, 0.0f);
          }
        }
        // The next block's weights (this tile's next columns, or the next tile's first) are
        // prefetched into L2 while the panels run (each row gives 16 B per block step, little
        // for the hardware prefetchers), one line every few k steps of the tiles: issued in one
        // burst before them, the prefetches filled the line fill buffers and stalled the core
        // (1.4b F16 pp512, 2 threads: ~30 % of the widening's samples on that loop; spread,
        // 79.5-84.4 -> 82.3-85.6 t/s). Into L1, or 2 blocks ahead: no faster.
        const int64_t next_r = k0 + kc < cols ? r : r + kGemmMR;
        const int64_t next_k = k0 + kc < cols ? k0 + kc : 0;
        const int64_t next_bytes = std::min(kGemmKC, cols - next_k) * int64_t{sizeof(WT)};
        const int64_t next_rows = std::max<int64_t>(0, std::min<int64_t>(kGemmMR, r1 - next_r));
        int64_t n_pf = 0;
        for (int64_t m = 0; m < next_rows; ++m) {
          const auto* next = reinterpret_cast<const char*>(wd + (next_r + m) * cols + next_k);
          for (int64_t b = 0; b < next_bytes; b += 64) pf_lines[n_pf++] = next + b;
        }
        // Spread over the panels' k steps: each panel takes its share of the lines.
        const int64_t per_panel = (n_pf + panels - 1) / panels;
        for (int64_t p = 0; p < panels; ++p) {
          const int64_t pf0 = std::min(n_pf, p * per_panel);
          const int64_t pf1 = std::min(n_pf, pf0 + per_panel);
          GemmTile(df, wa.data(), xp + (p * cols + k0) * P, kc, k0 == 0, c.data() + p * kGemmMR * P,
                   pf_lines.data() + pf0, pf1 - pf0);
        }
      }
      // y[i, r + m] = c[p][m][j] for input row i = p * P + j: kGemmMR outputs per input row,
      // contiguous in y, gathered N at a time from the tile's columns (P apart).
      for (int64_t p = 0; p < panels; ++p) {
        const float* cp = c.data() + p * kGemmMR * P;
        const int64_t valid = std::min<int64_t>(P, n - p * P);
        for (int64_t j = 0; j < valid; ++j) {
          float* HWY_RESTRICT y_row = y + (p * P + j) * y_stride + r;
          // N lanes at a time while this thread owns the N columns: lanes past mr write
          // outputs of this thread's next tile, which rewrites them later (c is padded so the
          // gather stays inside it).
          int64_t m = 0;
          for (; m < mr && r + m + N <= r1; m += N) {
            hn::StoreU(hn::GatherIndex(df, cp + m * P + j, gather_idx), df, y_row + m);
          }
          for (; m < mr; ++m) y_row[m] = cp[m * P + j];
        }
      }
    }
  });
}

#endif  // include guard
