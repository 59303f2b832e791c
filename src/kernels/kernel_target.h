// SPDX-License-Identifier: MIT
// Which SIMD target the dispatched kernels currently run on (for logs and the per-target tests).
#pragma once

namespace mamba {

// Highway target name ("AVX2", "SSE4", "EMU128", ...) that HWY_DYNAMIC_DISPATCH selects now.
const char* KernelTargetName();

}  // namespace mamba
