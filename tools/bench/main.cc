// SPDX-License-Identifier: MIT
// mamba-bench: llama-bench-style throughput benchmark. For each model, thread count and test it
// runs prefill (pp N: N random tokens in one Session::Prefill, logits of the last token only) and
// decode (tg N: N single-token steps from an empty state) -r times and reports tokens/s mean and
// standard deviation, next to the machine limits measured in the same process: decode as a
// fraction of the memory-bandwidth limit (bandwidth / weight bytes read per token), prefill as a
// fraction of the FMA peak. Models come from -m PATH or --synthetic SHAPE (random weights).
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "base/ascii.h"
#include "engine/session.h"
#include "kernels/kernel_target.h"
#include "kernels/matmul.h"
#include "machine_limits.h"
#include "report.h"
#include "synthetic_model.h"

namespace mamba::bench {
namespace {

using Clock = std::chrono::steady_clock;

double Since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

struct Options {
  std::vector<std::string> models;  // -m
  std::vector<std::string> synthetic;
  std::vector<std::string> dtypes{"f32"};
  std::vector<int> n_prompt{512};
  std::vector<int> n_gen{128};
  std::vector<int> threads;
  int reps = 5;
  std::string output = "md";
  std::string synthetic_dir;
  size_t bw_buffer_mb = 1024;
  std::string kernels = "auto";  // --kernels
  int mmap = 1;                  // -mmp: 1 = map the weights, 0 = read them (FileAccess::kRead)
  int regroup = 1;               // --regroup: 1 = regroup quantized matrices for the kernels
};

// One model to benchmark: where it is and how to name it.
struct ModelSpec {
  std::string path;
  std::string name;
  std::string dtype;  // for synthetic models; read from the weights otherwise
};

// The weights' type as llama-bench names it: the dtype holding the most bytes, lower case, with
// " (mixed)" when other types hold more than a quarter of the bytes (e.g. Q4_K_M, or a Q4_0
// file whose embedding is Q6_K).
std::string WeightTypeName(const TensorSet& tensors) {
  std::map<DType, size_t> bytes;
  size_t total = 0;
  for (const std::string& name : tensors.Names()) {
    const TensorView* t = tensors.Find(name);
    bytes[t->dtype] += t->nbytes;
    total += t->nbytes;
  }
  DType top = DType::kF32;
  size_t top_bytes = 0;
  for (const auto& [dt, b] : bytes) {
    if (b > top_bytes) top = dt, top_bytes = b;
  }
  std::string name = AsciiLower(DTypeName(top));
  if (top_bytes * 4 < total * 3) name += " (mixed)";
  return name;
}

// Weight bytes streamed per decoded token: every projection matrix and the head (the embedding
// when tied; an untied embedding is only gathered, one row per token) plus the small per-channel
// tensors (read every step in their F32 copies; counted at their stored size).
size_t BytesPerToken(const Model& m) {
  const TensorSet& t = m.checkpoint().tensors;
  size_t total = m.weight_bytes();
  if (!m.config().tie_embeddings) {
    for (const char* name : {"backbone.embedding.weight", "backbone.embeddings.weight"}) {
      if (const TensorView* v = t.Find(name)) total -= v->nbytes;
    }
  }
  return total;
}

// Multiply-adds per prefill token: every projection matrix (the head runs once per prompt).
// Mamba-1: in_proj, x_proj, dt_proj, out_proj; Mamba-2: in_proj (z | xBC | dt) and out_proj.
double GflopPerPrefillToken(const Model& m) {
  const ModelConfig& c = m.config();
  double per_layer = 0;
  if (c.arch == Arch::kMamba2) {
    const double d_in_proj =
        2.0 * c.d_inner + 2.0 * c.ngroups * c.d_state + static_cast<double>(c.d_inner / c.headdim);
    per_layer = d_in_proj * c.d_model + 1.0 * c.d_model * c.d_inner;
  } else {
    per_layer = 2.0 * c.d_inner * c.d_model + (c.dt_rank + 2.0 * c.d_state) * c.d_inner +
                1.0 * c.d_inner * c.dt_rank + 1.0 * c.d_model * c.d_inner;
  }
  return 2.0 * per_layer * c.n_layer / 1e9;
}

// The bytes decode reads: every tensor's own, or its regrouped copy.
ByteRanges WeightRanges(const Model& m) { return m.WeightMemory(); }

int Fail(const std::string& msg) {
  std::fprintf(stderr, "mamba-bench: %s\n", msg.c_str());
  return 1;
}

int Run(const Options& o) {
  std::vector<int> threads = o.threads;
  if (threads.empty()) threads.push_back(ThreadPool::DefaultThreadCount());
  for (int t : threads) {
    if (t < 1) return Fail("-t: thread counts must be >= 1");
  }
  std::vector<ModelSpec> specs;
  for (const std::string& m : o.models)
    specs.push_back({m, std::filesystem::path(m).filename(), ""});
  std::string tmp_dir;
  for (const std::string& shape : o.synthetic) {
    auto s = FindSyntheticShape(shape);
    if (!s.ok()) return Fail(s.status().ToString());
    for (const std::string& dt : o.dtypes) {
      if (dt != "f32" && dt != "f16" && dt != "bf16") return Fail("--dtype: f32, f16 or bf16");
      std::string base = o.synthetic_dir;
      if (base.empty()) {
        if (tmp_dir.empty()) {
          tmp_dir =
              (std::filesystem::temp_directory_path() / ("mamba-bench-" + std::to_string(getpid())))
                  .string();
        }
        base = tmp_dir;
      }
      const std::string label = s->mamba2 ? shape : "mamba-" + shape;
      specs.push_back({base + "/" + shape + "-" + dt, label + " (synthetic)", dt});
    }
  }
  if (specs.empty()) return Fail("nothing to benchmark: pass -m PATH or --synthetic SHAPE");
  const bool md = o.output == "md";
  if (!md && o.output != "json") return Fail("-o: md or json");

  // Machine limits: measured right before and right after the tests of each (model, threads)
  // pair, the larger value kept (other tenants of a shared host change them over time).
  if (md) {
    const char* blas = MatMulBlasName();
    std::fprintf(stderr, "kernels: %s%s%s, weights %s\n", KernelTargetName(),
                 blas != nullptr ? ", F32 prefill through " : "", blas != nullptr ? blas : "",
                 o.mmap ? "mapped (mmap)" : "read into anonymous huge pages (--mmap 0)");
  }

  std::vector<Result> results;
  std::mt19937 rng(42);
  for (const ModelSpec& spec : specs) {
    if (!spec.dtype.empty()) {
      auto shape = FindSyntheticShape(spec.path.substr(
          spec.path.rfind('/') + 1, spec.path.rfind('-') - spec.path.rfind('/') - 1));
      const DType dt = spec.dtype == "f32"   ? DType::kF32
                       : spec.dtype == "f16" ? DType::kF16
                                             : DType::kBF16;
      const auto t0 = Clock::now();
      if (Status st = WriteSyntheticModel(*shape, dt, spec.path); !st.ok())
        return Fail(st.ToString());
      if (md)
        std::fprintf(stderr, "synthetic %s %s ready in %.1f s: %s\n", shape->name.c_str(),
                     spec.dtype.c_str(), Since(t0), spec.path.c_str());
    }
    ResetPeakRss();  // count this model only
    const auto t_load = Clock::now();
    auto loaded =
        Model::Load(spec.path, "", o.mmap ? FileAccess::kMap : FileAccess::kRead, o.regroup != 0);
    if (!loaded.ok()) return Fail(loaded.status().ToString());
    const double load_s = Since(t_load);
    std::unique_ptr<Model> model = std::move(loaded).value();
    const ModelConfig& c = model->config();
    const std::string dtype = WeightTypeName(model->checkpoint().tensors);
    size_t file_bytes = 0;
    std::error_code ec;
    if (std::filesystem::is_regular_file(model->checkpoint().weights_path, ec)) {
      file_bytes = std::filesystem::file_size(model->checkpoint().weights_path, ec);
    }
    if (file_bytes == 0) file_bytes = model->weight_bytes();
    const size_t bpt = BytesPerToken(*model);
    const double gflop_tok = GflopPerPrefillToken(*model);
    const ByteRanges ranges = WeightRanges(*model);

    int64_t rss = 0;
    double huge_fraction = -1;  // measured after the first probe has touched every weight page
    for (size_t ti = 0; ti < threads.size(); ++ti) {
      ThreadPool pool(threads[ti]);
      std::vector<double> bw_samples;  // every probe pass, both buffers, before and after
      double bw_anon = MeasureAnonReadBandwidth(o.bw_buffer_mb << 20, pool, 5, &bw_samples);
      double fma = MeasureFmaPeak(pool, 3);
      double bw_w = MeasureReadBandwidth(ranges, pool, 5, &bw_samples);
      if (ti == 0) huge_fraction = HugePageFraction(ranges);
      ResetPeakRss();  // the probe buffer is gone; the touched weights stay counted
      const size_t first = results.size();
      Session session(*model, &pool);
      auto random_tokens = [&](int n) {
        std::vector<int32_t> t(n);
        std::uniform_int_distribution<int32_t> dist(0, static_cast<int32_t>(c.vocab_size) - 1);
        for (int32_t& v : t) v = dist(rng);
        return t;
      };
      // Warm-up: one short prefill and a few decode steps.
      {
        const auto toks = random_tokens(16);
        if (Status st = session.Prefill(toks); !st.ok()) return Fail(st.ToString());
        for (int i = 0; i < 4; ++i) (void)session.Decode(toks[i]);
      }
      auto base = [&](const std::string& test) {
        Result r;
        r.model = spec.name;
        r.dtype = dtype;
        r.test = test;
        r.threads = threads[ti];
        r.file_bytes = file_bytes;
        r.bytes_per_token = bpt;
        r.model_gflop_per_token = gflop_tok;
        r.load_s = load_s;
        r.regrouped_tensors = model->regrouped_tensors();
        return r;
      };
      for (int np : o.n_prompt) {
        if (np <= 0) continue;
        Result r = base("pp" + std::to_string(np));
        r.n_prompt = np;
        for (int rep = 0; rep < o.reps; ++rep) {
          const auto toks = random_tokens(np);
          session.Reset();
          const auto t0 = Clock::now();
          if (Status st = session.Prefill(toks); !st.ok()) return Fail(st.ToString());
          r.tps.push_back(np / Since(t0));
        }
        MeanStd(r);
        results.push_back(r);
      }
      for (int ng : o.n_gen) {
        if (ng <= 0) continue;
        Result r = base("tg" + std::to_string(ng));
        r.n_gen = ng;
        // One pass of the weights probe between repetitions: each repetition is judged against
        // the bandwidth of the seconds around it (PairedFraction).
        double bw_before = MeasureReadBandwidth(ranges, pool, 1, &bw_samples);
        bw_w = std::max(bw_w, bw_before);
        for (int rep = 0; rep < o.reps; ++rep) {
          const auto toks = random_tokens(ng);
          session.Reset();
          const auto t0 = Clock::now();
          for (int i = 0; i < ng; ++i) {
            if (Status st = session.Decode(toks[i]); !st.ok()) return Fail(st.ToString());
          }
          r.tps.push_back(ng / Since(t0));
          const double bw_after = MeasureReadBandwidth(ranges, pool, 1, &bw_samples);
          bw_w = std::max(bw_w, bw_after);
          r.paired.push_back(PairedFraction(r.tps.back(), bpt, bw_before, bw_after));
          bw_before = bw_after;
        }
        r.paired_fraction = Median(r.paired);
        MeanStd(r);
        results.push_back(r);
      }
      rss = std::max(rss, PeakRssBytes());
      bw_anon =
          std::max(bw_anon, MeasureAnonReadBandwidth(o.bw_buffer_mb << 20, pool, 5, &bw_samples));
      fma = std::max(fma, MeasureFmaPeak(pool, 3));
      bw_w = std::max(bw_w, MeasureReadBandwidth(ranges, pool, 5, &bw_samples));
      // The limit is the best probe pass (conservative: a shared host's bandwidth moves, and
      // decode is a mean over its repetitions); the median of all passes is reported beside it.
      const double bw = std::max(bw_w, bw_anon);
      const double bw_median = Median(bw_samples);
      if (md) {
        std::fprintf(stderr,
                     "  %d thread(s): read bandwidth %.1f GB/s (anonymous %zu MiB, huge pages) / "
                     "%.1f GB/s (mapped weights), median of %zu passes %.1f GB/s, FMA peak %.1f "
                     "GFLOP/s\n",
                     threads[ti], bw_anon, o.bw_buffer_mb, bw_w, bw_samples.size(), bw_median, fma);
      }
      for (size_t i = first; i < results.size(); ++i) {
        Result& r = results[i];
        r.bw_gbps = bw;
        r.bw_median_gbps = bw_median;
        r.bw_anon_gbps = bw_anon;
        r.bw_weights_gbps = bw_w;
        r.fma_gflops = fma;
        r.limit_tps = r.n_gen > 0 ? bw * 1e9 / bpt : fma / gflop_tok;
        r.fraction = r.mean / r.limit_tps;
      }
    }
    for (Result& r : results) {
      if (r.model == spec.name && r.dtype == dtype && r.peak_rss == 0) {
        r.peak_rss = rss;
        r.huge_page_fraction = huge_fraction;
      }
    }
    if (md) {
      std::fprintf(
          stderr,
          "%s %s: file %s, %s read per decoded token, load %.3f s, peak RSS %s (%.1f %% of "
          "the file)\n",
          spec.name.c_str(), dtype.c_str(), HumanBytes(file_bytes).c_str(), HumanBytes(bpt).c_str(),
          load_s, HumanBytes(rss).c_str(), 100.0 * rss / file_bytes);
      if (model->regrouped_tensors() > 0) {
        std::fprintf(stderr, "  %d quantized matrices regrouped for the kernels at load\n",
                     model->regrouped_tensors());
      }
      if (huge_fraction >= 0) {
        std::fprintf(stderr, "  weights in 2 MiB pages: %.0f %%%s\n", 100.0 * huge_fraction,
                     huge_fraction < 0.95 ? " (decode streams small pages slower: see "
                                            "docs/PERFORMANCE.md, 'Page cache', or use --mmap 0)"
                                          : "");
      }
    }
    model.reset();
    if (!tmp_dir.empty()) std::filesystem::remove_all(spec.path, ec);
  }
  if (!tmp_dir.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(tmp_dir, ec);
  }

  PrintResults(results, md, o.mmap != 0);
  return 0;
}

// "1,2,4" -> {1, 2, 4}.
template <class T>
std::vector<T> SplitList(const std::vector<std::string>& items) {
  std::vector<T> out;
  for (const std::string& item : items) {
    std::stringstream ss(item);
    std::string tok;
    while (std::getline(ss, tok, ',')) {
      if (tok.empty()) continue;
      if constexpr (std::is_same_v<T, int>) {
        out.push_back(std::stoi(tok));
      } else {
        out.push_back(tok);
      }
    }
  }
  return out;
}

}  // namespace
}  // namespace mamba::bench

int main(int argc, char** argv) {
  using mamba::bench::Options;
  using mamba::bench::SplitList;
  Options o;
  std::vector<std::string> p, n, t, syn, dt;
  CLI::App app{"mamba-bench: prefill (pp) and decode (tg) throughput vs the machine's limits"};
  app.add_option("-m,--model", o.models, "model directory or weights file (repeatable)");
  app.add_option("--synthetic", syn,
                 "random-weight model of a real shape: 130m,370m,790m,1.4b,2.8b, "
                 "mamba2-130m,mamba2-370m,mamba2-780m,mamba2-1.3b,mamba2-2.7b");
  app.add_option("--dtype", dt, "dtype(s) of --synthetic weights: f32,f16,bf16 (default f32)");
  app.add_option("--synthetic-dir", o.synthetic_dir,
                 "keep synthetic checkpoints here and reuse them (default: a temp dir, removed)");
  app.add_option("-p,--n-prompt", p, "prompt lengths, comma-separated (default 512; 0 = none)");
  app.add_option("-n,--n-gen", n, "decode lengths, comma-separated (default 128; 0 = none)");
  app.add_option("-t,--threads", t, "thread counts, comma-separated (default: physical cores)");
  app.add_option("-r,--repetitions", o.reps, "repetitions of each test (default 5)")
      ->check(CLI::PositiveNumber);
  app.add_option("-o,--output", o.output, "md (default) or json");
  app.add_option("--bw-buffer-mb", o.bw_buffer_mb, "bandwidth probe buffer in MiB (default 1024)");
  app.add_option("--mmap,--mmp", o.mmap,
                 "1 (default): map the weights; 0: read them into anonymous huge pages "
                 "(as --no-mmap in the other tools)")
      ->check(CLI::Range(0, 1));
  app.add_option(
         "--regroup", o.regroup,
         "1 (default): regroup quantized matrices at load where the kernels read them "
         "faster regrouped (Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K on x86 AVX2+); 0: "
         "use them stored")
      ->check(CLI::Range(0, 1));
  app.add_option(
      "--kernels", o.kernels,
      "SIMD target to run: auto (default, the CPU's best) or one of avx3, avx2, sse4, "
      "ssse3, emu128 that the CPU supports (e.g. avx2 = what an AVX2-only machine runs)");
  CLI11_PARSE(app, argc, argv);
  if (const mamba::Status st = mamba::SelectKernelTarget(o.kernels); !st.ok()) {
    std::fprintf(stderr, "mamba-bench: --kernels: %s\n", st.message().c_str());
    return 1;
  }
  try {
    if (!p.empty()) o.n_prompt = SplitList<int>(p);
    if (!n.empty()) o.n_gen = SplitList<int>(n);
    if (!t.empty()) o.threads = SplitList<int>(t);
    if (!dt.empty()) o.dtypes = SplitList<std::string>(dt);
    o.synthetic = SplitList<std::string>(syn);
    o.models = SplitList<std::string>(o.models);
  } catch (const std::exception&) {
    std::fprintf(stderr, "mamba-bench: -p/-n/-t take comma-separated integers\n");
    return 1;
  }
  return mamba::bench::Run(o);
}
