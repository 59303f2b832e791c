// SPDX-License-Identifier: MIT
// Scalar reference twin of SelectiveScan (Mamba-1), written after state-spaces/mamba
// selective_scan_ref / selective_state_update, one token at a time in F32.
#include <cmath>

#include "base/check.h"
#include "kernels/ssm_scan.h"

namespace mamba {

// mamba_ssm/ops/triton/softplus.py: softplus(x) = x if x > 20 else log1p(exp(x))
float SoftplusRef(float v) { return v > 20.0f ? v : std::log1p(std::exp(v)); }

void SelectiveScanRef(const SelectiveScanArgs& a) {
  const int64_t T = a.n_tokens;
  const int64_t N = a.d_state;
  MAMBA_DCHECK(T >= 1 && a.d_inner >= 0 && N >= 1);
  for (int64_t t = 0; t < T; ++t) {
    const float* Bt = a.B + t * a.B_stride;  // [d_state]
    const float* Ct = a.C + t * a.C_stride;  // [d_state]
    for (int64_t d = 0; d < a.d_inner; ++d) {
      // dt = softplus(dt + dt_bias)
      const float dt = SoftplusRef(a.dt[t * a.dt_stride + d] + (a.dt_bias ? a.dt_bias[d] : 0.0f));
      const float x = a.x[t * a.x_stride + d];
      const float dtx = dt * x;
      float* S = a.state + d * N;     // [d_state]
      const float* Ad = a.A + d * N;  // [d_state]
      float y = 0.0f;
      for (int64_t n = 0; n < N; ++n) {
        // state = state * exp(dt * A) + (dt * x) * B ; y = state @ C
        S[n] = std::exp(dt * Ad[n]) * S[n] + dtx * Bt[n];
        y += S[n] * Ct[n];
      }
      // out = y + x * D ; out = out * silu(z)
      if (a.D != nullptr) y += a.D[d] * x;
      if (a.z != nullptr) {
        const float z = a.z[t * a.z_stride + d];
        y *= z / (1.0f + std::exp(-z));
      }
      a.y[t * a.y_stride + d] = y;
    }
  }
}

}  // namespace mamba
