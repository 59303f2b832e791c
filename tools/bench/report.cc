// SPDX-License-Identifier: MIT
#include "report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "kernels/kernel_target.h"

namespace mamba::bench {

void MeanStd(Result& r) {
  double s = 0;
  for (double v : r.tps) s += v;
  r.mean = r.tps.empty() ? 0 : s / r.tps.size();
  double q = 0;
  for (double v : r.tps) q += (v - r.mean) * (v - r.mean);
  r.stddev = r.tps.size() > 1 ? std::sqrt(q / (r.tps.size() - 1)) : 0;
}

double PairedFraction(double tokens_per_s, size_t bytes_per_token, double bw_before_gbps,
                      double bw_after_gbps) {
  const double bw = std::max(bw_before_gbps, bw_after_gbps);
  if (bw <= 0) return 0;
  return tokens_per_s * static_cast<double>(bytes_per_token) / (bw * 1e9);
}

std::string HumanBytes(double b) {
  char buf[32];
  if (b >= 1e9) {
    std::snprintf(buf, sizeof buf, "%.2f GB", b / 1e9);
  } else {
    std::snprintf(buf, sizeof buf, "%.1f MB", b / 1e6);
  }
  return buf;
}

void PrintResults(const std::vector<Result>& results, bool md, bool mmap) {
  if (md) {
    std::printf(
        "| model | size | dtype | threads | test | t/s | limit t/s | of limit | of median BW | "
        "paired |\n");
    std::printf("| --- | ---: | --- | ---: | --- | ---: | ---: | ---: | ---: | ---: |\n");
    for (const Result& r : results) {
      const bool tg = r.n_gen > 0;
      char median[32] = "-", paired[32] = "-";
      if (tg && r.bw_median_gbps > 0) {
        std::snprintf(
            median, sizeof median, "%.1f %%",
            100.0 * r.mean * static_cast<double>(r.bytes_per_token) / (r.bw_median_gbps * 1e9));
      }
      if (tg && !r.paired.empty()) {
        std::snprintf(paired, sizeof paired, "%.1f %%", 100.0 * r.paired_fraction);
      }
      std::printf("| %s | %s | %s | %d | %s | %.2f ± %.2f | %.1f | %.1f %% %s | %s | %s |\n",
                  r.model.c_str(), HumanBytes(r.file_bytes).c_str(), r.dtype.c_str(), r.threads,
                  r.test.c_str(), r.mean, r.stddev, r.limit_tps, 100 * r.fraction,
                  tg ? "BW" : "FMA", median, paired);
    }
    return;
  }
  nlohmann::json out = nlohmann::json::array();
  for (const Result& r : results) {
    nlohmann::json j = {{"model", r.model},
                        {"dtype", r.dtype},
                        {"kernel_target", KernelTargetName()},
                        {"file_bytes", r.file_bytes},
                        {"weight_bytes_per_token", r.bytes_per_token},
                        {"n_threads", r.threads},
                        {"test", r.test},
                        {"n_prompt", r.n_prompt},
                        {"n_gen", r.n_gen},
                        {"reps", r.tps.size()},
                        {"avg_ts", r.mean},
                        {"stddev_ts", r.stddev},
                        {"samples_ts", r.tps},
                        {"limit_ts", r.limit_tps},
                        {"fraction_of_limit", r.fraction},
                        {"limit_kind", r.n_gen > 0 ? "memory_bandwidth" : "fma_peak"},
                        {"bandwidth_gbps", r.bw_gbps},
                        {"bandwidth_median_gbps", r.bw_median_gbps},
                        {"bandwidth_anon_gbps", r.bw_anon_gbps},
                        {"bandwidth_weights_gbps", r.bw_weights_gbps},
                        {"weights_in_huge_pages", r.huge_page_fraction},
                        {"fma_peak_gflops", r.fma_gflops},
                        {"gflop_per_prefill_token", r.model_gflop_per_token},
                        {"mmap", mmap},
                        {"load_s", r.load_s},
                        {"regrouped_tensors", r.regrouped_tensors},
                        {"peak_rss_bytes", r.peak_rss}};
    if (r.n_gen > 0) {
      j["paired_fractions"] = r.paired;
      j["fraction_of_paired_bandwidth"] = r.paired_fraction;
    }
    out.push_back(std::move(j));
  }
  std::printf("%s\n", out.dump(2).c_str());
}

}  // namespace mamba::bench
