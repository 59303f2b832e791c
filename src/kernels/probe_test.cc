// SPDX-License-Identifier: MIT
// ReadSumU32 vs its scalar twin (exact: wrapping integer sums) and FmaPeakLoop's flop count, on
// every compiled target.
#include "kernels/probe.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "hwy/highway.h"
#include "kernels/kernel_test_util.h"

namespace mamba {
namespace {

TEST(ProbeTest, ReadSumMatchesRefAllTargets) {
  std::mt19937 rng(5);
  std::vector<uint8_t> buf(4096 + 7);
  for (uint8_t& b : buf) b = static_cast<uint8_t>(rng());
  kernels_test::ForEachTarget([&](const std::string&) {
    for (size_t off : {0, 1, 3}) {
      for (size_t bytes : {0, 3, 4, 60, 64, 255, 256, 1000, 4096}) {
        ASSERT_EQ(ReadSumU32(buf.data() + off, bytes), ReadSumU32Ref(buf.data() + off, bytes))
            << off << " " << bytes;
      }
    }
  });
}

TEST(ProbeTest, FmaPeakLoopCountsFlops) {
  kernels_test::ForEachTarget([&](const std::string&) {
    float sink = 0;
    const double flops = FmaPeakLoop(10, &sink);
    EXPECT_GT(flops, 0.0);
    EXPECT_EQ(static_cast<int64_t>(flops) % 20, 0);  // 2 flops x 10 iterations per lane-chain
    EXPECT_TRUE(sink == sink);
  });
}

}  // namespace
}  // namespace mamba
