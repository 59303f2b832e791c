// SPDX-License-Identifier: MIT
#include "machine_limits.h"

#include <sys/mman.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstring>
#include <fstream>
#include <string>

#include "kernels/probe.h"

namespace mamba::bench {
namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

}  // namespace

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t h = v.size() / 2;
  return v.size() % 2 == 1 ? v[h] : 0.5 * (v[h - 1] + v[h]);
}

double MeasureReadBandwidth(const ByteRanges& ranges, ThreadPool& pool, int reps,
                            std::vector<double>* samples) {
  size_t total = 0;
  for (const auto& r : ranges) total += r.second;
  if (total == 0) return 0;
  // Thread k reads global bytes [k * total / T, (k + 1) * total / T) across the ranges.
  const int threads = pool.num_threads();
  std::atomic<uint32_t> sink{0};
  double best = 0;
  for (int rep = 0; rep < reps; ++rep) {
    const auto t0 = Clock::now();
    pool.ParallelFor(threads, 1, [&](int64_t k0, int64_t k1) {
      for (int64_t k = k0; k < k1; ++k) {
        const size_t lo = total / threads * k;
        const size_t hi = k + 1 == threads ? total : total / threads * (k + 1);
        size_t pos = 0;
        uint32_t s = 0;
        for (const auto& r : ranges) {
          const size_t a = std::max(lo, pos), b = std::min(hi, pos + r.second);
          if (a < b) s += ReadSumU32(r.first + (a - pos), b - a);
          pos += r.second;
        }
        sink += s;
      }
    });
    const double gbps = total / Seconds(t0, Clock::now()) / 1e9;
    if (samples != nullptr) samples->push_back(gbps);
    best = std::max(best, gbps);
  }
  return best;
}

double MeasureAnonReadBandwidth(size_t bytes, ThreadPool& pool, int reps,
                                std::vector<double>* samples) {
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return 0;
  // Transparent huge pages where the kernel allows them (THP "madvise" mode): fewer TLB misses,
  // so this is the best case the memory system offers, a limit no lower than for 4 KiB pages.
  madvise(p, bytes, MADV_HUGEPAGE);
  // Distinct non-zero contents, written by the threads that will read them.
  pool.ParallelFor(static_cast<int64_t>(bytes / 4096), 64, [&](int64_t b, int64_t e) {
    std::memset(static_cast<uint8_t*>(p) + b * 4096, static_cast<int>(b & 0xFF), (e - b) * 4096);
  });
  const double gbps = MeasureReadBandwidth({{static_cast<const uint8_t*>(p), bytes / 4096 * 4096}},
                                           pool, reps, samples);
  munmap(p, bytes);
  return gbps;
}

double MeasureFmaPeak(ThreadPool& pool, int reps) {
  const int threads = pool.num_threads();
  constexpr int64_t kIters = 20'000'000;  // ~0.1 s per thread at ~100 GFLOP/s
  std::atomic<double> flops{0};
  std::atomic<float> sink{0};
  double best = 0;
  for (int rep = 0; rep < reps; ++rep) {
    flops = 0;
    const auto t0 = Clock::now();
    pool.ParallelFor(threads, 1, [&](int64_t k0, int64_t k1) {
      for (int64_t k = k0; k < k1; ++k) {
        float s = 0;
        flops += FmaPeakLoop(kIters, &s);
        sink = s;
      }
    });
    best = std::max(best, flops / Seconds(t0, Clock::now()) / 1e9);
  }
  return best;
}

double HugePageFraction(const ByteRanges& ranges) {
  std::ifstream f("/proc/self/smaps");
  if (!f) return -1;
  // Each mapping: a header "start-end perms offset dev inode [path]", then "Key: N kB" lines.
  int64_t rss_kb = 0, huge_kb = 0;
  bool in_range = false, saw_pmd_field = false;
  std::string line;
  while (std::getline(f, line)) {
    const size_t dash = line.find('-');
    const size_t colon = line.find(':');
    if (dash != std::string::npos && (colon == std::string::npos || dash < colon) &&
        std::isxdigit(static_cast<unsigned char>(line[0]))) {
      const uintptr_t lo = std::stoull(line.substr(0, dash), nullptr, 16);
      const uintptr_t hi = std::stoull(line.substr(dash + 1), nullptr, 16);
      in_range = false;
      for (const auto& [p, n] : ranges) {
        const auto a = reinterpret_cast<uintptr_t>(p);
        if (n > 0 && a < hi && a + n > lo) in_range = true;
      }
      continue;
    }
    if (!in_range || colon == std::string::npos) continue;
    const std::string key = line.substr(0, colon);
    if (key != "Rss" && key != "AnonHugePages" && key != "FilePmdMapped") continue;
    const int64_t kb = std::stoll(line.substr(colon + 1));
    if (key == "Rss") {
      rss_kb += kb;
    } else {
      huge_kb += kb;
      if (key == "FilePmdMapped") saw_pmd_field = true;
    }
  }
  if (rss_kb == 0 || !saw_pmd_field) return -1;
  return static_cast<double>(huge_kb) / static_cast<double>(rss_kb);
}

bool ResetPeakRss() {
  std::ofstream f("/proc/self/clear_refs");
  if (!f) return false;
  f << "5";
  f.flush();
  return static_cast<bool>(f);
}

int64_t PeakRssBytes() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stoll(line.substr(6)) * 1024;  // "... kB"
  }
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<int64_t>(ru.ru_maxrss) * 1024;
}

}  // namespace mamba::bench
