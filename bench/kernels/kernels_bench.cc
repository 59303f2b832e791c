// SPDX-License-Identifier: MIT
// Microbenchmarks of the kernels at Mamba-130m/370m-like shapes, SIMD (dispatched to the best
// target) vs the scalar references. Single-threaded unless the name says otherwise.
// Run: [MAMBA_BENCH_TARGET=AVX2] kernels_bench [--benchmark_filter=MatMul]
#include <benchmark/benchmark.h>

#include <sys/mman.h>

#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "base/dtype.h"
#include "hwy/highway.h"
#include "kernels/conv1d.h"
#include "kernels/kernel_target.h"
#include "kernels/matmul.h"
#include "kernels/probe.h"
#include "kernels/quant_repack.h"
#include "kernels/quantize.h"
#include "kernels/rmsnorm.h"
#include "kernels/ssm_scan.h"
#include "threading/thread_pool.h"

namespace mamba {
namespace {

// A zeroed buffer on 2 MiB-aligned memory with transparent huge pages requested, as the engine's
// mapped weights get (MADV_HUGEPAGE): with 4 KiB pages the hardware prefetchers stop at every
// page boundary, which the engine never sees.
struct HugeBuffer {
  explicit HugeBuffer(size_t n) : bytes(n) {
    const size_t kHuge = size_t{2} << 20;
    ptr.reset(static_cast<uint8_t*>(std::aligned_alloc(kHuge, (n + kHuge - 1) / kHuge * kHuge)));
    madvise(ptr.get(), (n + kHuge - 1) / kHuge * kHuge, MADV_HUGEPAGE);
    std::memset(ptr.get(), 0, n);
  }
  uint8_t* data() const { return ptr.get(); }
  size_t size() const { return bytes; }
  uint8_t& operator[](size_t i) { return ptr.get()[i]; }
  struct Free {
    void operator()(uint8_t* p) const { std::free(p); }
  };
  std::unique_ptr<uint8_t, Free> ptr;
  size_t bytes;
};

std::vector<float> Random(size_t n, float lo, float hi, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (float& f : v) f = dist(rng);
  return v;
}

// Weights [rows, cols] in `dtype` (bits kept in `storage`).
struct BenchWeights {
  std::vector<float> f32;
  std::vector<uint16_t> u16;
  WeightMatrix w;
};

BenchWeights MakeWeights(DType dtype, int64_t rows, int64_t cols) {
  BenchWeights b;
  b.f32 = Random(rows * cols, -1, 1, 1);
  if (dtype != DType::kF32) {
    b.u16.resize(b.f32.size());
    for (size_t i = 0; i < b.f32.size(); ++i) {
      b.u16[i] = dtype == DType::kF16 ? F32ToF16(b.f32[i]) : F32ToBF16(b.f32[i]);
    }
  }
  b.w = WeightMatrix{dtype,
                     dtype == DType::kF32 ? static_cast<const void*>(b.f32.data())
                                          : static_cast<const void*>(b.u16.data()),
                     rows, cols};
  return b;
}

// Args: dtype (0 F32, 1 F16, 2 BF16), rows, cols, n, threads (0 = no pool), ref (1 = MatMulRef).
void BM_MatMul(benchmark::State& state) {
  const DType dtype = static_cast<DType>(state.range(0));
  const int64_t rows = state.range(1), cols = state.range(2), n = state.range(3);
  const int threads = static_cast<int>(state.range(4));
  const bool ref = state.range(5) != 0;
  const BenchWeights b = MakeWeights(dtype, rows, cols);
  const std::vector<float> x = Random(n * cols, -1, 1, 2);  // [n, cols]
  std::vector<float> y(n * rows);                           // [n, rows]
  std::unique_ptr<ThreadPool> pool = threads > 0 ? std::make_unique<ThreadPool>(threads) : nullptr;
  for (auto _ : state) {
    if (ref) {
      MatMulRef(b.w, x.data(), cols, n, y.data(), rows);
    } else {
      MatMul(b.w, x.data(), cols, n, y.data(), rows, pool.get());
    }
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  const double flops = 2.0 * rows * cols * n;
  const double weight_bytes = static_cast<double>(DTypeRowBytes(dtype, cols)) * rows;
  state.counters["GFLOP/s"] =
      benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["wGB/s"] =
      benchmark::Counter(weight_bytes * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(std::string(DTypeName(dtype)) +
                 (ref ? " ref" : std::string(" ") + KernelTargetName()));
}

void MatMulArgs(benchmark::internal::Benchmark* b) {
  b->ArgNames({"dtype", "rows", "cols", "n", "thr", "ref"});
  for (int dtype : {0, 1, 2}) {
    for (auto [rows, cols] : {std::pair<int, int>{1536, 768}, {768, 1536}}) {
      for (int n : {1, 8, 64}) {
        b->Args({dtype, rows, cols, n, 0, 0});
        if (dtype != 2) b->Args({dtype, rows, cols, n, 0, 1});
      }
      b->Args({dtype, rows, cols, 1, 2, 0});
    }
  }
  // Prefill shapes of 1.4b (in_proj, out_proj), one prefill chunk (128 input rows), 1 thread.
  for (int dtype : {0, 1}) {
    b->Args({dtype, 8192, 2048, 128, 0, 0});
    b->Args({dtype, 2048, 4096, 128, 0, 0});
  }
}
BENCHMARK(BM_MatMul)->Apply(MatMulArgs)->Unit(benchmark::kMicrosecond);

// Args: T, ref. d_inner 1536, d_state 16.
void BM_SelectiveScan(benchmark::State& state) {
  const int64_t T = state.range(0), di = 1536, ds = 16;
  const bool ref = state.range(1) != 0;
  const std::vector<float> x = Random(T * di, -3, 3, 1), dt = Random(T * di, -6, 2, 2);
  const std::vector<float> bias = Random(di, -1, 1, 3), B = Random(T * ds, -1, 1, 4);
  const std::vector<float> C = Random(T * ds, -1, 1, 5), D = Random(di, -1, 1, 6);
  const std::vector<float> z = Random(T * di, -4, 4, 7);
  std::vector<float> A = Random(di * ds, -2, 2, 8);
  for (float& a : A) a = -std::exp(a);
  std::vector<float> S(di * ds, 0.0f), y(T * di);
  SelectiveScanArgs a;
  a.n_tokens = T;
  a.d_inner = di;
  a.d_state = ds;
  a.x = x.data();
  a.x_stride = di;
  a.dt = dt.data();
  a.dt_stride = di;
  a.dt_bias = bias.data();
  a.A = A.data();
  a.B = B.data();
  a.B_stride = ds;
  a.C = C.data();
  a.C_stride = ds;
  a.D = D.data();
  a.z = z.data();
  a.z_stride = di;
  a.state = S.data();
  a.y = y.data();
  a.y_stride = di;
  for (auto _ : state) {
    if (ref) {
      SelectiveScanRef(a);
    } else {
      SelectiveScan(a, nullptr);
    }
    benchmark::DoNotOptimize(y.data());
  }
  state.counters["Mupd/s"] =
      benchmark::Counter(T * di * ds * 1e-6, benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(ref ? "ref" : KernelTargetName());
}
BENCHMARK(BM_SelectiveScan)
    ->ArgNames({"T", "ref"})
    ->Args({1, 0})
    ->Args({1, 1})
    ->Args({64, 0})
    ->Args({64, 1})
    ->Unit(benchmark::kMicrosecond);

// Args: T, ref. channels 1536, K 4.
void BM_Conv1d(benchmark::State& state) {
  const int64_t T = state.range(0), ch = 1536, K = 4;
  const bool ref = state.range(1) != 0;
  const std::vector<float> x = Random(T * ch, -3, 3, 1), w = Random(K * ch, -1, 1, 2);
  const std::vector<float> bias = Random(ch, -1, 1, 3);
  std::vector<float> st((K - 1) * ch, 0.0f), out(T * ch);
  CausalConv1dArgs a;
  a.n_tokens = T;
  a.channels = ch;
  a.d_conv = K;
  a.x = x.data();
  a.x_stride = ch;
  a.weight = w.data();
  a.bias = bias.data();
  a.conv_state = st.data();
  a.out = out.data();
  a.out_stride = ch;
  for (auto _ : state) {
    if (ref) {
      CausalConv1dSiluRef(a);
    } else {
      CausalConv1dSilu(a, nullptr);
    }
    benchmark::DoNotOptimize(out.data());
  }
  state.SetLabel(ref ? "ref" : KernelTargetName());
}
BENCHMARK(BM_Conv1d)
    ->ArgNames({"T", "ref"})
    ->Args({1, 0})
    ->Args({1, 1})
    ->Args({64, 0})
    ->Args({64, 1});

// Args: n, ref. d 768.
void BM_RmsNorm(benchmark::State& state) {
  const int64_t n = state.range(0), d = 768;
  const bool ref = state.range(1) != 0;
  const std::vector<float> x = Random(n * d, -2, 2, 1), w = Random(d, 0.5f, 1.5f, 2);
  std::vector<float> out(n * d);
  for (auto _ : state) {
    if (ref) {
      RmsNormRef(x.data(), d, w.data(), n, d, 1e-5f, out.data(), d);
    } else {
      RmsNorm(x.data(), d, w.data(), n, d, 1e-5f, out.data(), d);
    }
    benchmark::DoNotOptimize(out.data());
  }
  state.SetLabel(ref ? "ref" : KernelTargetName());
}
BENCHMARK(BM_RmsNorm)
    ->ArgNames({"n", "ref"})
    ->Args({1, 0})
    ->Args({1, 1})
    ->Args({64, 0})
    ->Args({64, 1});

// Runs one n == 1 MatMul per copy of a [rows, cols] matrix (copies stored back to back in
// `storage`) per iteration and reports the weight bytes read per second.
void RunMatVecCopies(benchmark::State& state, DType dtype, const HugeBuffer& storage, size_t bytes,
                     int copies, int64_t rows, int64_t cols, int threads, int64_t n = 1,
                     WeightLayout layout = WeightLayout::kGgml) {
  const std::vector<float> x = Random(n * cols, -1, 1, 2);  // [n, cols]
  std::vector<float> y(n * rows);                           // [n, rows]
  ThreadPool pool(threads);
  for (auto _ : state) {
    for (int k = 0; k < copies; ++k) {
      const WeightMatrix w{dtype, storage.data() + k * bytes, rows, cols, layout};
      MatMul(w, x.data(), cols, n, y.data(), rows, &pool);
    }
    benchmark::DoNotOptimize(y.data());
  }
  state.counters["wGB/s"] = benchmark::Counter(static_cast<double>(bytes) * copies * 1e-9,
                                               benchmark::Counter::kIsIterationInvariantRate);
  state.counters["GFLOP/s"] =
      benchmark::Counter(2e-9 * static_cast<double>(rows * cols * n) * copies,
                         benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(std::string(DTypeName(dtype)) +
                 (layout == WeightLayout::kGroups8 ? " groups8 " : " ") + KernelTargetName());
}

// Decode matvec from DRAM: enough copies of a [rows, cols] matrix to fill 384 MiB (>> LLC), one
// product of n input rows per copy per iteration, so every weight byte comes from memory as in
// decode (n == 1) or batched decode (n sequences, the server). Compare wGB/s with
// BM_ReadBandwidth. Args: dtype, rows, cols, threads, n.
void BM_MatVecDram(benchmark::State& state) {
  const DType dtype = static_cast<DType>(state.range(0));
  const int64_t rows = state.range(1), cols = state.range(2);
  const int threads = static_cast<int>(state.range(3));
  const size_t bytes = DTypeRowBytes(dtype, cols) * rows;
  const int copies = static_cast<int>((384u << 20) / bytes) + 1;
  HugeBuffer storage(bytes * copies);
  std::mt19937 rng(3);
  for (size_t i = 0; i < storage.size(); i += 2) {  // small finite values in every dtype
    const float v = static_cast<float>(rng() % 2001) / 1000.0f - 1.0f;
    const uint16_t h = dtype == DType::kF16 ? F32ToF16(v) : F32ToBF16(v);
    if (dtype == DType::kF32) {
      if (i % 4 == 0) std::memcpy(&storage[i], &v, std::min<size_t>(4, storage.size() - i));
    } else {
      std::memcpy(&storage[i], &h, 2);
    }
  }
  RunMatVecCopies(state, dtype, storage, bytes, copies, rows, cols, threads, state.range(4));
}
BENCHMARK(BM_MatVecDram)
    ->ArgNames({"dtype", "rows", "cols", "thr", "n"})
    ->Args({0, 3072, 768, 1, 1})
    ->Args({1, 3072, 768, 1, 1})
    ->Args({2, 3072, 768, 1, 1})
    ->Args({0, 768, 1536, 1, 1})
    ->Args({1, 768, 1536, 1, 1})
    ->Args({0, 4096, 2048, 1, 1})
    ->Args({1, 4096, 2048, 1, 1})
    ->Args({0, 3072, 768, 2, 1})
    ->Args({1, 3072, 768, 2, 1})
    ->Args({0, 3072, 768, 1, 8})
    ->Args({0, 768, 1536, 1, 8})
    ->Args({0, 3072, 768, 2, 8})
    ->Args({0, 768, 1536, 2, 8})
    ->Args({1, 3072, 768, 2, 8})
    ->Args({0, 4096, 1024, 2, 8})
    ->Args({0, 1024, 2048, 2, 8})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// Quantized decode matvec (n == 1). Args: dtype, rows, cols, threads, dram, groups8. dram 1:
// enough copies of the matrix to fill 384 MiB (>> LLC), every weight byte from memory as in
// decode (compare wGB/s with BM_ReadBandwidth); dram 0: one copy, cache-resident (the kernel's
// compute rate: wGB/s far above the DRAM figure means decode is memory-bound). groups8 1: the
// rows regrouped to the kGroups8 layout, as the model loader does on x86 (the types that have it).
void BM_QuantMatVec(benchmark::State& state) {
  const DType dtype = static_cast<DType>(state.range(0));
  const int64_t rows = state.range(1), cols = state.range(2);
  const int threads = static_cast<int>(state.range(3));
  const bool groups8 = state.range(5) != 0 && HasGroups8Layout(dtype);
  if (state.range(5) != 0 && !groups8) {
    state.SkipWithError("no kGroups8 layout for this dtype");
    return;
  }
  const size_t bytes = DTypeRowBytes(dtype, cols) * rows;
  const int copies = state.range(4) ? static_cast<int>((384u << 20) / bytes) + 1 : 1;
  HugeBuffer storage(bytes * copies);
  const std::vector<float> f = Random(rows * cols, -1, 1, 1);
  std::vector<uint8_t> stored(bytes);
  for (int64_t r = 0; r < rows; ++r) {
    QuantizeRow(dtype, f.data() + r * cols, cols, stored.data() + r * DTypeRowBytes(dtype, cols));
  }
  if (groups8) {
    RegroupRows(dtype, stored.data(), rows, cols, storage.data());
  } else {
    std::memcpy(storage.data(), stored.data(), bytes);
  }
  for (int k = 1; k < copies; ++k) std::memcpy(storage.data() + k * bytes, storage.data(), bytes);
  RunMatVecCopies(state, dtype, storage, bytes, copies, rows, cols, threads, 1,
                  groups8 ? WeightLayout::kGroups8 : WeightLayout::kGgml);
}
BENCHMARK(BM_QuantMatVec)
    ->ArgNames({"dtype", "rows", "cols", "thr", "dram", "g8"})
    ->ArgsProduct({{static_cast<int>(DType::kQ8_0), static_cast<int>(DType::kQ4_0),
                    static_cast<int>(DType::kQ4_1), static_cast<int>(DType::kQ5_0),
                    static_cast<int>(DType::kQ5_1), static_cast<int>(DType::kQ4_K),
                    static_cast<int>(DType::kQ5_K), static_cast<int>(DType::kQ6_K)},
                   {4096},
                   {1024},
                   {1, 2},
                   {0, 1},
                   {0}})
    ->ArgsProduct({{static_cast<int>(DType::kQ8_0), static_cast<int>(DType::kQ4_0),
                    static_cast<int>(DType::kQ4_1), static_cast<int>(DType::kQ5_0),
                    static_cast<int>(DType::kQ5_1), static_cast<int>(DType::kQ4_K),
                    static_cast<int>(DType::kQ5_K), static_cast<int>(DType::kQ6_K)},
                   {4096},
                   {1024},
                   {1, 2},
                   {0, 1},
                   {1}})
    ->Args({static_cast<int>(DType::kQ4_0), 1024, 4096, 1, 0, 0})
    ->Args({static_cast<int>(DType::kQ4_0), 1024, 4096, 1, 0, 1})
    ->Args({static_cast<int>(DType::kQ4_0), 256, 16384, 1, 0, 0})
    ->Args({static_cast<int>(DType::kQ4_0), 512, 1024, 1, 0, 0})
    ->Args({static_cast<int>(DType::kQ4_0), 512, 1024, 1, 0, 1})
    ->Args({static_cast<int>(DType::kQ8_0), 512, 1024, 1, 0, 0})
    ->Args({static_cast<int>(DType::kQ8_0), 512, 1024, 1, 0, 1})
    ->Args({static_cast<int>(DType::kQ4_K), 512, 1024, 1, 0, 0})
    ->Args({static_cast<int>(DType::kQ4_K), 512, 1024, 1, 0, 1})
    ->Args({static_cast<int>(DType::kQ4_K), 1024, 4096, 1, 0, 0})
    ->Args({static_cast<int>(DType::kQ4_K), 1024, 4096, 1, 0, 1})
    ->Args({static_cast<int>(DType::kQ6_K), 512, 1024, 1, 0, 0})
    // Mamba's short-row projections: dt_proj [d_inner, dt_rank] (370m: 64 columns, which
    // llama.cpp's Q4_K_M stores as Q5_0) and x_proj [dt_rank + 2 d_state, d_inner].
    ->ArgsProduct({{static_cast<int>(DType::kQ5_0), static_cast<int>(DType::kQ4_0),
                    static_cast<int>(DType::kQ8_0)},
                   {2048},
                   {64, 128},
                   {1},
                   {0, 1},
                   {0}})
    ->Args({static_cast<int>(DType::kQ4_K), 96, 2048, 1, 1, 0})
    ->Args({static_cast<int>(DType::kQ4_K), 96, 2048, 1, 1, 1})
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

// Per-call overhead of an (almost) empty ParallelFor (real time per iteration): the cost decode
// pays per parallel section.
void BM_ParallelForOverhead(benchmark::State& state) {
  ThreadPool pool(static_cast<int>(state.range(0)));
  std::atomic<int64_t> sink{0};
  for (auto _ : state) {
    pool.ParallelFor(pool.num_threads(), 1, [&](int64_t b, int64_t e) { sink += e - b; });
  }
}
BENCHMARK(BM_ParallelForOverhead)->Arg(1)->Arg(2)->UseRealTime();

// Streaming read bandwidth (the memory-bandwidth limit decode is judged against), 256 MiB.
void BM_ReadBandwidth(benchmark::State& state) {
  std::vector<uint32_t> buf((256u << 20) / 4, 1u);
  ThreadPool pool(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    std::atomic<uint32_t> s{0};
    const int64_t n = static_cast<int64_t>(buf.size());
    pool.ParallelFor(n, 1 << 16, [&](int64_t b, int64_t e) {
      s += ReadSumU32(buf.data() + b, static_cast<size_t>(e - b) * 4);
    });
    benchmark::DoNotOptimize(s.load());
  }
  state.counters["GB/s"] = benchmark::Counter(
      static_cast<double>(buf.size()) * 4 / 1e9 * state.iterations(), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_ReadBandwidth)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace mamba

// MAMBA_BENCH_TARGET=AVX2 (or SSE4, ...) forces dispatch to that compiled target.
int main(int argc, char** argv) {
  if (const char* want = std::getenv("MAMBA_BENCH_TARGET")) {
    bool found = false;
    for (int64_t t : hwy::SupportedAndGeneratedTargets()) {
      if (std::strcmp(hwy::TargetName(t), want) == 0) {
        hwy::SetSupportedTargetsForTest(t);
        found = true;
      }
    }
    if (!found) {
      std::fprintf(stderr, "target %s not available\n", want);
      return 1;
    }
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
