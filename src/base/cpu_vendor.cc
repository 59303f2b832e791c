// SPDX-License-Identifier: MIT
#include "base/cpu_vendor.h"

#include <cstring>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

namespace mamba {

CpuVendor GetCpuVendor() {
#if defined(__x86_64__) || defined(__i386__)
  unsigned int max_leaf = 0, ebx = 0, ecx = 0, edx = 0;
  if (__get_cpuid(0, &max_leaf, &ebx, &ecx, &edx) == 0) return CpuVendor::kOther;
  // The 12-byte vendor string is EBX, EDX, ECX in that order.
  char vendor[12];
  std::memcpy(vendor, &ebx, 4);
  std::memcpy(vendor + 4, &edx, 4);
  std::memcpy(vendor + 8, &ecx, 4);
  if (std::memcmp(vendor, "GenuineIntel", 12) == 0) return CpuVendor::kIntel;
  if (std::memcmp(vendor, "AuthenticAMD", 12) == 0) return CpuVendor::kAmd;
#endif
  return CpuVendor::kOther;
}

const char* CpuVendorName(CpuVendor vendor) {
  switch (vendor) {
    case CpuVendor::kIntel:
      return "Intel";
    case CpuVendor::kAmd:
      return "AMD";
    case CpuVendor::kOther:
      break;
  }
  return "other";
}

}  // namespace mamba
