// SPDX-License-Identifier: MIT
// Mamba-2 mixer forward for a batch of sequences. As in mamba1.cc, the projections run over all
// rows of the batch at once; the causal conv (over x, B and C together) and the scan run per
// sequence over its rows, carrying that sequence's state. Prefill runs the recurrence token by
// token (as llama.cpp does on CPU), not the chunked SSD form: the same math, reassociated.
// Reference: state-spaces/mamba@e9594ce mamba_ssm/modules/mamba2.py (Mamba2.forward, .step) and
// mamba_ssm/ops/triton/layernorm_gated.py (rms_norm_ref).
#include "model/mamba2.h"

#include <cmath>

#include "kernels/conv1d.h"
#include "kernels/matmul.h"
#include "kernels/rmsnorm.h"
#include "kernels/ssm_scan_heads.h"
#include "model/weight_binder.h"

namespace mamba {

namespace {

struct Mamba2Shape {
  int64_t d_model, d_inner, d_state, d_conv, n_groups, head_dim, n_heads;
  int64_t conv_dim;   // d_inner + 2 * n_groups * d_state: the channels of x | B | C
  int64_t d_in_proj;  // d_inner + conv_dim + n_heads: z | xBC | dt

  explicit Mamba2Shape(const ModelConfig& c)
      : d_model(c.d_model),
        d_inner(c.d_inner),
        d_state(c.d_state),
        d_conv(c.d_conv),
        n_groups(c.ngroups),
        head_dim(c.headdim),
        n_heads(c.d_inner / c.headdim),
        conv_dim(c.d_inner + 2 * c.ngroups * c.d_state),
        d_in_proj(c.d_inner + conv_dim + n_heads) {}
};

struct Mamba2Weights {
  WeightMatrix in_proj;    // [d_in_proj, d_model]: rows give z | xBC | dt
  F32Param in_proj_bias;   // [d_in_proj], empty unless config.proj_bias
  F32Param conv_weight;    // [conv_dim, 1, d_conv]
  F32Param conv_bias;      // [conv_dim], empty unless config.conv_bias
  F32Param dt_bias;        // [n_heads]
  F32Param A;              // [n_heads] = -exp(A_log)
  F32Param D;              // [n_heads]
  F32Param norm_weight;    // [d_inner]
  WeightMatrix out_proj;   // [d_model, d_inner]
  F32Param out_proj_bias;  // [d_model], empty unless config.proj_bias
};

// RMSNormGated's eps in Mamba2.__init__ (fixed, not the block norm's).
constexpr float kGatedNormEps = 1e-5f;

// Scratch slots.
enum : int { kZxbcdt, kXbcConv, kY };

class Mamba2Mixer final : public Mixer {
 public:
  Mamba2Mixer(const ModelConfig& c, Mamba2Weights w) : s_(c), w_(std::move(w)) {}

  void Forward(int64_t layer, const float* in, int64_t n_rows, std::span<const SeqSlice> seqs,
               float* out, Scratch& scratch, ThreadPool* pool) const override {
    const int64_t gn = s_.n_groups * s_.d_state;
    // Scratch buffers, all row-major over the batch rows.
    float* zxbcdt = scratch.Get(kZxbcdt, n_rows * s_.d_in_proj);  // [n_rows, d_in_proj]
    float* xbc = scratch.Get(kXbcConv, n_rows * s_.conv_dim);     // [n_rows, conv_dim]
    float* y = scratch.Get(kY, n_rows * s_.d_inner);              // [n_rows, d_inner]

    // zxbcdt = self.in_proj(u); z, xBC, dt = torch.split(zxbcdt, [d_inner, conv_dim, nheads])
    MatMul(w_.in_proj, in, s_.d_model, n_rows, zxbcdt, s_.d_in_proj, pool);
    AddBiasRows(zxbcdt, n_rows, s_.d_in_proj, s_.d_in_proj, w_.in_proj_bias);
    const float* z = zxbcdt;                              // [n_rows, d_inner], stride d_in_proj
    const float* xbc_in = zxbcdt + s_.d_inner;            // [n_rows, conv_dim], stride d_in_proj
    const float* dt = zxbcdt + s_.d_inner + s_.conv_dim;  // [n_rows, nheads], stride d_in_proj

    // xBC = self.act(self.conv1d(xBC)[..., :seqlen])   (causal, continuing from conv_state)
    for (const SeqSlice& s : seqs) {
      CausalConv1dArgs conv;
      conv.n_tokens = s.length;
      conv.channels = s_.conv_dim;
      conv.d_conv = s_.d_conv;
      conv.x = xbc_in + s.begin * s_.d_in_proj;
      conv.x_stride = s_.d_in_proj;
      conv.weight = w_.conv_weight.data();
      conv.bias = w_.conv_bias.empty() ? nullptr : w_.conv_bias.data();
      conv.conv_state = s.state->conv(layer);
      conv.out = xbc + s.begin * s_.conv_dim;
      conv.out_stride = s_.conv_dim;
      CausalConv1dSilu(conv, pool);
    }

    // x, B, C = torch.split(xBC, [d_inner, ngroups * d_state, ngroups * d_state], dim=-1)
    // y = ssm(x, dt, A, B, C, D, dt_bias, dt_softplus=True); y = y * silu(z) (RMSNormGated's gate)
    for (const SeqSlice& s : seqs) {
      HeadScanArgs scan;
      scan.n_tokens = s.length;
      scan.n_heads = s_.n_heads;
      scan.head_dim = s_.head_dim;
      scan.d_state = s_.d_state;
      scan.n_groups = s_.n_groups;
      scan.x = xbc + s.begin * s_.conv_dim;
      scan.x_stride = s_.conv_dim;
      scan.dt = dt + s.begin * s_.d_in_proj;
      scan.dt_stride = s_.d_in_proj;
      scan.dt_bias = w_.dt_bias.data();
      scan.A = w_.A.data();
      scan.B = xbc + s.begin * s_.conv_dim + s_.d_inner;
      scan.B_stride = s_.conv_dim;
      scan.C = xbc + s.begin * s_.conv_dim + s_.d_inner + gn;
      scan.C_stride = s_.conv_dim;
      scan.D = w_.D.data();
      scan.z = z + s.begin * s_.d_in_proj;
      scan.z_stride = s_.d_in_proj;
      scan.state = s.state->ssm(layer);
      scan.y = y + s.begin * s_.d_inner;
      scan.y_stride = s_.d_inner;
      SelectiveScanHeads(scan, pool);
    }

    // y = self.norm(y, z): RMS over each group of d_inner / ngroups channels, times weight.
    const int64_t group = s_.d_inner / s_.n_groups;
    for (int64_t g = 0; g < s_.n_groups; ++g) {
      RmsNorm(y + g * group, s_.d_inner, w_.norm_weight.data() + g * group, n_rows, group,
              kGatedNormEps, y + g * group, s_.d_inner);
    }

    // out = self.out_proj(y)
    MatMul(w_.out_proj, y, s_.d_inner, n_rows, out, s_.d_model, pool);
    AddBiasRows(out, n_rows, s_.d_model, s_.d_model, w_.out_proj_bias);
  }

 private:
  Mamba2Shape s_;
  Mamba2Weights w_;
};

}  // namespace

StateShape Mamba2StateShape(const ModelConfig& c) {
  const Mamba2Shape s(c);
  StateShape shape;
  shape.n_layer = c.n_layer;
  shape.conv_rows = c.d_conv - 1;
  shape.conv_channels = s.conv_dim;
  shape.ssm_size = c.d_inner * c.d_state;  // [nheads, headdim, d_state]
  return shape;
}

StatusOr<std::unique_ptr<Mixer>> LoadMamba2Mixer(const ModelConfig& c, const WeightBinder& wb,
                                                 const std::string& p) {
  const Mamba2Shape s(c);
  Mamba2Weights w;
  MAMBA_ASSIGN_OR_RETURN(w.in_proj, wb.Matrix(p + "in_proj.weight", s.d_in_proj, c.d_model));
  if (c.proj_bias) {
    MAMBA_ASSIGN_OR_RETURN(w.in_proj_bias, wb.F32InPlace(p + "in_proj.bias", {s.d_in_proj}));
    MAMBA_ASSIGN_OR_RETURN(w.out_proj_bias, wb.F32InPlace(p + "out_proj.bias", {c.d_model}));
  }
  MAMBA_ASSIGN_OR_RETURN(w.conv_weight,
                         wb.F32InPlace(p + "conv1d.weight", {s.conv_dim, 1, c.d_conv}));
  if (c.conv_bias) {
    MAMBA_ASSIGN_OR_RETURN(w.conv_bias, wb.F32InPlace(p + "conv1d.bias", {s.conv_dim}));
  }
  MAMBA_ASSIGN_OR_RETURN(w.dt_bias, wb.F32InPlace(p + "dt_bias", {s.n_heads}));
  // A = -torch.exp(self.A_log.float())
  if (!wb.Has(p + "A_log") && wb.Has(p + "A")) {
    // GGUF checkpoints store A itself (llama.cpp's ssm_a, already -exp(A_log)).
    MAMBA_ASSIGN_OR_RETURN(w.A, wb.F32InPlace(p + "A", {s.n_heads}));
  } else {
    MAMBA_ASSIGN_OR_RETURN(std::vector<float> A, wb.F32(p + "A_log", {s.n_heads}));
    for (float& a : A) a = -std::exp(a);
    w.A = F32Param::Owned(std::move(A));
  }
  // D: [nheads] (D_has_hdim=False, the default; [d_inner] is not supported).
  MAMBA_ASSIGN_OR_RETURN(w.D, wb.F32InPlace(p + "D", {s.n_heads}));
  MAMBA_ASSIGN_OR_RETURN(w.norm_weight, wb.F32InPlace(p + "norm.weight", {c.d_inner}));
  MAMBA_ASSIGN_OR_RETURN(w.out_proj, wb.Matrix(p + "out_proj.weight", c.d_model, c.d_inner));
  return std::unique_ptr<Mixer>(new Mamba2Mixer(c, std::move(w)));
}

}  // namespace mamba
