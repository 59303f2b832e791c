// SPDX-License-Identifier: MIT
// llama.cpp Mamba GGUF -> Checkpoint (see gguf_checkpoint.h). Key and tensor names follow
// llama.cpp's llama-arch.cpp (LLM_ARCH_MAMBA) and its converter (convert_hf_to_gguf.py,
// MambaModel): ssm_a holds -exp(A_log), ssm_conv1d.weight is the squeezed conv weight.
#include "model/gguf_checkpoint.h"

#include <cstdlib>

namespace mamba {

namespace {

constexpr uint64_t kMaxDim = 1 << 20;
constexpr uint64_t kMaxLayers = 4096;
constexpr uint64_t kMaxDState = 4096;
constexpr uint64_t kMaxDConv = 256;

StatusOr<int64_t> DimKey(const GgufFile& g, const std::string& key, uint64_t hi) {
  MAMBA_ASSIGN_OR_RETURN(uint64_t v, g.GetUInt(key));
  if (v < 1 || v > hi) {
    return InvalidArgumentError("'" + g.path() + "': key '" + key + "': value " +
                                std::to_string(v) + " outside [1, " + std::to_string(hi) + "]");
  }
  return static_cast<int64_t>(v);
}

// Parses "blk.<N>.<rest>"; returns false for other names.
bool SplitBlock(const std::string& name, std::string* layer, std::string* rest) {
  if (name.rfind("blk.", 0) != 0) return false;
  const size_t dot = name.find('.', 4);
  if (dot == std::string::npos || dot == 4) return false;
  for (size_t i = 4; i < dot; ++i) {
    if (name[i] < '0' || name[i] > '9') return false;
  }
  if (dot - 4 > 1 && name[4] == '0') return false;  // no leading zeros
  *layer = name.substr(4, dot - 4);
  *rest = name.substr(dot + 1);
  return true;
}

}  // namespace

std::string GgufToCheckpointName(const std::string& n, Arch arch) {
  if (n == "token_embd.weight") return "backbone.embedding.weight";
  if (n == "output_norm.weight") return "backbone.norm_f.weight";
  if (n == "output.weight") return "lm_head.weight";
  std::string layer, rest;
  if (!SplitBlock(n, &layer, &rest)) return "";
  const std::string p = "backbone.layers." + layer + ".";
  if (rest == "attn_norm.weight") return p + "norm.weight";
  if (arch == Arch::kMamba2) {
    static const char* const kMixer2[][2] = {
        {"ssm_in.weight", "in_proj.weight"},
        {"ssm_conv1d.weight", "conv1d.weight"},
        {"ssm_conv1d.bias", "conv1d.bias"},
        {"ssm_dt.bias", "dt_bias"},
        {"ssm_a", "A"},
        {"ssm_d", "D"},
        {"ssm_norm.weight", "norm.weight"},
        {"ssm_out.weight", "out_proj.weight"},
        {"ssm_in.bias", "in_proj.bias"},
        {"ssm_out.bias", "out_proj.bias"},
    };
    for (const auto& [from, to] : kMixer2) {
      if (rest == from) return p + "mixer." + to;
    }
    return "";
  }
  static const char* const kMixer[][2] = {
      {"ssm_in.weight", "in_proj.weight"},
      {"ssm_in.bias", "in_proj.bias"},
      {"ssm_conv1d.weight", "conv1d.weight"},
      {"ssm_conv1d.bias", "conv1d.bias"},
      {"ssm_x.weight", "x_proj.weight"},
      {"ssm_dt.weight", "dt_proj.weight"},
      {"ssm_dt.bias", "dt_proj.bias"},
      {"ssm_a", "A"},
      {"ssm_d", "D"},
      {"ssm_out.weight", "out_proj.weight"},
      {"ssm_out.bias", "out_proj.bias"},
  };
  for (const auto& [from, to] : kMixer) {
    if (rest == from) return p + "mixer." + to;
  }
  return "";
}

StatusOr<ModelConfig> GgufModelConfig(const GgufFile& g) {
  const std::string q = "'" + g.path() + "'";
  MAMBA_ASSIGN_OR_RETURN(std::string arch, g.GetString("general.architecture"));
  if (arch != "mamba" && arch != "mamba2") {
    return UnimplementedError(q + ": key 'general.architecture': \"" + arch +
                              "\" is not supported (supported: \"mamba\", \"mamba2\")");
  }
  const std::string k = arch + ".";
  ModelConfig c;
  c.arch = arch == "mamba2" ? Arch::kMamba2 : Arch::kMamba1;
  MAMBA_ASSIGN_OR_RETURN(c.d_model, DimKey(g, k + "embedding_length", kMaxDim));
  MAMBA_ASSIGN_OR_RETURN(c.n_layer, DimKey(g, k + "block_count", kMaxLayers));
  MAMBA_ASSIGN_OR_RETURN(c.d_conv, DimKey(g, k + "ssm.conv_kernel", kMaxDConv));
  MAMBA_ASSIGN_OR_RETURN(c.d_inner, DimKey(g, k + "ssm.inner_size", kMaxDim));
  MAMBA_ASSIGN_OR_RETURN(c.d_state, DimKey(g, k + "ssm.state_size", kMaxDState));
  MAMBA_ASSIGN_OR_RETURN(c.dt_rank, DimKey(g, k + "ssm.time_step_rank", kMaxDim));
  c.expand = c.d_inner / c.d_model;
  if (c.arch == Arch::kMamba2) {
    // time_step_rank is the number of heads; head_dim = d_inner / heads.
    const int64_t heads = c.dt_rank;
    MAMBA_ASSIGN_OR_RETURN(c.ngroups, DimKey(g, k + "ssm.group_count", kMaxDim));
    if (c.d_inner % heads != 0) {
      return InvalidArgumentError(q + ": key '" + k +
                                  "ssm.time_step_rank': the number of heads does not divide "
                                  "ssm.inner_size");
    }
    if (heads % c.ngroups != 0) {
      return InvalidArgumentError(q + ": key '" + k +
                                  "ssm.group_count': does not divide the number of heads");
    }
    c.headdim = c.d_inner / heads;
    c.dt_rank = 0;
  }
  if (g.Has(k + "attention.layer_norm_rms_epsilon")) {
    MAMBA_ASSIGN_OR_RETURN(c.norm_eps, g.GetFloat(k + "attention.layer_norm_rms_epsilon"));
    if (!(c.norm_eps >= 0 && c.norm_eps <= 1)) {
      return InvalidArgumentError(q + ": key '" + k +
                                  "attention.layer_norm_rms_epsilon': out of range");
    }
  }
  if (g.Has("mamba.ssm.dt_b_c_rms")) {
    MAMBA_ASSIGN_OR_RETURN(bool dt_b_c_rms, g.GetBool("mamba.ssm.dt_b_c_rms"));
    if (dt_b_c_rms) {
      return UnimplementedError(q +
                                ": key 'mamba.ssm.dt_b_c_rms': true (Falcon-Mamba RMS norms "
                                "on dt/B/C) is not supported");
    }
  }
  const TensorView* emb = g.tensors.Find("token_embd.weight");
  if (emb == nullptr) return NotFoundError(q + ": missing tensor 'token_embd.weight'");
  if (emb->shape.size() != 2) {
    return InvalidArgumentError(q + ": tensor 'token_embd.weight': expected 2 dims, found " +
                                ShapeToString(emb->shape));
  }
  c.vocab_padded = emb->shape[0];
  c.vocab_size = c.vocab_padded;
  if (const GgufValue* tokens = g.Find("tokenizer.ggml.tokens");
      tokens != nullptr && tokens->ArraySize() > 0 &&
      static_cast<int64_t>(tokens->ArraySize()) <= c.vocab_padded) {
    c.vocab_size = static_cast<int64_t>(tokens->ArraySize());
  }
  c.pad_vocab_size_multiple = 1;
  c.tie_embeddings = g.tensors.Find("output.weight") == nullptr;
  c.conv_bias = g.tensors.Find("blk.0.ssm_conv1d.bias") != nullptr;
  c.proj_bias = g.tensors.Find("blk.0.ssm_in.bias") != nullptr;
  auto token_id = [&](const char* key, int32_t* out) -> Status {
    if (!g.Has(key)) return Status::Ok();
    MAMBA_ASSIGN_OR_RETURN(uint64_t id, g.GetUInt(key));
    if (id > INT32_MAX) return InvalidArgumentError(q + ": key '" + key + "': out of range");
    *out = static_cast<int32_t>(id);
    return Status::Ok();
  };
  MAMBA_RETURN_IF_ERROR(token_id("tokenizer.ggml.bos_token_id", &c.bos_token_id));
  MAMBA_RETURN_IF_ERROR(token_id("tokenizer.ggml.eos_token_id", &c.eos_token_id));
  return c;
}

StatusOr<TensorSet> GgufModelTensors(const GgufFile& g, Arch arch) {
  const bool m2 = arch == Arch::kMamba2;
  TensorSet out;
  for (const GgufTensorInfo& info : g.tensor_infos) {
    const std::string name = GgufToCheckpointName(info.name, arch);
    if (name.empty()) {
      return InvalidArgumentError("'" + g.path() + "': tensor '" + info.name +
                                  "' is not a Mamba tensor (llama.cpp arch \"" +
                                  (m2 ? "mamba2" : "mamba") + "\" names)");
    }
    TensorView v = *g.tensors.Find(info.name);
    v.name = name;
    // Mamba-2: the converter stores A and D as [nheads, 1] and the gated norm's weight as
    // [ngroups, d_inner / ngroups]; the checkpoint tensors are flat (same bytes, row-major).
    auto ends_with = [&](const char* suffix) {
      const size_t n = std::char_traits<char>::length(suffix);
      return info.name.size() > n && info.name.compare(info.name.size() - n, n, suffix) == 0;
    };
    if (m2 && v.shape.size() == 2 &&
        (ends_with(".ssm_a") || ends_with(".ssm_d") || ends_with(".ssm_norm.weight"))) {
      v.shape = {v.shape[0] * v.shape[1]};
    }
    // The converter squeezes conv1d.weight [d_inner, 1, d_conv] to [d_inner, d_conv]: same bytes.
    if (info.name.size() > 18 &&
        info.name.compare(info.name.size() - 18, 18, ".ssm_conv1d.weight") == 0 &&
        v.shape.size() == 2) {
      v.shape = {v.shape[0], 1, v.shape[1]};
    }
    MAMBA_RETURN_IF_ERROR(out.Add(std::move(v)).WithPrefix("'" + g.path() + "'"));
  }
  return out;
}

}  // namespace mamba
