// SPDX-License-Identifier: MIT
// Scalar reference twin of SelectiveScanHeads (Mamba-2), written after state-spaces/mamba
// mamba2.py step(), one token at a time in F32.
#include <cmath>

#include "base/check.h"
#include "kernels/ssm_scan.h"
#include "kernels/ssm_scan_heads.h"

namespace mamba {

void SelectiveScanHeadsRef(const HeadScanArgs& a) {
  const int64_t P = a.head_dim, N = a.d_state;
  MAMBA_CHECK(a.n_tokens >= 1 && a.n_heads >= 1 && P >= 1 && N >= 1 && a.n_groups >= 1 &&
              a.n_heads % a.n_groups == 0);
  const int64_t heads_per_group = a.n_heads / a.n_groups;
  for (int64_t t = 0; t < a.n_tokens; ++t) {
    for (int64_t h = 0; h < a.n_heads; ++h) {
      const int64_t g = h / heads_per_group;
      const float* Bt = a.B + t * a.B_stride + g * N;  // [d_state]
      const float* Ct = a.C + t * a.C_stride + g * N;  // [d_state]
      // dt = F.softplus(dt + self.dt_bias); dA = torch.exp(dt * A)
      const float dt = SoftplusRef(a.dt[t * a.dt_stride + h] + (a.dt_bias ? a.dt_bias[h] : 0.0f));
      const float dA = std::exp(dt * a.A[h]);
      for (int64_t p = 0; p < P; ++p) {
        const int64_t c = h * P + p;
        const float x = a.x[t * a.x_stride + c];
        const float dtx = dt * x;
        float* S = a.state + c * N;  // [d_state]
        float y = 0.0f;
        for (int64_t n = 0; n < N; ++n) {
          // ssm_state = ssm_state * dA + dBx ; y = ssm_state @ C
          S[n] = S[n] * dA + dtx * Bt[n];
          y += S[n] * Ct[n];
        }
        // y = y + D * x ; (RMSNormGated, norm_before_gate=False) y = y * silu(z)
        if (a.D != nullptr) y += a.D[h] * x;
        if (a.z != nullptr) {
          const float z = a.z[t * a.z_stride + c];
          y *= z / (1.0f + std::exp(-z));
        }
        a.y[t * a.y_stride + c] = y;
      }
    }
  }
}

}  // namespace mamba
