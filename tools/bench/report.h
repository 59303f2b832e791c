// SPDX-License-Identifier: MIT
// mamba-bench's results: one row per (model, threads, test) with its repetitions and the machine
// limits measured beside it, and their output as a markdown table or llama-bench-style JSON.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace mamba::bench {

struct Result {
  std::string model, dtype, test;
  int threads = 0, n_prompt = 0, n_gen = 0;
  std::vector<double> tps;  // tokens/s per repetition
  double mean = 0, stddev = 0;
  double limit_tps = 0;        // decode: bandwidth limit; prefill: FMA-peak limit
  double fraction = 0;         // mean / limit_tps
  double bw_gbps = 0;          // the bandwidth limit used (decode)
  double bw_median_gbps = 0;   // median of every bandwidth probe pass of the block
  double bw_anon_gbps = 0;     // streaming read of an anonymous buffer
  double bw_weights_gbps = 0;  // streaming read of the model's mapped weights
  // Decode: per repetition, its weight read rate (tokens/s x bytes per token) over the better of
  // the two passes of the weights probe right before and right after it (see PairedFraction).
  std::vector<double> paired;
  double paired_fraction = 0;      // median of `paired`
  double huge_page_fraction = -1;  // of the weights' resident bytes, in 2 MiB pages (-1: unknown)
  double fma_gflops = 0;           // FMA peak (prefill)
  double model_gflop_per_token = 0;
  size_t file_bytes = 0, bytes_per_token = 0;
  double load_s = 0;
  int regrouped_tensors = 0;  // quantized matrices regrouped for the kernels at load
  int64_t peak_rss = 0;
};

// r.mean and r.stddev (sample) of r.tps.
void MeanStd(Result& r);

// One decode repetition's fraction of the bandwidth limit measured around it: its weight bytes
// per second (tokens_per_s x bytes_per_token) over max(bw_before, bw_after) (GB/s). The host's
// bandwidth drifts between minutes; a probe seconds away from the tokens it judges does not.
double PairedFraction(double tokens_per_s, size_t bytes_per_token, double bw_before_gbps,
                      double bw_after_gbps);

// "1.47 GB" / "85.3 MB".
std::string HumanBytes(double bytes);

// Prints `results` to stdout: a markdown table (md) or a JSON array. `mmap`: the weights were
// mapped (false: read, --mmap 0).
void PrintResults(const std::vector<Result>& results, bool md, bool mmap);

}  // namespace mamba::bench
