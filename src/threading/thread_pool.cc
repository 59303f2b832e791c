// SPDX-License-Identifier: MIT
#include "threading/thread_pool.h"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <set>
#include <string>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

#include "base/check.h"

namespace mamba {
namespace {

inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

using Clock = std::chrono::steady_clock;

}  // namespace

ThreadPool::ThreadPool(int num_threads) : num_threads_(std::clamp(num_threads, 1, 65535)) {
  for (int i = 1; i < num_threads_; ++i) workers_.emplace_back([this, i] { WorkerLoop(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
    epoch_.fetch_add(1);
  }
  wake_cv_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::ParallelFor(int64_t n, int64_t grain,
                             const std::function<void(int64_t, int64_t)>& fn,
                             int ranges_per_thread) {
  if (n <= 0) return;
  grain = std::max<int64_t>(1, grain);
  const int64_t units = (n + grain - 1) / grain;
  // At most 65535 ranges (16-bit counters).
  const int64_t max_ranges =
      std::min<int64_t>(65535, int64_t{num_threads_} * std::max(1, ranges_per_thread));
  const int64_t chunk_units = (units + max_ranges - 1) / max_ranges;
  const int64_t chunk = chunk_units * grain;
  if (num_threads_ == 1 || chunk >= n) {
    fn(0, n);
    return;
  }
  MAMBA_CHECK(!busy_.exchange(true), "ThreadPool::ParallelFor is not reentrant");
  uint64_t n_chunks = static_cast<uint64_t>((n + chunk - 1) / chunk);
  job_bounds_.clear();
  if (ranges_per_thread == kGuided) {
    // Each range a share 1 / (2 * threads) of the units left, at least one unit: a few large
    // ranges first and one-unit ranges at the end, where a thread that ran slower would
    // otherwise keep the others waiting for most of an even range.
    job_bounds_.push_back(0);
    int64_t done_units = 0;
    while (done_units < units) {
      const int64_t left = units - done_units;
      done_units += std::max<int64_t>(1, (left + 2 * num_threads_ - 1) / (2 * num_threads_));
      job_bounds_.push_back(std::min(n, done_units * grain));
    }
    MAMBA_CHECK(job_bounds_.size() <= 65536, "ThreadPool: too many guided ranges");
    n_chunks = job_bounds_.size() - 1;
  }
  job_ = &fn;
  job_n_ = n;
  job_chunk_ = chunk;
  done_.store(0, std::memory_order_relaxed);
  const uint32_t epoch = epoch_.load(std::memory_order_relaxed) + 1;
  claim_.store((uint64_t{epoch} << 32) | (n_chunks << 16), std::memory_order_release);
  epoch_.store(epoch, std::memory_order_seq_cst);  // wakes the spinning workers
  if (sleepers_.load(std::memory_order_seq_cst) > 0) {
    std::lock_guard<std::mutex> lock(mu_);
    wake_cv_.notify_all();
  }
  RunChunks();  // the caller takes chunks too, so a descheduled worker never stalls the job
  // Completion: spin briefly, then yield (a worker may be descheduled on a busy machine).
  for (int spins = 0; done_.load(std::memory_order_acquire) != static_cast<int64_t>(n_chunks);
       ++spins) {
    if (spins < 4096) {
      CpuRelax();
    } else {
      std::this_thread::yield();
    }
  }
  job_ = nullptr;
  busy_.store(false);
}

void ThreadPool::RunChunks() {
  uint64_t c = claim_.load(std::memory_order_acquire);
  for (;;) {
    const uint64_t total = (c >> 16) & 0xFFFF, next = c & 0xFFFF;
    if (next >= total) return;
    // A successful claim synchronizes with the caller's publication of this job's fields, and
    // the job cannot finish (and its fields change) before this chunk is marked done.
    if (!claim_.compare_exchange_weak(c, c + 1, std::memory_order_acq_rel,
                                      std::memory_order_acquire)) {
      continue;
    }
    int64_t begin, end;
    if (job_bounds_.empty()) {
      begin = static_cast<int64_t>(next) * job_chunk_;
      end = std::min(job_n_, begin + job_chunk_);
    } else {
      begin = job_bounds_[next];
      end = job_bounds_[next + 1];
    }
    (*job_)(begin, end);
    done_.fetch_add(1, std::memory_order_release);
    c = claim_.load(std::memory_order_acquire);
  }
}

uint32_t ThreadPool::AwaitJob(uint32_t seen) {
  // Spin, checking the clock every 64 pauses.
  const auto deadline = Clock::now() + std::chrono::microseconds(kSpinMicros);
  for (;;) {
    for (int i = 0; i < 64; ++i) {
      const uint32_t e = epoch_.load(std::memory_order_acquire);
      if (e != seen) return e;
      CpuRelax();
    }
    if (Clock::now() > deadline) break;
  }
  // Block. sleepers_ is raised before the epoch is re-checked under the lock, and the caller
  // reads sleepers_ after bumping the epoch (both seq_cst), so a wake-up cannot be missed.
  sleepers_.fetch_add(1, std::memory_order_seq_cst);
  uint32_t e;
  {
    std::unique_lock<std::mutex> lock(mu_);
    wake_cv_.wait(lock, [&] { return (e = epoch_.load(std::memory_order_seq_cst)) != seen; });
  }
  sleepers_.fetch_sub(1, std::memory_order_relaxed);
  return e;
}

void ThreadPool::WorkerLoop(int index) {
  uint32_t seen = 0;
  for (;;) {
    seen = AwaitJob(seen);
    if (stop_) return;
    RunChunks();
  }
}

int ThreadPool::DefaultThreadCount() {
  // Count distinct (physical id, core id) pairs; fall back to hardware_concurrency.
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::set<std::pair<std::string, std::string>> cores;
  std::string line, phys = "0";
  while (std::getline(cpuinfo, line)) {
    auto value = [&] { return line.substr(line.find(':') + 1); };
    if (line.rfind("physical id", 0) == 0) phys = value();
    if (line.rfind("core id", 0) == 0) cores.emplace(phys, value());
  }
  const int hw = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  if (cores.empty()) return hw;
  return std::min(hw, static_cast<int>(cores.size()));
}

}  // namespace mamba
