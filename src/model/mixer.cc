// SPDX-License-Identifier: MIT
#include "model/mixer.h"

#include "kernels/elementwise.h"

namespace mamba {

void AddBiasRows(float* rows, int64_t n, int64_t width, int64_t stride, const F32Param& bias) {
  if (bias.empty()) return;
  for (int64_t i = 0; i < n; ++i) AddInPlace(rows + i * stride, bias.data(), width);
}

}  // namespace mamba
