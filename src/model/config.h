// SPDX-License-Identifier: MIT
// ModelConfig: the hyperparameters of a Mamba checkpoint, parsed from either config.json dialect:
//  - state-spaces (mamba_ssm MambaConfig): d_model, n_layer, vocab_size, ssm_cfg{...},
//    pad_vocab_size_multiple, tie_embeddings;
//  - Hugging Face MambaForCausalLM (model_type "mamba"): hidden_size, num_hidden_layers,
//    state_size, expand, conv_kernel, time_step_rank, use_conv_bias, use_bias, ...; and
//    Mamba2ForCausalLM (model_type "mamba2"): head_dim, num_heads, n_groups, chunk_size, ...
//    (Python's bare Infinity / NaN, which json.dump writes, are accepted).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"

namespace mamba {

enum class Arch { kMamba1, kMamba2 };
enum class ConfigDialect { kStateSpaces, kHuggingFace };

std::string_view ArchName(Arch arch);

struct ModelConfig {
  Arch arch = Arch::kMamba1;
  ConfigDialect dialect = ConfigDialect::kStateSpaces;
  int64_t d_model = 0;
  int64_t n_layer = 0;
  int64_t vocab_size = 0;    // as written in the config
  int64_t vocab_padded = 0;  // embedding rows: vocab_size rounded up to pad_vocab_size_multiple
  int64_t pad_vocab_size_multiple = 1;
  int64_t d_state = 16;
  int64_t d_conv = 4;
  int64_t expand = 2;
  int64_t d_inner = 0;  // expand * d_model (or HF intermediate_size)
  int64_t dt_rank = 0;  // "auto" = ceil(d_model / 16)
  // Mamba-2 only.
  int64_t headdim = 64;
  int64_t ngroups = 1;
  int64_t chunk_size = 256;
  bool conv_bias = true;   // conv1d has a bias
  bool proj_bias = false;  // in_proj/out_proj have biases
  bool tie_embeddings = true;
  double norm_eps = 1e-5;
  int32_t bos_token_id = 0;
  int32_t eos_token_id = 0;
};

// Parses config JSON text. `file_name` is used in error messages only. Every missing or invalid
// key is an InvalidArgument error naming the file and the key.
StatusOr<ModelConfig> ParseModelConfig(std::string_view json_text, const std::string& file_name);

// Reads and parses the file at `path`.
StatusOr<ModelConfig> LoadModelConfig(const std::string& path);

}  // namespace mamba
