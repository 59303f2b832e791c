// SPDX-License-Identifier: MIT
// ReadSumU32 and FmaPeakLoop (Highway, runtime dispatch). Scalar twin of ReadSumU32: probe_ref.cc.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/probe.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"

#include <cstdint>
#include <cstring>

HWY_BEFORE_NAMESPACE();
namespace mamba {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

uint32_t ReadSumU32Simd(const void* data, size_t bytes) {
  const hn::ScalableTag<uint32_t> du;
  const size_t N = hn::Lanes(du);
  const uint32_t* p = static_cast<const uint32_t*>(data);
  const size_t n = bytes / 4;
  // Four independent accumulators so the loads, not the adds, set the pace.
  auto a0 = hn::Zero(du), a1 = hn::Zero(du), a2 = hn::Zero(du), a3 = hn::Zero(du);
  size_t i = 0;
  for (; i + 4 * N <= n; i += 4 * N) {
    a0 = hn::Add(a0, hn::LoadU(du, p + i));
    a1 = hn::Add(a1, hn::LoadU(du, p + i + N));
    a2 = hn::Add(a2, hn::LoadU(du, p + i + 2 * N));
    a3 = hn::Add(a3, hn::LoadU(du, p + i + 3 * N));
  }
  // Reduce through memory: SumOfLanes on u32 maps to a signed-int reduction intrinsic on some
  // targets, whose (intended) wrap-around UBSan reports as signed overflow.
  alignas(64) uint32_t lanes[hn::MaxLanes(du)];
  hn::Store(hn::Add(hn::Add(a0, a1), hn::Add(a2, a3)), du, lanes);
  uint32_t sum = 0;
  for (size_t k = 0; k < N; ++k) sum += lanes[k];
  for (; i < n; ++i) {
    uint32_t w;
    std::memcpy(&w, p + i, 4);
    sum += w;
  }
  return sum;
}

double FmaPeakLoopSimd(int64_t iters, float* sink) {
  const hn::ScalableTag<float> df;
  // 12 independent chains cover FMA latency (4-5 cycles) x 2 FMA pipes with room to spare and
  // still fit in 16 registers together with the two operands.
  constexpr int kChains = 12;
  hn::Vec<decltype(df)> acc[kChains];
  for (int k = 0; k < kChains; ++k) acc[k] = hn::Set(df, 0.001f * static_cast<float>(k));
  const auto m = hn::Set(df, 0.999999f);
  const auto a = hn::Set(df, 1e-7f);
  for (int64_t i = 0; i < iters; ++i) {
    for (int k = 0; k < kChains; ++k) acc[k] = hn::MulAdd(acc[k], m, a);
  }
  auto s = acc[0];
  for (int k = 1; k < kChains; ++k) s = hn::Add(s, acc[k]);
  *sink = hn::GetLane(hn::SumOfLanes(df, s));
  return 2.0 * static_cast<double>(iters) * kChains * static_cast<double>(hn::Lanes(df));
}

}  // namespace HWY_NAMESPACE
}  // namespace mamba
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include "kernels/probe.h"

namespace mamba {

HWY_EXPORT(ReadSumU32Simd);
HWY_EXPORT(FmaPeakLoopSimd);

uint32_t ReadSumU32(const void* data, size_t bytes) {
  return HWY_DYNAMIC_DISPATCH(ReadSumU32Simd)(data, bytes);
}

double FmaPeakLoop(int64_t iters, float* sink) {
  return HWY_DYNAMIC_DISPATCH(FmaPeakLoopSimd)(iters, sink);
}

}  // namespace mamba
#endif  // HWY_ONCE
