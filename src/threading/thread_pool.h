// SPDX-License-Identifier: MIT
// A persistent pool of worker threads for data-parallel loops. The calling thread takes part, so
// ThreadPool(1) runs everything inline. Not reentrant: ParallelFor must not be called from inside
// a ParallelFor body. One ParallelFor at a time per pool (callers serialize; checked).
//
// Latency: decode of a small model is a few hundred short parallel sections per token, so a job
// is published by bumping an atomic epoch that idle workers spin on (with a CPU pause) for a
// short while before they block on a condition variable; the caller spins on a pending counter
// for completion. A section costs about a microsecond instead of the tens of microseconds of a
// mutex + condvar hand-off. Workers that have blocked are woken only when some are asleep.
// At most 65535 threads (the ranges of a job are counted in 16 bits).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace mamba {

class ThreadPool {
 public:
  // `num_threads` workers in total including the caller; values < 1 mean 1.
  explicit ThreadPool(int num_threads);  // capped at 65535
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int num_threads() const { return num_threads_; }

  // Splits [0, n) into at most num_threads() * ranges_per_thread contiguous ranges, each a
  // multiple of `grain` (except the last), runs fn(begin, end) on each, and returns when all are
  // done. The split depends only on (n, grain, num_threads(), ranges_per_thread); which thread
  // runs a range does not (ranges are claimed dynamically in order, the caller included, so a
  // descheduled worker delays nothing, and with ranges_per_thread > 1 a thread that runs faster,
  // e.g. gets more memory bandwidth, takes more of the ranges).
  // ranges_per_thread == kGuided: ranges of decreasing size instead (each 1 / (2 *
  // num_threads()) of the grains left, at least one grain), likewise a function of (n, grain,
  // num_threads()) only.
  void ParallelFor(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn,
                   int ranges_per_thread = 1);
  static constexpr int kGuided = -1;

  // Default thread count: the number of physical cores (hardware threads / SMT siblings).
  static int DefaultThreadCount();

  // How long an idle worker spins for the next job before it blocks (microseconds).
  static constexpr int64_t kSpinMicros = 300;

 private:
  void WorkerLoop(int index);
  // Waits until epoch_ != seen (spin, then block); returns the new epoch.
  uint32_t AwaitJob(uint32_t seen);
  // Claims and runs ranges of the current job until none is left.
  void RunChunks();

  int num_threads_;
  std::vector<std::thread> workers_;
  // The current job; written by the caller before epoch_ is bumped, read by workers after.
  const std::function<void(int64_t, int64_t)>* job_ = nullptr;
  int64_t job_n_ = 0;
  int64_t job_chunk_ = 0;
  std::vector<int64_t> job_bounds_;  // kGuided: range i is [bounds[i], bounds[i + 1]); else empty
  std::atomic<bool> stop_{false};    // read by workers outside the lock
  alignas(64) std::atomic<uint32_t> epoch_{0};  // bumped once per ParallelFor (and at shutdown)
  // The current job's range counter: epoch (bits 32-63) | ranges (16-31) | next unclaimed (0-15).
  alignas(64) std::atomic<uint64_t> claim_{0};
  alignas(64) std::atomic<int64_t> done_{0};  // ranges of the current job finished
  alignas(64) std::atomic<int> sleepers_{0};  // workers blocked (or about to) on wake_cv_
  std::atomic<bool> busy_{false};
  std::mutex mu_;  // guards only the blocking path of AwaitJob
  std::condition_variable wake_cv_;
};

// Runs fn over [0, n) on `pool`, or inline when pool is null.
inline void ParallelForOrInline(ThreadPool* pool, int64_t n, int64_t grain,
                                const std::function<void(int64_t, int64_t)>& fn,
                                int ranges_per_thread = 1) {
  if (pool == nullptr || pool->num_threads() == 1 || n <= grain) {
    if (n > 0) fn(0, n);
    return;
  }
  pool->ParallelFor(n, grain, fn, ranges_per_thread);
}

}  // namespace mamba
