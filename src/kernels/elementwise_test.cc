// SPDX-License-Identifier: MIT
// AddInPlace vs AddInPlaceRef (bit-exact: one rounding per element) on every compiled target, and
// ArgMax tie-breaking.
#include "kernels/elementwise.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "kernels/kernel_test_util.h"

namespace mamba {
namespace {

using kernels_test::ForEachTarget;
using kernels_test::RandomVec;

TEST(ElementwiseTest, AddInPlaceMatchesRefAllTargets) {
  std::mt19937 rng(11);
  ForEachTarget([&](const std::string&) {
    for (int64_t n : {0, 1, 3, 7, 8, 9, 16, 17, 31, 64, 65, 1000}) {
      const std::vector<float> x = RandomVec(rng, n + 1, -10.0f, 10.0f);
      std::vector<float> acc = RandomVec(rng, n + 1, -10.0f, 10.0f);
      acc[n] = -7.0f;
      std::vector<float> ref = acc;
      AddInPlaceRef(ref.data(), x.data(), n);
      AddInPlace(acc.data(), x.data(), n);
      for (int64_t i = 0; i <= n; ++i) ASSERT_EQ(acc[i], ref[i]) << "n=" << n << " i=" << i;
    }
  });
}

TEST(ElementwiseTest, ArgMaxLowestIndexOnTies) {
  std::vector<float> v(1000, -1.0f);
  EXPECT_EQ(ArgMax(v.data(), 1000), 0);  // all equal
  v[500] = 3.0f;
  v[900] = 3.0f;
  EXPECT_EQ(ArgMax(v.data(), 1000), 500);
  v[999] = 4.0f;
  EXPECT_EQ(ArgMax(v.data(), 1000), 999);
  const float neg[3] = {-3.0f, -1.0f, -2.0f};
  EXPECT_EQ(ArgMax(neg, 3), 1);
  const float inf[3] = {1.0f, std::numeric_limits<float>::infinity(), 2.0f};
  EXPECT_EQ(ArgMax(inf, 3), 1);
}

// Lists the targets the per-target tests run on (and checks dispatch follows each one).
TEST(ElementwiseTest, TargetsUnderTest) {
  std::string names;
  ForEachTarget([&](const std::string& target) { names += target + " "; });
  std::printf("kernel targets tested: %s(default dispatch: %s)\n", names.c_str(),
              KernelTargetName());
  EXPECT_FALSE(names.empty());
}

}  // namespace
}  // namespace mamba
