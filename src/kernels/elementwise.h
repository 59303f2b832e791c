// SPDX-License-Identifier: MIT
// Small fused element-wise ops on F32 rows.
#pragma once

#include <cstdint>

namespace mamba {

// acc[i] += x[i] for i in [0, n).
void AddInPlace(float* acc, const float* x, int64_t n);
void AddInPlaceRef(float* acc, const float* x, int64_t n);

// Index of the largest value (lowest index on ties); n >= 1.
int64_t ArgMax(const float* x, int64_t n);

}  // namespace mamba
