// SPDX-License-Identifier: MIT
#include "base/cpu_vendor.h"

#include <gtest/gtest.h>

#include <fstream>
#include <string>

namespace mamba {
namespace {

// Independent reference: the kernel's reading of the same CPUID string, where Linux exposes it.
TEST(CpuVendorTest, MatchesProcCpuinfo) {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line, vendor_id;
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("vendor_id", 0) == 0) {
      vendor_id = line.substr(line.find(':') + 2);
      break;
    }
  }
  const CpuVendor vendor = GetCpuVendor();
  if (vendor_id.empty()) {
    // No x86 vendor line (another OS or architecture): only x86 reports a vendor.
#if !(defined(__x86_64__) || defined(__i386__))
    EXPECT_EQ(vendor, CpuVendor::kOther);
#endif
    return;
  }
  const CpuVendor want = vendor_id == "GenuineIntel"   ? CpuVendor::kIntel
                         : vendor_id == "AuthenticAMD" ? CpuVendor::kAmd
                                                       : CpuVendor::kOther;
  EXPECT_EQ(vendor, want) << vendor_id;
  EXPECT_STRNE(CpuVendorName(vendor), "");
}

}  // namespace
}  // namespace mamba
