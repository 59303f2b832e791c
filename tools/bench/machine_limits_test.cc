// SPDX-License-Identifier: MIT
// The bench's own measurements that have an exact answer: the median, and the share of a mapping
// in 2 MiB pages as the kernel reports it.
#include "machine_limits.h"

#include <gtest/gtest.h>
#include <sys/mman.h>

#include <cstring>

namespace mamba::bench {
namespace {

TEST(MachineLimitsTest, Median) {
  EXPECT_EQ(Median({}), 0.0);
  EXPECT_EQ(Median({3.0}), 3.0);
  EXPECT_EQ(Median({5.0, 1.0, 3.0}), 3.0);
  EXPECT_EQ(Median({4.0, 1.0, 3.0, 2.0}), 2.5);
}

#ifdef __linux__
TEST(MachineLimitsTest, HugePageFractionOfSmallPagesIsZero) {
  constexpr size_t kBytes = size_t{8} << 20;
  void* p = ::mmap(nullptr, kBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(p, MAP_FAILED);
  ASSERT_EQ(::madvise(p, kBytes, MADV_NOHUGEPAGE), 0);
  std::memset(p, 1, kBytes);  // resident, in 4 KiB pages only
  const double f = HugePageFraction({{static_cast<const uint8_t*>(p), kBytes}});
  EXPECT_EQ(f, 0.0);  // (-1 would mean a kernel before 4.8, without FilePmdMapped)
  ::munmap(p, kBytes);
}

TEST(MachineLimitsTest, HugePageFractionOfNothingResidentIsUnknown) {
  // No mapping holds a range at address 4096 (the zero page region is never mapped).
  EXPECT_EQ(HugePageFraction({{reinterpret_cast<const uint8_t*>(4096), 4096}}), -1.0);
  EXPECT_EQ(HugePageFraction({}), -1.0);
}

TEST(MachineLimitsTest, HugePageFractionIsAFraction) {
  constexpr size_t kBytes = size_t{8} << 20;
  void* p = ::mmap(nullptr, kBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(p, MAP_FAILED);
  (void)::madvise(p, kBytes, MADV_HUGEPAGE);
  std::memset(p, 1, kBytes);
  const double f = HugePageFraction({{static_cast<const uint8_t*>(p), kBytes}});
  EXPECT_GE(f, 0.0);
  EXPECT_LE(f, 1.0);
  ::munmap(p, kBytes);
}
#endif

}  // namespace
}  // namespace mamba::bench
