// SPDX-License-Identifier: MIT
#include "threading/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

namespace mamba {
namespace {

TEST(ThreadPoolTest, CoversEveryIndexExactlyOnce) {
  for (int threads : {1, 2, 3, 8}) {
    ThreadPool pool(threads);
    for (int64_t n : {1, 2, 7, 64, 1000}) {
      for (int64_t grain : {1, 4, 16}) {
        std::vector<std::atomic<int>> hits(n);
        pool.ParallelFor(n, grain, [&](int64_t b, int64_t e) {
          ASSERT_LE(0, b);
          ASSERT_LE(b, e);
          ASSERT_LE(e, n);
          for (int64_t i = b; i < e; ++i) hits[i]++;
        });
        for (int64_t i = 0; i < n; ++i) EXPECT_EQ(hits[i].load(), 1) << n << " " << i;
      }
    }
  }
}

TEST(ThreadPoolTest, ManyShortJobs) {
  ThreadPool pool(4);
  std::atomic<int64_t> sum{0};
  for (int rep = 0; rep < 2000; ++rep) {
    pool.ParallelFor(8, 1, [&](int64_t b, int64_t e) { sum += e - b; });
  }
  EXPECT_EQ(sum.load(), 16000);
}

// Jobs far enough apart that the workers stop spinning and block; each must still be picked up.
TEST(ThreadPoolTest, WakesBlockedWorkers) {
  ThreadPool pool(3);
  for (int rep = 0; rep < 5; ++rep) {
    std::this_thread::sleep_for(std::chrono::microseconds(3 * ThreadPool::kSpinMicros));
    std::atomic<int> ranges{0};
    pool.ParallelFor(3, 1, [&](int64_t, int64_t) { ranges++; });
    EXPECT_EQ(ranges.load(), 3);
  }
}

// The split depends only on (n, grain, threads): range k always is [25k, 25k + 25).
TEST(ThreadPoolTest, DeterministicSplit) {
  ThreadPool pool(4);
  for (int rep = 0; rep < 100; ++rep) {
    std::vector<std::atomic<int64_t>> begins(4);
    for (auto& b : begins) b = -1;
    pool.ParallelFor(100, 5, [&](int64_t b, int64_t e) { begins[b / 25] = b; });
    for (int k = 0; k < 4; ++k) EXPECT_EQ(begins[k].load(), 25 * k);
  }
}

TEST(ThreadPoolTest, DestroyWhileWorkersSleep) {
  for (int rep = 0; rep < 3; ++rep) {
    ThreadPool pool(2);
    pool.ParallelFor(2, 1, [](int64_t, int64_t) {});
    std::this_thread::sleep_for(std::chrono::microseconds(2 * ThreadPool::kSpinMicros));
  }
}

}  // namespace
}  // namespace mamba
