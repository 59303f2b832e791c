// SPDX-License-Identifier: MIT
// Element-wise ops on F32 rows (Highway, runtime dispatch): AddInPlace, plus ArgMax (scalar) and
// KernelTargetName.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/elementwise.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace mamba {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

void AddInPlaceSimd(float* HWY_RESTRICT acc, const float* HWY_RESTRICT x, int64_t n) {
  const hn::ScalableTag<float> df;
  const int64_t N = static_cast<int64_t>(hn::Lanes(df));
  int64_t i = 0;
  for (; i + N <= n; i += N) {
    hn::StoreU(hn::Add(hn::LoadU(df, acc + i), hn::LoadU(df, x + i)), df, acc + i);
  }
  for (; i < n; ++i) acc[i] += x[i];
}

const char* TargetNameSimd() { return hwy::TargetName(HWY_TARGET); }

}  // namespace HWY_NAMESPACE
}  // namespace mamba
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include "kernels/elementwise.h"
#include "kernels/kernel_target.h"

#include <cctype>
#include <string>
#include <vector>

#include "base/ascii.h"
#include "hwy/targets.h"

namespace mamba {

HWY_EXPORT(AddInPlaceSimd);
HWY_EXPORT(TargetNameSimd);

void AddInPlace(float* acc, const float* x, int64_t n) {
  HWY_DYNAMIC_DISPATCH(AddInPlaceSimd)(acc, x, n);
}

// Scalar: one pass, strict '>' keeps the lowest index on ties. A NaN never compares greater, so
// NaNs are skipped unless x[0] is NaN (then 0 is returned).
int64_t ArgMax(const float* x, int64_t n) {
  int64_t best = 0;
  float best_v = x[0];
  for (int64_t i = 1; i < n; ++i) {
    if (x[i] > best_v) {
      best_v = x[i];
      best = i;
    }
  }
  return best;
}

const char* KernelTargetName() { return HWY_DYNAMIC_DISPATCH(TargetNameSimd)(); }

std::vector<std::string> AvailableKernelTargets() {
  std::vector<std::string> names;
  for (int64_t t : hwy::SupportedAndGeneratedTargets()) names.emplace_back(hwy::TargetName(t));
  return names;
}

Status SelectKernelTarget(std::string_view name) {
  const auto lower = [](std::string_view s) { return AsciiLower(s); };
  if (name.empty() || lower(name) == "auto") {
    hwy::SetSupportedTargetsForTest(0);  // back to the CPU's own set
    return Status::Ok();
  }
  std::string available;
  for (int64_t t : hwy::SupportedAndGeneratedTargets()) {
    if (lower(hwy::TargetName(t)) == lower(name)) {
      hwy::SetSupportedTargetsForTest(t);
      return Status::Ok();
    }
    available += (available.empty() ? "" : ", ") + lower(hwy::TargetName(t));
  }
  return InvalidArgumentError("kernel target '" + std::string(name) +
                              "' is not available on this CPU/build (available: " + available +
                              ", auto)");
}

}  // namespace mamba
#endif  // HWY_ONCE
