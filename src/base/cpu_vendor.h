// SPDX-License-Identifier: MIT
// The CPU's vendor, for the few tuning constants measured to differ between vendors' cores
// (e.g. how far ahead the quantized decode kernels prefetch weights).
#pragma once

namespace mamba {

enum class CpuVendor { kIntel, kAmd, kOther };

// From CPUID leaf 0 on x86 ("GenuineIntel", "AuthenticAMD"); kOther elsewhere. Cheap, no state.
CpuVendor GetCpuVendor();

const char* CpuVendorName(CpuVendor vendor);

}  // namespace mamba
