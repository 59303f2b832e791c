// SPDX-License-Identifier: MIT
// Scalar reference twins of the element-wise ops.
#include "kernels/elementwise.h"

namespace mamba {

// acc = acc + x
void AddInPlaceRef(float* acc, const float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) acc[i] += x[i];
}

}  // namespace mamba
