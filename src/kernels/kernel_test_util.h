// SPDX-License-Identifier: MIT
// Test-only helpers for the kernel tests: run a body once per compiled and supported Highway
// target (forcing dynamic dispatch to it), seeded random fills, and the float unit roundoff.
#pragma once

#include <gtest/gtest.h>

#include <cfloat>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "hwy/highway.h"
#include "kernels/kernel_target.h"

namespace mamba::kernels_test {

// FLT_EPSILON = 2^-23 = twice the unit roundoff of round-to-nearest F32.
constexpr double kEps = FLT_EPSILON;

// Runs body(target_name) once per target that is both compiled into the kernels and supported
// by this CPU, with HWY_DYNAMIC_DISPATCH forced to that target; checks the dispatch really
// switched. Failures inside body carry the target name via SCOPED_TRACE.
template <class Body>
void ForEachTarget(const Body& body) {
  struct Reset {
    ~Reset() { hwy::SetSupportedTargetsForTest(0); }
  } reset;
  const std::vector<int64_t> targets = hwy::SupportedAndGeneratedTargets();
  ASSERT_FALSE(targets.empty());
  for (int64_t target : targets) {
    hwy::SetSupportedTargetsForTest(target);
    const std::string name = hwy::TargetName(target);
    SCOPED_TRACE("Highway target " + name);
    ASSERT_EQ(std::string(KernelTargetName()), name);
    body(name);
  }
}

// Uniform floats in [lo, hi) from a fixed-seed generator.
inline std::vector<float> RandomVec(std::mt19937& rng, size_t n, float lo, float hi) {
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (float& f : v) f = dist(rng);
  return v;
}

}  // namespace mamba::kernels_test
