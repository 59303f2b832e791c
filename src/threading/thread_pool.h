// SPDX-License-Identifier: MIT
// A persistent pool of worker threads for data-parallel loops. The calling thread takes part, so
// ThreadPool(1) runs everything inline. Not reentrant: ParallelFor must not be called from inside
// a ParallelFor body. One ParallelFor at a time per pool (callers serialize; checked).
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
  explicit ThreadPool(int num_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int num_threads() const { return num_threads_; }

  // Splits [0, n) into at most num_threads() contiguous ranges, each a multiple of `grain`
  // (except the last), runs fn(begin, end) on each, and returns when all are done.
  void ParallelFor(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);

  // Default thread count: the number of physical cores (hardware threads / SMT siblings).
  static int DefaultThreadCount();

 private:
  void WorkerLoop(int index);

  int num_threads_;
  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable start_cv_;
  std::condition_variable done_cv_;
  uint64_t generation_ = 0;  // bumped for every ParallelFor; guarded by mu_
  int pending_ = 0;          // workers still running the current job; guarded by mu_
  bool stop_ = false;
  std::atomic<bool> busy_{false};
  // The current job, valid while pending_ > 0.
  const std::function<void(int64_t, int64_t)>* job_ = nullptr;
  int64_t job_n_ = 0;
  int64_t job_chunk_ = 0;
};

// Runs fn over [0, n) on `pool`, or inline when pool is null.
inline void ParallelForOrInline(ThreadPool* pool, int64_t n, int64_t grain,
                                const std::function<void(int64_t, int64_t)>& fn) {
  if (pool == nullptr || pool->num_threads() == 1 || n <= grain) {
    if (n > 0) fn(0, n);
    return;
  }
  pool->ParallelFor(n, grain, fn);
}

}  // namespace mamba
