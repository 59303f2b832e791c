// SPDX-License-Identifier: MIT
// Test-only: ForEachTarget for the quantized kernels, which also compile Highway's AVX3_DL target
// (quant_matmul.cc; the test sources define HWY_WANT_AVX3_DL too, see CMakeLists.txt).
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "hwy/highway.h"
#include "kernels/kernel_target.h"
#include "kernels/quant_internal.h"

namespace mamba::kernels_test {

// Runs body(target_name) once per target compiled into this test and supported by this CPU, with
// dynamic dispatch forced to it. For AVX3_DL, AVX3 stays allowed too: the kernels that do not
// compile AVX3_DL (everything but the quantized MatMul) then run on AVX3.
template <class Body>
void ForEachQuantTarget(const Body& body) {
  struct Reset {
    ~Reset() { hwy::SetSupportedTargetsForTest(0); }
  } reset;
  const std::vector<int64_t> targets = hwy::SupportedAndGeneratedTargets();
  ASSERT_FALSE(targets.empty());
  for (int64_t target : targets) {
    hwy::SetSupportedTargetsForTest(target == HWY_AVX3_DL ? (target | HWY_AVX3) : target);
    const std::string name = hwy::TargetName(target);
    SCOPED_TRACE("Highway target " + name);
    ASSERT_EQ(std::string(kernels_internal::QuantKernelTargetName()), name);
    if (target != HWY_AVX3_DL) {
      ASSERT_EQ(std::string(KernelTargetName()), name);
    }
    body(name);
  }
}

}  // namespace mamba::kernels_test
