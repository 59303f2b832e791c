// SPDX-License-Identifier: MIT
// Test-only: ForEachTarget for the quantized kernels, also checking that the quantized MatMul
// (its own dispatch table, quant_matmul.cc) follows the forced target.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "kernels/kernel_test_util.h"
#include "kernels/quant_internal.h"

namespace mamba::kernels_test {

// ForEachTarget (kernel_test_util.h), asserting that the quantized kernels dispatch to the forced
// target as well.
template <class Body>
void ForEachQuantTarget(const Body& body) {
  ForEachTarget([&](const std::string& name) {
    ASSERT_EQ(std::string(kernels_internal::QuantKernelTargetName()), name);
    body(name);
  });
}

}  // namespace mamba::kernels_test
