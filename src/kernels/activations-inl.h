// SPDX-License-Identifier: MIT
// Vector SiLU and softplus shared by the conv1d and scan kernels, and the scans' by-halves lane
// sum. Highway per-target header:
// included from kernels/*.cc after foreach_target.h, compiled once per target.

// Per-target include guard (the Highway toggle idiom).
#if defined(MAMBA_KERNELS_ACTIVATIONS_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef MAMBA_KERNELS_ACTIVATIONS_INL_H_
#undef MAMBA_KERNELS_ACTIVATIONS_INL_H_
#else
#define MAMBA_KERNELS_ACTIVATIONS_INL_H_
#endif

#include "hwy/contrib/math/math-inl.h"
#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace mamba {
namespace HWY_NAMESPACE {

// silu(v) = v / (1 + exp(-v)). hn::Exp is valid up to +104 and overflows to +inf beyond 88.7,
// so clamping its argument at 100 gives v / inf = -0 for v < -88.7, like the scalar reference.
template <class D, class V>
HWY_INLINE V Silu(D d, V v) {
  namespace hn = hwy::HWY_NAMESPACE;
  const V e = hn::Exp(d, hn::Min(hn::Neg(v), hn::Set(d, 100.0f)));
  return hn::Div(v, hn::Add(hn::Set(d, 1.0f), e));
}

// softplus(v) = v > 20 ? v : log1p(exp(v)) (the Mamba threshold); exp's argument is clamped to
// 20 so the unused lanes stay finite.
template <class D, class V>
HWY_INLINE V Softplus(D d, V v) {
  namespace hn = hwy::HWY_NAMESPACE;
  const V th = hn::Set(d, 20.0f);
  return hn::IfThenElse(hn::Gt(v, th), v, hn::Log1p(d, hn::Exp(d, hn::Min(v, th))));
}

// Sum of the lanes by halves: lane i + lane i + N/2, then the same on the N/2 sums, down to one.
// ssm_scan.cc's ScanGroupChannelLanes repeats exactly this order with whole vectors; both scans
// use it (cheaper than SumOfLanes, which broadcasts the total to every lane).
template <class D>
HWY_INLINE float SumHalves(D d, hwy::HWY_NAMESPACE::Vec<D> v) {
  namespace hn = hwy::HWY_NAMESPACE;
#if HWY_HAVE_SCALABLE
  return hn::GetLane(hn::SumOfLanes(d, v));
#elif HWY_TARGET == HWY_SCALAR
  (void)d;
  return hn::GetLane(v);  // one lane
#else
  if constexpr (hn::MaxLanes(D()) == 1) {
    (void)d;
    return hn::GetLane(v);
  } else {
    const hn::Half<D> dh;
    return SumHalves(dh, hn::Add(hn::LowerHalf(dh, v), hn::UpperHalf(dh, v)));
  }
#endif
}

}  // namespace HWY_NAMESPACE
}  // namespace mamba
HWY_AFTER_NAMESPACE();

#endif  // MAMBA_KERNELS_ACTIVATIONS_INL_H_
