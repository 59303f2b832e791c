// SPDX-License-Identifier: MIT
#include "threading/thread_pool.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
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

// ranges_per_thread: 2 threads x 4 ranges of 100 rows in grains of 8 -> ranges of 16 rows
// (13 grains over 8 ranges, rounded up to 2 grains), the last one short, all covered once.
TEST(ThreadPoolTest, RangesPerThreadSplit) {
  ThreadPool pool(2);
  for (int rep = 0; rep < 50; ++rep) {
    std::mutex mu;
    std::vector<std::pair<int64_t, int64_t>> ranges;
    std::vector<int> hits(100, 0);
    pool.ParallelFor(
        100, 8,
        [&](int64_t b, int64_t e) {
          std::lock_guard<std::mutex> lock(mu);
          ranges.emplace_back(b, e);
          for (int64_t i = b; i < e; ++i) ++hits[static_cast<size_t>(i)];
        },
        4);
    std::sort(ranges.begin(), ranges.end());
    ASSERT_EQ(ranges.size(), 7u);
    for (size_t k = 0; k < ranges.size(); ++k) {
      EXPECT_EQ(ranges[k].first, 16 * static_cast<int64_t>(k));
      EXPECT_EQ(ranges[k].second, std::min<int64_t>(100, 16 * static_cast<int64_t>(k + 1)));
    }
    for (int h : hits) ASSERT_EQ(h, 1);
  }
}

// kGuided: 2 threads, 100 rows in grains of 8 (13 grains): each range takes ceil(left / 4)
// grains, 4 3 2 1 1 1 1, so [0, 32) [32, 56) [56, 72) [72, 80) [80, 88) [88, 96) [96, 100).
TEST(ThreadPoolTest, GuidedSplit) {
  const std::vector<std::pair<int64_t, int64_t>> want = {{0, 32},  {32, 56}, {56, 72}, {72, 80},
                                                         {80, 88}, {88, 96}, {96, 100}};
  ThreadPool pool(2);
  for (int rep = 0; rep < 50; ++rep) {
    std::mutex mu;
    std::vector<std::pair<int64_t, int64_t>> ranges;
    pool.ParallelFor(
        100, 8,
        [&](int64_t b, int64_t e) {
          std::lock_guard<std::mutex> lock(mu);
          ranges.emplace_back(b, e);
        },
        ThreadPool::kGuided);
    std::sort(ranges.begin(), ranges.end());
    ASSERT_EQ(ranges, want);
  }
  // Every index once for other shapes, and one range when a single grain covers n.
  for (int threads : {2, 3, 8}) {
    ThreadPool p(threads);
    for (int64_t n : {1, 5, 64, 1000, 4096}) {
      for (int64_t grain : {1, 7, 32}) {
        std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
        std::atomic<int> calls{0};
        p.ParallelFor(
            n, grain,
            [&](int64_t b, int64_t e) {
              ++calls;
              ASSERT_EQ(b % grain, 0);
              ASSERT_TRUE(e == n || e % grain == 0);
              for (int64_t i = b; i < e; ++i) hits[static_cast<size_t>(i)]++;
            },
            ThreadPool::kGuided);
        for (auto& h : hits) ASSERT_EQ(h.load(), 1) << n << " " << grain;
        if (n <= grain) EXPECT_EQ(calls.load(), 1);
      }
    }
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
