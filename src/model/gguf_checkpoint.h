// SPDX-License-Identifier: MIT
// Opens a llama.cpp-style Mamba GGUF (arch "mamba") as a Checkpoint: the config from the
// `mamba.*` keys and the tensors renamed to the state-spaces names the model binds. Layer: model.
//
// GGUF tensor (ne, ggml order)                  -> bound name (shape, PyTorch order)
//   token_embd.weight [d_model, vocab]           -> backbone.embedding.weight [vocab, d_model]
//   output_norm.weight [d_model]                 -> backbone.norm_f.weight
//   output.weight (optional; absent = tied)      -> lm_head.weight
//   blk.N.attn_norm.weight                       -> backbone.layers.N.norm.weight
//   blk.N.ssm_in.weight [d_model, 2*d_inner]     -> backbone.layers.N.mixer.in_proj.weight
//   blk.N.ssm_conv1d.weight [d_conv, d_inner]    -> ...mixer.conv1d.weight [d_inner, 1, d_conv]
//   blk.N.ssm_conv1d.bias                        -> ...mixer.conv1d.bias
//   blk.N.ssm_x.weight                           -> ...mixer.x_proj.weight
//   blk.N.ssm_dt.weight / .bias                  -> ...mixer.dt_proj.weight / .bias
//   blk.N.ssm_a [d_state, d_inner]               -> ...mixer.A [d_inner, d_state] (= -exp(A_log))
//   blk.N.ssm_d                                  -> ...mixer.D
//   blk.N.ssm_out.weight                         -> ...mixer.out_proj.weight
#pragma once

#include <memory>
#include <string>

#include "base/status.h"
#include "io/gguf.h"
#include "io/tensor_view.h"
#include "model/config.h"

namespace mamba {

// The ModelConfig described by the GGUF's metadata (and the shape of token_embd.weight). Errors
// name the file and the key: general.architecture must be "mamba" or "mamba2" (others:
// Unimplemented); <arch>.embedding_length, block_count, ssm.conv_kernel, ssm.inner_size,
// ssm.state_size, ssm.time_step_rank (Mamba-2: the number of heads) are required, and for
// Mamba-2 ssm.group_count; attention.layer_norm_rms_epsilon defaults to 1e-5.
StatusOr<ModelConfig> GgufModelConfig(const GgufFile& gguf);

// The GGUF's tensors under the names above (views into the same mapping), `arch` being
// GgufModelConfig's. Unknown tensor names are an InvalidArgument naming the tensor.
StatusOr<TensorSet> GgufModelTensors(const GgufFile& gguf, Arch arch);

// Maps one GGUF tensor name to the bound name; "" when the name is not a known tensor of `arch`
// (Mamba-2: ssm_dt.bias is dt_bias, ssm_norm.weight the gated norm; no ssm_x / ssm_dt.weight).
std::string GgufToCheckpointName(const std::string& gguf_name, Arch arch = Arch::kMamba1);

}  // namespace mamba
