// SPDX-License-Identifier: MIT
// Mamba-1 mixer forward for a batch of sequences. The projections run over all rows of the batch
// at once (matrix-matrix work in prefill and batched decode); the causal conv and the selective
// scan run per sequence over its rows, carrying that sequence's state.
// Reference: state-spaces/mamba@e9594ce mamba_ssm/modules/mamba_simple.py (Mamba.forward, .step).
#include "model/mamba1.h"

#include <cmath>

#include "kernels/conv1d.h"
#include "kernels/matmul.h"
#include "kernels/ssm_scan.h"
#include "model/weight_binder.h"

namespace mamba {

namespace {

struct Mamba1Weights {
  WeightMatrix in_proj;    // [2 * d_inner, d_model]: rows 0..d_inner-1 give x, rest z
  F32Param in_proj_bias;   // [2 * d_inner], empty unless config.proj_bias
  F32Param conv_weight;    // [d_inner, 1, d_conv]
  F32Param conv_bias;      // [d_inner], empty unless config.conv_bias
  WeightMatrix x_proj;     // [dt_rank + 2 * d_state, d_inner]: output split dt | B | C
  WeightMatrix dt_proj;    // [d_inner, dt_rank]
  F32Param dt_bias;        // [d_inner]
  F32Param A;              // [d_inner, d_state] = -exp(A_log) (GGUF: stored as such)
  F32Param D;              // [d_inner]
  WeightMatrix out_proj;   // [d_model, d_inner]
  F32Param out_proj_bias;  // [d_model], empty unless config.proj_bias
};

// Scratch slots. dt and then y take the x half of xz, dead once the conv has read it.
enum : int { kXZ, kXConv, kXDbl };

class Mamba1Mixer final : public Mixer {
 public:
  Mamba1Mixer(const ModelConfig& c, Mamba1Weights w)
      : d_model_(c.d_model),
        d_inner_(c.d_inner),
        d_state_(c.d_state),
        d_conv_(c.d_conv),
        dt_rank_(c.dt_rank),
        w_(std::move(w)) {}

  void Forward(int64_t layer, const float* in, int64_t n_rows, std::span<const SeqSlice> seqs,
               float* out, Scratch& scratch, ThreadPool* pool) const override {
    const int64_t d_xdbl = dt_rank_ + 2 * d_state_;
    // Scratch buffers, all row-major over the batch rows.
    float* xz = scratch.Get(kXZ, n_rows * 2 * d_inner_);  // [n_rows, 2 * d_inner]
    float* xc = scratch.Get(kXConv, n_rows * d_inner_);   // [n_rows, d_inner]
    float* x_dbl = scratch.Get(kXDbl, n_rows * d_xdbl);   // [n_rows, dt_rank + 2 * d_state]

    // xz = self.in_proj(hidden_states); x, z = xz.chunk(2, dim=1)
    MatMul(w_.in_proj, in, d_model_, n_rows, xz, 2 * d_inner_, pool);
    AddBiasRows(xz, n_rows, 2 * d_inner_, 2 * d_inner_, w_.in_proj_bias);
    const float* x = xz;             // [n_rows, d_inner], row stride 2 * d_inner
    const float* z = xz + d_inner_;  // [n_rows, d_inner], row stride 2 * d_inner

    // x = self.act(self.conv1d(x)[..., :seqlen])   (causal, continuing from conv_state)
    for (const SeqSlice& s : seqs) {
      CausalConv1dArgs conv;
      conv.n_tokens = s.length;
      conv.channels = d_inner_;
      conv.d_conv = d_conv_;
      conv.x = x + s.begin * 2 * d_inner_;
      conv.x_stride = 2 * d_inner_;
      conv.weight = w_.conv_weight.data();
      conv.bias = w_.conv_bias.empty() ? nullptr : w_.conv_bias.data();
      conv.conv_state = s.state->conv(layer);
      conv.out = xc + s.begin * d_inner_;
      conv.out_stride = d_inner_;
      CausalConv1dSilu(conv, pool);
    }

    // x_dbl = self.x_proj(x); dt, B, C = torch.split(x_dbl, [dt_rank, d_state, d_state], dim=-1)
    MatMul(w_.x_proj, xc, d_inner_, n_rows, x_dbl, d_xdbl, pool);
    // dt = self.dt_proj.weight @ dt.t()   (the bias is added inside the scan, before softplus)
    // dt: [n_rows, d_inner], row stride 2 * d_inner, in the x half of xz (x is dead after the
    // conv).
    float* dt = xz;
    MatMul(w_.dt_proj, x_dbl, d_xdbl, n_rows, dt, 2 * d_inner_, pool);

    // y: [n_rows, d_inner], row stride 2 * d_inner, written over dt (the scan allows y == dt).
    float* y = dt;
    // y = selective_scan_fn(x, dt, A, B, C, self.D, z=z, delta_bias=dt_proj.bias, delta_softplus)
    for (const SeqSlice& s : seqs) {
      SelectiveScanArgs scan;
      scan.n_tokens = s.length;
      scan.d_inner = d_inner_;
      scan.d_state = d_state_;
      scan.x = xc + s.begin * d_inner_;
      scan.x_stride = d_inner_;
      scan.dt = dt + s.begin * 2 * d_inner_;
      scan.dt_stride = 2 * d_inner_;
      scan.dt_bias = w_.dt_bias.data();
      scan.A = w_.A.data();
      scan.B = x_dbl + s.begin * d_xdbl + dt_rank_;
      scan.B_stride = d_xdbl;
      scan.C = x_dbl + s.begin * d_xdbl + dt_rank_ + d_state_;
      scan.C_stride = d_xdbl;
      scan.D = w_.D.data();
      scan.z = z + s.begin * 2 * d_inner_;
      scan.z_stride = 2 * d_inner_;
      scan.state = s.state->ssm(layer);
      scan.y = y + s.begin * 2 * d_inner_;
      scan.y_stride = 2 * d_inner_;
      SelectiveScan(scan, pool);
    }

    // out = self.out_proj(y)
    MatMul(w_.out_proj, y, 2 * d_inner_, n_rows, out, d_model_, pool);
    AddBiasRows(out, n_rows, d_model_, d_model_, w_.out_proj_bias);
  }

 private:
  int64_t d_model_, d_inner_, d_state_, d_conv_, dt_rank_;
  Mamba1Weights w_;
};

}  // namespace

StateShape Mamba1StateShape(const ModelConfig& c) {
  StateShape s;
  s.n_layer = c.n_layer;
  s.conv_rows = c.d_conv - 1;
  s.conv_channels = c.d_inner;
  s.ssm_size = c.d_inner * c.d_state;
  return s;
}

StatusOr<std::unique_ptr<Mixer>> LoadMamba1Mixer(const ModelConfig& c, const WeightBinder& wb,
                                                 const std::string& p) {
  Mamba1Weights w;
  const int64_t d_xdbl = c.dt_rank + 2 * c.d_state;
  MAMBA_ASSIGN_OR_RETURN(w.in_proj, wb.Matrix(p + "in_proj.weight", 2 * c.d_inner, c.d_model));
  if (c.proj_bias) {
    MAMBA_ASSIGN_OR_RETURN(w.in_proj_bias, wb.F32InPlace(p + "in_proj.bias", {2 * c.d_inner}));
    MAMBA_ASSIGN_OR_RETURN(w.out_proj_bias, wb.F32InPlace(p + "out_proj.bias", {c.d_model}));
  }
  MAMBA_ASSIGN_OR_RETURN(w.conv_weight,
                         wb.F32InPlace(p + "conv1d.weight", {c.d_inner, 1, c.d_conv}));
  if (c.conv_bias) {
    MAMBA_ASSIGN_OR_RETURN(w.conv_bias, wb.F32InPlace(p + "conv1d.bias", {c.d_inner}));
  }
  MAMBA_ASSIGN_OR_RETURN(w.x_proj, wb.Matrix(p + "x_proj.weight", d_xdbl, c.d_inner));
  MAMBA_ASSIGN_OR_RETURN(w.dt_proj, wb.Matrix(p + "dt_proj.weight", c.d_inner, c.dt_rank));
  MAMBA_ASSIGN_OR_RETURN(w.dt_bias, wb.F32InPlace(p + "dt_proj.bias", {c.d_inner}));
  // A = -torch.exp(self.A_log.float())
  if (!wb.Has(p + "A_log") && wb.Has(p + "A")) {
    // GGUF checkpoints store A itself (llama.cpp's ssm_a, already -exp(A_log)).
    MAMBA_ASSIGN_OR_RETURN(w.A, wb.F32InPlace(p + "A", {c.d_inner, c.d_state}));
  } else {
    MAMBA_ASSIGN_OR_RETURN(std::vector<float> A, wb.F32(p + "A_log", {c.d_inner, c.d_state}));
    for (float& a : A) a = -std::exp(a);
    w.A = F32Param::Owned(std::move(A));
  }
  MAMBA_ASSIGN_OR_RETURN(w.D, wb.F32InPlace(p + "D", {c.d_inner}));
  MAMBA_ASSIGN_OR_RETURN(w.out_proj, wb.Matrix(p + "out_proj.weight", c.d_model, c.d_inner));
  return std::unique_ptr<Mixer>(new Mamba1Mixer(c, std::move(w)));
}

}  // namespace mamba
