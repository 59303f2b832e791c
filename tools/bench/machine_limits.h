// SPDX-License-Identifier: MIT
// Measures the machine limits the engine is judged against, in the benchmark's own process:
// memory read bandwidth (streaming read of a buffer much larger than the last-level cache) and
// the F32 FMA peak (register-only FMA chains), each with a given number of threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "threading/thread_pool.h"

namespace mamba::bench {

// Byte ranges to stream over (e.g. the tensors of a mapped checkpoint).
using ByteRanges = std::vector<std::pair<const uint8_t*, size_t>>;

// Best of `reps` passes of a streaming read over `ranges`, split evenly across the pool's
// threads: GB/s (1e9 bytes per second). Each pass's GB/s is appended to *samples when given.
double MeasureReadBandwidth(const ByteRanges& ranges, ThreadPool& pool, int reps,
                            std::vector<double>* samples = nullptr);

// Same over a fresh anonymous buffer of `bytes` (huge pages requested with MADV_HUGEPAGE;
// written once so its pages exist, then unmapped again). Raises the process's peak RSS by
// `bytes`; see ResetPeakRss.
double MeasureAnonReadBandwidth(size_t bytes, ThreadPool& pool, int reps,
                                std::vector<double>* samples = nullptr);

// The median of `v` (the mean of the two middle values for an even count); 0 when empty.
double Median(std::vector<double> v);

// Best of `reps` runs of the FMA loop on every pool thread at once: GFLOP/s.
double MeasureFmaPeak(ThreadPool& pool, int reps);

// Of the resident bytes of the mappings that hold `ranges`, the fraction mapped by 2 MiB pages
// (/proc/self/smaps: FilePmdMapped for file mappings, AnonHugePages for anonymous memory); -1
// where the kernel does not tell. Below 1 the weights stream slower than they could: see
// docs/PERFORMANCE.md, "Page cache".
double HugePageFraction(const ByteRanges& ranges);

// Resets the kernel's peak-RSS mark (VmHWM) to the current RSS; false when unsupported.
bool ResetPeakRss();
// Peak resident set size in bytes since the last ResetPeakRss (VmHWM; getrusage as fallback).
int64_t PeakRssBytes();

}  // namespace mamba::bench
