// SPDX-License-Identifier: MIT
// Which SIMD target the dispatched kernels currently run on (for logs and the per-target tests).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace mamba {

// Highway target name ("AVX2", "SSE4", "EMU128", ...) that HWY_DYNAMIC_DISPATCH selects now.
const char* KernelTargetName();

// Names of the targets this build can run on this CPU, best first ("AVX3", "AVX2", ...).
std::vector<std::string> AvailableKernelTargets();

// Restricts dispatch to one target by name (case-insensitive, e.g. "avx2" to measure what an
// AVX2-only machine runs); "auto" or "" restores the CPU's best. Process-wide; call it before
// any kernel runs concurrently. InvalidArgument for a target that is not available.
Status SelectKernelTarget(std::string_view name);

}  // namespace mamba
