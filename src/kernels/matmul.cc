// SPDX-License-Identifier: MIT
// MatMul, GatherRows and ConvertToF32 (Highway, runtime dispatch). Weights stay in their stored
// dtype (F32/F16/BF16) and are widened to F32 in registers; accumulation is F32. Each output is a
// dot product over `cols` (weights are [rows, cols] row-major). Decode and short prefills (n < 32)
// compute it by register tiles of input rows x weight rows of vector dot products, so every
// loaded weight vector is reused across the input rows of the tile; longer prefills by the
// outer-product GEMM of matmul_gemm-inl.h. Scalar twin: matmul_ref.cc.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/matmul.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <utility>

#include "base/aligned_buffer.h"
#include "base/check.h"
#include "kernels/matmul.h"
#include "kernels/matmul_internal.h"
#include "kernels/quant_internal.h"
#include "kernels/quant_repack.h"
#include "threading/thread_pool.h"

HWY_BEFORE_NAMESPACE();
namespace mamba {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// x86 targets below AVX-512 have 16 vector registers; AVX-512, NEON and SVE have 32. Sizes the
// register tiles of every product path (RowsBatch pairs, prefill tiles, the GEMM).
constexpr bool kSixteenVectorRegisters = HWY_ARCH_X86 && HWY_TARGET > HWY_AVX3;

// Loads Lanes(df) stored weights starting at p, widened to F32.
template <class DF>
HWY_INLINE hn::Vec<DF> LoadW(DF df, const float* HWY_RESTRICT p) {
  return hn::LoadU(df, p);
}
template <class DF>
HWY_INLINE hn::Vec<DF> LoadW(DF df, const hwy::float16_t* HWY_RESTRICT p) {
#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX2 && !defined(HWY_DISABLE_F16C)
  const hn::Rebind<hwy::float16_t, DF> dh;
  return hn::PromoteTo(df, hn::LoadU(dh, p));  // F16C vcvtph2ps
#else
  // Highway 1.0.3's emulated PromoteTo turns F16 inf/NaN (exponent 31) into finite values, so
  // targets without F16C widen the bits here: sign | exponent + (127 - 15) | mantissa << 13.
  const hn::Rebind<uint16_t, DF> du16;
  const hn::RebindToUnsigned<DF> du32;
  const hn::RebindToSigned<DF> di32;
  const auto h = hn::PromoteTo(du32, hn::LoadU(du16, reinterpret_cast<const uint16_t*>(p)));
  const auto exp = hn::And(h, hn::Set(du32, 0x7C00u));
  const auto mant = hn::And(h, hn::Set(du32, 0x3FFu));
  const auto sign = hn::ShiftLeft<16>(hn::And(h, hn::Set(du32, 0x8000u)));
  // Subnormal (exponent 0): mant * 2^-24, exact in F32.
  const auto sub = hn::BitCast(
      du32, hn::Mul(hn::ConvertTo(df, hn::BitCast(di32, mant)), hn::Set(df, 1.0f / 16777216.0f)));
  const auto normal = hn::Add(hn::ShiftLeft<13>(hn::And(h, hn::Set(du32, 0x7FFFu))),
                              hn::Set(du32, (127u - 15u) << 23));
  const auto inf_nan = hn::Or(hn::Set(du32, 0x7F800000u), hn::ShiftLeft<13>(mant));
  const auto bits =
      hn::IfThenElse(hn::Eq(exp, hn::Zero(du32)), sub,
                     hn::IfThenElse(hn::Eq(exp, hn::Set(du32, 0x7C00u)), inf_nan, normal));
  return hn::BitCast(df, hn::Or(sign, bits));
#endif
}
template <class DF>
HWY_INLINE hn::Vec<DF> LoadW(DF df, const hwy::bfloat16_t* HWY_RESTRICT p) {
  const hn::Rebind<hwy::bfloat16_t, DF> dbf;
  return hn::PromoteTo(df, hn::LoadU(dbf, p));  // u16 -> u32, shift left 16
}

// y[i * y_stride + r] = sum_c x[i * x_stride + c] * w[r * cols + c] for i < NX, r < NW.
// x: [NX, cols] (stride x_stride); w: [NW, cols] contiguous rows; y: [NX, NW] (stride y_stride).
// Every product path below the GEMM (short prefill tiles, single and batched decode) is this
// body, so each output is summed in the same order whatever the path: decode is bit-identical to
// those prefills, and a row's result independent of the rows batched with it. kPrefetchAhead > 0:
// the NW rows are swept linearly, that many bytes ahead, into L2 (see kBatchPrefetchBytes).
// kRowAhead > 0: each of the NW rows is prefetched that many bytes ahead of where it is read (see
// RowsStreams). w_row_stride / y_row_stride: elements from weight row r to r + 1 and from output r
// to r + 1 (the defaults: contiguous rows; multi-stream decode passes rows a fraction of a range
// apart).
template <int NX, int NW, typename WT, int64_t kPrefetchAhead = 0, int64_t kRowAhead = 0>
HWY_INLINE void TileBody(const float* HWY_RESTRICT x, int64_t x_stride, const WT* HWY_RESTRICT w,
                         int64_t cols, float* HWY_RESTRICT y, int64_t y_stride,
                         int64_t w_row_stride = -1, int64_t y_row_stride = 1) {
  if (w_row_stride < 0) w_row_stride = cols;
  const hn::ScalableTag<float> df;
  using V = hn::Vec<decltype(df)>;
  const int64_t N = static_cast<int64_t>(hn::Lanes(df));
  V acc[NX][NW];
  for (int i = 0; i < NX; ++i) {
    for (int r = 0; r < NW; ++r) acc[i][r] = hn::Zero(df);
  }
  int64_t c = 0;
  for (; c + N <= cols; c += N) {
    V wv[NW];
    for (int r = 0; r < NW; ++r) {
      if constexpr (kRowAhead > 0) {
        // Each row is its own stream: fetch its line kRowAhead bytes ahead, once per line.
        if ((c * static_cast<int64_t>(sizeof(WT))) % 64 == 0) {
          __builtin_prefetch(reinterpret_cast<const char*>(w + r * w_row_stride + c) + kRowAhead, 0,
                             2);
        }
      }
      if constexpr (kPrefetchAhead > 0) {
        // The NW rows [NW, cols] are one contiguous block consumed NW vectors per step: sweep it
        // at that pace, so the next block's start is fetched too. May point past the matrix
        // (harmless).
        __builtin_prefetch(reinterpret_cast<const void*>(
                               reinterpret_cast<uintptr_t>(w + NW * c + r * N) + kPrefetchAhead),
                           0, 2);
      }
      wv[r] = LoadW(df, w + r * w_row_stride + c);
    }
    for (int i = 0; i < NX; ++i) {
      const V xv = hn::LoadU(df, x + i * x_stride + c);
      for (int r = 0; r < NW; ++r) acc[i][r] = hn::MulAdd(xv, wv[r], acc[i][r]);
    }
  }
  // Remaining cols % N columns: one lane at a time, same conversions.
  const hn::CappedTag<float, 1> d1;
  using V1 = hn::Vec<decltype(d1)>;
  V1 tail[NX][NW];
  for (int i = 0; i < NX; ++i) {
    for (int r = 0; r < NW; ++r) tail[i][r] = hn::Zero(d1);
  }
  for (; c < cols; ++c) {
    for (int r = 0; r < NW; ++r) {
      const V1 wv = LoadW(d1, w + r * w_row_stride + c);
      for (int i = 0; i < NX; ++i) {
        tail[i][r] = hn::MulAdd(hn::LoadU(d1, x + i * x_stride + c), wv, tail[i][r]);
      }
    }
  }
  for (int i = 0; i < NX; ++i) {
    for (int r = 0; r < NW; ++r) {
      y[i * y_stride + r * y_row_stride] =
          hn::GetLane(hn::SumOfLanes(df, acc[i][r])) + hn::GetLane(tail[i][r]);
    }
  }
}

template <int NX, int NW, typename WT>
HWY_NOINLINE void Tile(const float* HWY_RESTRICT x, int64_t x_stride, const WT* HWY_RESTRICT w,
                       int64_t cols, float* HWY_RESTRICT y, int64_t y_stride) {
  TileBody<NX, NW, WT>(x, x_stride, w, cols, y, y_stride);
}

// Batched decode (NX > 1) spends ~NX FMAs per weight vector, so the out-of-order window covers
// too few weight bytes to keep enough DRAM reads in flight: measured on Zen 4 (F32, 8 rows,
// [3072, 768] and [768, 1536] from DRAM, huge pages) 23-30 GFLOP/s on 1 thread and 40-50 on 2
// without a software prefetch, 40-50 and 60-90 with one 4 KiB ahead into L2 (8-16 KiB and L1
// hints were no better). A single row (NX == 1) streams at the full bandwidth on its own and a
// prefetch there only costs (28 -> 20 GB/s for F16), so it has none.
constexpr int64_t kBatchPrefetchBytes = 4096;

// Decode, single or batched (n <= kRowsBatchMax input rows): y[i, r] for r < nrows, i < NX, one
// weight row after the other, so the weights are read as one sequential stream (rows are
// contiguous), which the hardware prefetchers follow at the full read bandwidth; each loaded
// weight vector feeds the NX input rows. Measured on Zen 4 with F16/BF16/F32 rows of 1-2K columns
// from DRAM (huge pages), n == 1: 26-28 GB/s, as fast as a plain streaming read; interleaving 2-4
// rows (separate streams cols apart) drops to 9-12 GB/s without software prefetch and ~24 GB/s
// with it; 2 accumulators per row are no faster than 1 and 4 are slower (21 GB/s); for 8 rows
// (server, 130m F32) the 4-row interleaved Tile<> streamed ~10 GB/s. One accumulator per output
// summed in the same order as Tile<> keeps decode bit-identical to short prefills, and a
// sequence's logits independent of how many others share its batch.
// That one accumulator is one chain of dependent FMAs (4 cycles each on Zen 4 and recent Intel),
// so a single row consumes at most one vector of weights per FMA latency: 64 bytes of F32 or
// 32 bytes of F16/BF16 per chain step with AVX-512, enough for DRAM, but 16 bytes of F16 with
// AVX2, which measured 15-18 GB/s on cache-resident weights and 14-19 GB/s from DRAM (Zen 4,
// --kernels avx2). Decode there runs NR rows per pass (DecodeRowsPerPass): NR independent chains,
// each row's arithmetic unchanged, with the software prefetch the extra streams need: F16/BF16
// on AVX2 33 GB/s cache-resident and 22-27 GB/s from DRAM. (With AVX-512, 2 rows measured slower
// from DRAM, 22-24 vs 25-27 GB/s, and F32 on AVX2 too, 21-22 vs 26-27.)
template <int NX, int NR, typename WT>
HWY_NOINLINE void RowsBatch(const float* HWY_RESTRICT x, int64_t x_stride, const WT* HWY_RESTRICT w,
                            int64_t nrows, int64_t cols, float* HWY_RESTRICT y, int64_t y_stride) {
  MAMBA_DCHECK(nrows % NR == 0, "RowsBatch: %lld rows, not a multiple of %d",
               static_cast<long long>(nrows), NR);
  // NR * kBatchPrefetchBytes: the same time ahead whatever the rows per pass (with two rows and
  // only 4 KiB ahead: 65-80 GFLOP/s instead of 85-100).
  constexpr int64_t kAhead = (NX > 1 || NR > 1) ? NR * kBatchPrefetchBytes : 0;
  for (int64_t r = 0; r < nrows; r += NR) {
    TileBody<NX, NR, WT, kAhead>(x, x_stride, w + r * cols, cols, y + r, y_stride);
  }
}

// Single-row decode of rows [0, nrows) in kDecodeStreams streams: rows i, q + i, 2q + i, ...
// (q = nrows / kDecodeStreams) per pass, each row's arithmetic that of RowsBatch<1, 1>
// (bit-identical), the leftover rows last. Long sequential streams and as many FMA chains: one
// chain of 4-cycle FMAs consumes at most 32 bytes of F16 per 4 cycles (~28 GB/s), about the
// memory's rate, and fell short of it; adjacent rows per pass instead break each stream every
// row, which the hardware prefetchers did not follow (slower than one row). Measured in
// interleaved decode rounds (paired fraction of the bandwidth limit):
// - Zen 4, AVX-512, one row -> two streams: 1.4b F16 1 thread 82.0 -> 90.8 %, 2 threads 82.2 ->
//   88.1 %; 370m F16 1 thread 87.9 -> 94.9 %.
// - Intel Xeon (2 MiB L2), AVX-512, two -> four streams: 370m F16 1 thread 80.2 -> 89.2 %,
//   2 threads 77.1 -> 84.5 %; 1.4b F16 1 thread 81.2 -> 90.6 %; 370m F32 102 -> 106 %, BF16
//   87.4 -> 88.2 %. Eight streams were no faster than four.
// Each stream also prefetches its row kDecodeStreamAhead bytes ahead: the out-of-order window
// holds too few F16/BF16 loads (load, widen, FMA per 32 bytes) to keep enough lines in flight
// across the 4 KiB page boundaries where the hardware prefetchers stop. Intel Xeon, interleaved
// rounds, paired fraction of the limit, no prefetch -> 512 / 1024 / 2048 / 4096 bytes ahead:
// 370m BF16 1 thread 88.3 -> 98.5 / 98.9 / 97.8 / 96.7 %; 370m F32 102.4 -> 104.1 / 102.7 /
// 103.1 / 100.9 %; no prefetch -> 1024: 370m F16 1 thread 88.7 -> 98-99 %, 2 threads 76.4 -> 81.4
// %; 1.4b F16 1 thread 91.5 -> 102-103 %, 2 threads 89.2 -> 99-101 %; 2.8b F16 1 thread 89.2 ->
// 96.3 %.
constexpr int kDecodeStreams = 4;
constexpr int64_t kDecodeStreamAhead = 1024;
template <typename WT>
HWY_NOINLINE void RowsStreams(const float* HWY_RESTRICT x, const WT* HWY_RESTRICT w, int64_t nrows,
                              int64_t cols, float* HWY_RESTRICT y) {
  const int64_t q = nrows / kDecodeStreams;
  for (int64_t i = 0; i < q; ++i) {
    TileBody<1, kDecodeStreams, WT, 0, kDecodeStreamAhead>(x, 0, w + i * cols, cols, y + i, 0,
                                                           q * cols, q);
  }
  for (int64_t r = kDecodeStreams * q; r < nrows; ++r) {
    TileBody<1, 1, WT>(x, 0, w + r * cols, cols, y + r, 0);
  }
}

using RowsBatchFn = void (*)(const float*, int64_t, const void*, int64_t, int64_t, float*, int64_t);
template <int NX, int NR, typename WT>
void RowsBatchErased(const float* x, int64_t x_stride, const void* w, int64_t nrows, int64_t cols,
                     float* y, int64_t y_stride) {
  RowsBatch<NX, NR, WT>(x, x_stride, static_cast<const WT*>(w), nrows, cols, y, y_stride);
}
// Largest batch that takes the RowsBatch path (8 accumulators + a weight and an input vector fit
// the 16 registers of AVX2).
constexpr int kRowsBatchMax = 8;
// Two weight rows per pass halve the input-row loads per FMA. That pays once the NX input rows
// outgrow L1 next to the weight stream (on Zen 4, F32, 8 rows, cache-resident weights: 1536
// columns 43-51 -> 78-84 GFLOP/s; 768 columns, 24 KiB of input rows, slightly slower). It needs
// 2 * NX accumulators + 3 registers: up to 8 rows with 32 vector registers, 6 with 16 (AVX2).
constexpr int64_t kRowsPairMinInputBytes = int64_t{24} << 10;
constexpr int kRowsPairMax = kSixteenVectorRegisters ? 6 : 8;
template <typename WT, int NR, int... NXs>
constexpr auto MakeRowsBatchTable(std::integer_sequence<int, NXs...>) {
  return std::array<RowsBatchFn, sizeof...(NXs)>{&RowsBatchErased<NXs + 1, NR, WT>...};
}

// Weight rows per pass for single-row decode: enough independent FMA chains that they consume
// at least 32 bytes of weights per FMA latency (see RowsBatch): 1 for F32 with AVX2 or wider and
// for F16/BF16 with AVX-512, 2 for F16/BF16 with AVX2 (and F32 with 4 lanes), 4 for F16/BF16
// with 4 lanes (SSE4, NEON).
template <typename WT>
int DecodeRowsPerPass() {
  const hn::ScalableTag<float> df;
  const size_t bytes_per_step = hn::Lanes(df) * sizeof(WT);
  return bytes_per_step >= 32 ? 1 : bytes_per_step >= 16 ? 2 : 4;
}

using TileFn = void (*)(const float*, int64_t, const void*, int64_t, float*, int64_t);

template <int NX, int NW, typename WT>
void TileErased(const float* x, int64_t x_stride, const void* w, int64_t cols, float* y,
                int64_t y_stride) {
  Tile<NX, NW, WT>(x, x_stride, static_cast<const WT*>(w), cols, y, y_stride);
}

// Prefill tile: kTileX input rows x kTileW weight rows of accumulators. With 16 vector
// registers (AVX2, SSE) 4 x 3 = 12 accumulators leaves room for the 3 weight vectors and one
// input vector; with 32 (AVX-512) 4 x 4 halved the loads per FMA, which measured ~1.6x faster on
// Zen 4 (where 4 x 4 spills on AVX2 and is slower than 4 x 3), and 4 x 6 (24 accumulators, 6
// weight vectors, one input vector) reads the input rows from L2 a third less often: on an Intel
// Xeon (two 512-bit FMA ports, 2 MiB L2) with the weights widened once per block, 370m pp256 at
// 1 thread F16 130-133 -> 137-139 t/s, BF16 127-137 (120 before widening once), 1.4b F16 pp512 at
// 2 threads 58.5-60.1 (55.0-56.4 before either); F32 unchanged. 3 x 8 spills (100 t/s).
constexpr int kTileX = 4;
constexpr int kTileW = kSixteenVectorRegisters ? 3 : 6;
// Decode (n == 1): rows per parallel chunk are a multiple of this.
constexpr int kDecodeW = 4;
// Prefill: most bytes of F32 input rows in one block, i.e. one sweep of every weight row. The
// input rows are re-read from cache once per kTileW weight rows, the weights from memory once per
// block, so fewer, larger blocks pay once the weights outgrow the caches: on Zen 4 (1 MiB L2,
// 32 MiB L3), pp512 in chunks of 128 tokens, 2 threads, F16, % of the FMA peak for 256 KiB /
// 512 KiB / 1 MiB / 2 MiB blocks: 2.8b shape 63.7 / 68.7-69.7 / 70.9-71.8 / 72.7, 1.4b 67.4-69.0 /
// 69.0-70.8 / 70.4-71.3 / 72.0; 370m BF16 and 130m F32 (one block from 512 KiB on) +1-3 %.
constexpr int64_t kXBlockBytes = int64_t{2} << 20;
// Minimum multiply-adds per parallel chunk, so tiny products stay on the calling thread.
constexpr int64_t kMinMacsPerChunk = 32768;

template <typename WT, int NX, int... NWs>
constexpr auto MakeTileRow(std::integer_sequence<int, NWs...>) {
  return std::array<TileFn, sizeof...(NWs)>{&TileErased<NX, NWs + 1, WT>...};
}
template <typename WT, int... NXs>
constexpr auto MakeTileTable(std::integer_sequence<int, NXs...>) {
  return std::array<std::array<TileFn, kTileW>, sizeof...(NXs)>{
      MakeTileRow<WT, NXs + 1>(std::make_integer_sequence<int, kTileW>())...};
}

// Row ranges for decode (n <= kRowsBatchMax), claimed dynamically and shrinking towards the end
// (ThreadPool::kGuided): decode is memory-bound and threads do not get equal bandwidth, so equal
// halves leave the faster one idle.
constexpr int kDecodeRangesPerThread = ThreadPool::kGuided;

// Rows per parallel chunk: a multiple of `unit`, at least kMinMacsPerChunk multiply-adds.
inline int64_t RowGrain(int64_t cols, int64_t n, int64_t unit) {
  const int64_t macs_per_row = std::max<int64_t>(1, cols * n);
  const int64_t rows = std::max<int64_t>(unit, kMinMacsPerChunk / macs_per_row);
  return (rows + unit - 1) / unit * unit;
}

// dst[0, n) = src[0, n) widened to F32 (exact), by the tiles' own conversions (LoadW).
template <typename WT>
void ConvertRow(const WT* HWY_RESTRICT src, int64_t n, float* HWY_RESTRICT dst) {
  const hn::ScalableTag<float> df;
  const int64_t N = static_cast<int64_t>(hn::Lanes(df));
  int64_t c = 0;
  for (; c + N <= n; c += N) hn::StoreU(LoadW(df, src + c), df, dst + c);
  const hn::CappedTag<float, 1> d1;
  for (; c < n; ++c) hn::StoreU(LoadW(d1, src + c), d1, dst + c);
}

// clang-format off
#include "kernels/matmul_gemm-inl.h"
// clang-format on

template <typename WT>
void MatMulT(const WeightMatrix& w, const float* x, int64_t x_stride, int64_t n, float* y,
             int64_t y_stride, ThreadPool* pool) {
  const WT* wd = static_cast<const WT*>(w.data);  // [rows, cols]
  const int64_t cols = w.cols;
  if (n <= kRowsBatchMax) {
    static constexpr auto kBatch =
        MakeRowsBatchTable<WT, 1>(std::make_integer_sequence<int, kRowsBatchMax>());
    static constexpr auto kPairs =
        MakeRowsBatchTable<WT, 2>(std::make_integer_sequence<int, kRowsPairMax>());
    static constexpr RowsBatchFn kQuads = &RowsBatchErased<1, 4, WT>;
    // Rows per pass: 2 for batched decode once the input rows outgrow L1; for one input row,
    // enough independent FMA chains to keep up with memory (DecodeRowsPerPass), and where that
    // is one, several streams of rows (RowsStreams).
    int rows_per_pass = 1;
    if (n == 1) {
      rows_per_pass = DecodeRowsPerPass<WT>();
    } else if (n <= kRowsPairMax && n * cols * int64_t{sizeof(float)} > kRowsPairMinInputBytes) {
      rows_per_pass = 2;
    }
    ParallelForOrInline(
        pool, w.rows, RowGrain(cols, n, kDecodeW),
        [&](int64_t r0, int64_t r1) {
          int64_t r = r0;
          if (n == 1 && rows_per_pass == 1) {
            RowsStreams<WT>(x, wd + r0 * cols, r1 - r0, cols, y + r0);
            return;
          }
          if (rows_per_pass > 1) {
            const int64_t whole = (r1 - r0) / rows_per_pass * rows_per_pass;
            const RowsBatchFn fn = rows_per_pass == 4 ? kQuads : kPairs[n - 1];
            fn(x, x_stride, wd + r * cols, whole, cols, y + r, y_stride);
            r += whole;
          }
          if (r < r1) kBatch[n - 1](x, x_stride, wd + r * cols, r1 - r, cols, y + r, y_stride);
        },
        kDecodeRangesPerThread);
    return;
  }
  if (n >= kGemmMinRows) return GemmT<WT>(wd, w.rows, cols, x, x_stride, n, y, y_stride, pool);
  static constexpr auto kTable = MakeTileTable<WT>(std::make_integer_sequence<int, kTileX>());
  // Input rows per block: every weight row of this thread's range streams past the block
  // [x_block, cols] F32 once; each loaded weight vector is reused by the kTileX input rows of a
  // tile. Blocks of equal size (a multiple of kTileX), as few as fit kXBlockBytes.
  const int64_t x_row_bytes = std::max<int64_t>(1, cols) * int64_t{sizeof(float)};
  const int64_t max_rows = std::max<int64_t>(kTileX, kXBlockBytes / x_row_bytes / kTileX * kTileX);
  const int64_t n_blocks = (n + max_rows - 1) / max_rows;
  const int64_t x_block = ((n + n_blocks - 1) / n_blocks + kTileX - 1) / kTileX * kTileX;
  static constexpr auto kF32Table = MakeTileTable<float>(std::make_integer_sequence<int, kTileX>());
  // F16 / BF16 weights with more than one tile of input rows per block: the tile's kTileW weight
  // rows are widened to F32 once (exactly, so the same products and sums as widening in the
  // tile) and reused by every input tile of the block, instead of widened again per tile (on
  // cores with two 512-bit FMA ports the widening competes with the FMAs for a port).
  const bool widen_once = !std::is_same_v<WT, float> && x_block > kTileX;
  ParallelForOrInline(pool, w.rows, RowGrain(cols, n, kTileW), [&](int64_t r0, int64_t r1) {
    AlignedBuffer<float> wide;  // [kTileW, cols] when widen_once
    if (widen_once) wide.Resize(kTileW * cols);
    for (int64_t i0 = 0; i0 < n; i0 += x_block) {
      const int64_t i1 = std::min(n, i0 + x_block);
      for (int64_t r = r0; r < r1; r += kTileW) {
        const int64_t nw = std::min<int64_t>(kTileW, r1 - r);
        if (widen_once) {
          ConvertRow(wd + r * cols, nw * cols, wide.data());
          for (int64_t i = i0; i < i1; i += kTileX) {
            const int64_t nx = std::min<int64_t>(kTileX, i1 - i);
            kF32Table[nx - 1][nw - 1](x + i * x_stride, x_stride, wide.data(), cols,
                                      y + i * y_stride + r, y_stride);
          }
          continue;
        }
        for (int64_t i = i0; i < i1; i += kTileX) {
          const int64_t nx = std::min<int64_t>(kTileX, i1 - i);
          kTable[nx - 1][nw - 1](x + i * x_stride, x_stride, wd + r * cols, cols,
                                 y + i * y_stride + r, y_stride);
        }
      }
    }
  });
}

void MatMulSimd(const WeightMatrix& w, const float* x, int64_t x_stride, int64_t n, float* y,
                int64_t y_stride, ThreadPool* pool) {
  switch (w.dtype) {
    case DType::kF32:
      return MatMulT<float>(w, x, x_stride, n, y, y_stride, pool);
    case DType::kF16:
      return MatMulT<hwy::float16_t>(w, x, x_stride, n, y, y_stride, pool);
    case DType::kBF16:
      return MatMulT<hwy::bfloat16_t>(w, x, x_stride, n, y, y_stride, pool);
    default:  // quantized dtypes never reach here (MatMul routes them to QuantMatMul)
      break;
  }
  MAMBA_CHECK(false, "MatMul: unsupported dtype %d", static_cast<int>(w.dtype));
}

void ConvertToF32Simd(DType dtype, const void* src, int64_t n, float* dst) {
  switch (dtype) {
    case DType::kF32:
      if (n > 0) std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
      return;
    case DType::kF16:
      return ConvertRow(static_cast<const hwy::float16_t*>(src), n, dst);
    case DType::kBF16:
      return ConvertRow(static_cast<const hwy::bfloat16_t*>(src), n, dst);
    default:  // quantized dtypes never reach here (ConvertToF32 routes them to DequantizeRow)
      break;
  }
  MAMBA_CHECK(false, "ConvertToF32: unsupported dtype %d", static_cast<int>(dtype));
}

}  // namespace HWY_NAMESPACE
}  // namespace mamba
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace mamba {

HWY_EXPORT(MatMulSimd);
HWY_EXPORT(ConvertToF32Simd);

void MatMul(const WeightMatrix& w, const float* x, int64_t x_stride, int64_t n, float* y,
            int64_t y_stride, ThreadPool* pool) {
  MAMBA_DCHECK(n >= 0 && w.rows >= 0 && w.cols >= 0);
  if (n == 0 || w.rows == 0) return;
  if (IsQuantized(w.dtype)) {
    return kernels_internal::QuantMatMul(w, x, x_stride, n, y, y_stride, pool);
  }
#if MAMBA_HAVE_BLAS
  if (w.dtype == DType::kF32 && n >= kernels_internal::kBlasMinRows) {
    return kernels_internal::MatMulBlasF32(w, x, x_stride, n, y, y_stride, pool);
  }
#endif
  HWY_DYNAMIC_DISPATCH(MatMulSimd)(w, x, x_stride, n, y, y_stride, pool);
}

const char* MatMulBlasName() {
#if defined(MAMBA_BLAS_OPENBLAS)
  return "OpenBLAS";
#elif defined(MAMBA_BLAS_BLIS)
  return "BLIS";
#elif defined(MAMBA_BLAS_MKL)
  return "MKL";
#elif defined(MAMBA_BLAS_ACCELERATE)
  return "Accelerate";
#else
  return nullptr;
#endif
}

void ConvertToF32(DType dtype, const void* src, int64_t n, float* dst) {
  if (IsQuantized(dtype)) return kernels_internal::DequantizeRow(dtype, src, n, dst);
  HWY_DYNAMIC_DISPATCH(ConvertToF32Simd)(dtype, src, n, dst);
}

// out[i, :] = W[ids[i], :]: one row conversion per id.
void GatherRows(const WeightMatrix& w, const int32_t* ids, int64_t n, float* out,
                int64_t out_stride) {
  const size_t row_bytes = DTypeRowBytes(w.dtype, w.cols);
  std::vector<uint8_t> row;  // a kGroups8 row in the stored layout
  if (w.layout != WeightLayout::kGgml) row.resize(row_bytes);
  for (int64_t i = 0; i < n; ++i) {
    MAMBA_DCHECK(ids[i] >= 0 && ids[i] < w.rows, "GatherRows: id %d out of [0, %lld)", ids[i],
                 static_cast<long long>(w.rows));
    const uint8_t* src = kernels_internal::WeightRow(w, row_bytes, ids[i]);
    if (w.layout != WeightLayout::kGgml) {
      UngroupRows(w, ids[i], ids[i] + 1, row.data());
      src = row.data();
    }
    ConvertToF32(w.dtype, src, w.cols, out + i * out_stride);
  }
}

}  // namespace mamba
#endif  // HWY_ONCE
