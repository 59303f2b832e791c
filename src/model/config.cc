// SPDX-License-Identifier: MIT
#include "model/config.h"

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace mamba {

namespace {

using nlohmann::json;

// Upper bounds that no real checkpoint comes near; they keep hostile configs from requesting
// absurd allocations before the weights are even looked at.
constexpr int64_t kMaxDim = 1 << 20;
constexpr int64_t kMaxLayers = 4096;
constexpr int64_t kMaxVocab = 1 << 24;
constexpr int64_t kMaxDState = 4096;
constexpr int64_t kMaxDConv = 256;

class KeyReader {
 public:
  KeyReader(const json& obj, std::string file, std::string scope)
      : obj_(obj), file_(std::move(file)), scope_(std::move(scope)) {}

  bool Has(const char* key) const { return obj_.contains(key) && !obj_.at(key).is_null(); }

  Status Error(const char* key, const std::string& what) const {
    return InvalidArgumentError(file_ + ": key '" + scope_ + key + "': " + what);
  }

  // Reads an integer in [lo, hi]; a missing key is an error unless `def` is given.
  StatusOr<int64_t> Int(const char* key, int64_t lo, int64_t hi,
                        std::optional<int64_t> def = std::nullopt) const {
    if (!Has(key)) {
      if (def) return *def;
      return Error(key, "missing (required)");
    }
    const json& v = obj_.at(key);
    int64_t x;
    if (v.is_number_integer()) {
      x = v.get<int64_t>();
    } else if (v.is_number_float() && std::isfinite(v.get<double>()) &&
               std::fabs(v.get<double>()) < 9.0e18 &&
               v.get<double>() == std::trunc(v.get<double>())) {
      x = static_cast<int64_t>(v.get<double>());  // e.g. 768.0; range-checked before the cast
    } else {
      return Error(key, "expected an integer, got " + Truncated(v));
    }
    if (x < lo || x > hi) {
      return Error(key, "value " + std::to_string(x) + " outside [" + std::to_string(lo) + ", " +
                            std::to_string(hi) + "]");
    }
    return x;
  }

  StatusOr<bool> Bool(const char* key, bool def) const {
    if (!Has(key)) return def;
    const json& v = obj_.at(key);
    if (!v.is_boolean()) return Error(key, "expected true or false, got " + Truncated(v));
    return v.get<bool>();
  }

  StatusOr<double> Number(const char* key, double lo, double hi, double def) const {
    if (!Has(key)) return def;
    const json& v = obj_.at(key);
    if (!v.is_number()) return Error(key, "expected a number, got " + Truncated(v));
    const double x = v.get<double>();
    if (!(x >= lo && x <= hi)) return Error(key, "value " + Truncated(v) + " out of range");
    return x;
  }

  // dt_rank / time_step_rank: "auto" (= ceil(d_model / 16)) or a positive integer.
  StatusOr<int64_t> Rank(const char* key, int64_t d_model) const {
    const int64_t auto_rank = (d_model + 15) / 16;
    if (!Has(key)) return auto_rank;
    const json& v = obj_.at(key);
    if (v.is_string()) {
      if (v.get<std::string>() == "auto") return auto_rank;
      return Error(key, "expected \"auto\" or an integer, got " + Truncated(v));
    }
    return Int(key, 1, kMaxDim);
  }

 private:
  static std::string Truncated(const json& v) {
    std::string s = v.dump();
    if (s.size() > 40) s = s.substr(0, 37) + "...";
    return s;
  }

  const json& obj_;
  std::string file_;
  std::string scope_;
};

int64_t RoundUp(int64_t x, int64_t m) { return (x + m - 1) / m * m; }

// Mamba-2's dt limit (ssm_cfg.dt_limit, HF time_step_limit): dt is clamped to it. Only the default
// [0, inf), no clamping, is supported (Python writes inf as Infinity, read as the largest double).
Status RefuseDtClamp(const json& obj, const char* key, const std::string& file,
                     const std::string& scope) {
  if (!obj.contains(key) || obj.at(key).is_null()) return Status::Ok();
  const json& lim = obj.at(key);
  if (!lim.is_array() || lim.size() != 2 || !lim[0].is_number() || !lim[1].is_number() ||
      lim[0].get<double>() != 0.0 || lim[1].get<double>() < 1e300) {
    return UnimplementedError(file + ": key '" + scope + key + "': " + lim.dump() +
                              " (only [0.0, Infinity], no clamping, is supported)");
  }
  return Status::Ok();
}

// The keys Hugging Face's MambaConfig and Mamba2Config share; the defaults that differ
// (state_size, tie_word_embeddings) are the caller's.
Status ReadHuggingFaceShared(const json& root, const KeyReader& top, const std::string& file,
                             int64_t d_state_default, bool tie_default, ModelConfig& c) {
  MAMBA_ASSIGN_OR_RETURN(c.d_model, top.Int("hidden_size", 1, kMaxDim));
  MAMBA_ASSIGN_OR_RETURN(c.n_layer, top.Int("num_hidden_layers", 1, kMaxLayers));
  MAMBA_ASSIGN_OR_RETURN(c.vocab_size, top.Int("vocab_size", 1, kMaxVocab));
  MAMBA_ASSIGN_OR_RETURN(c.pad_vocab_size_multiple,
                         top.Int("pad_vocab_size_multiple", 1, 1 << 16, 1));
  MAMBA_ASSIGN_OR_RETURN(c.d_state, top.Int("state_size", 1, kMaxDState, d_state_default));
  MAMBA_ASSIGN_OR_RETURN(c.d_conv, top.Int("conv_kernel", 1, kMaxDConv, 4));
  MAMBA_ASSIGN_OR_RETURN(c.expand, top.Int("expand", 1, 64, 2));
  MAMBA_ASSIGN_OR_RETURN(c.conv_bias, top.Bool("use_conv_bias", true));
  MAMBA_ASSIGN_OR_RETURN(c.proj_bias, top.Bool("use_bias", false));
  MAMBA_ASSIGN_OR_RETURN(c.tie_embeddings, top.Bool("tie_word_embeddings", tie_default));
  MAMBA_ASSIGN_OR_RETURN(c.norm_eps, top.Number("layer_norm_epsilon", 0.0, 1.0, 1e-5));
  if (top.Has("hidden_act") && root.at("hidden_act") != "silu") {
    return UnimplementedError(file + ": key 'hidden_act': only \"silu\" is supported");
  }
  return Status::Ok();
}

Status ParseStateSpaces(const json& root, const std::string& file, ModelConfig& c) {
  KeyReader top(root, file, "");
  c.dialect = ConfigDialect::kStateSpaces;
  MAMBA_ASSIGN_OR_RETURN(c.d_model, top.Int("d_model", 1, kMaxDim));
  MAMBA_ASSIGN_OR_RETURN(c.n_layer, top.Int("n_layer", 1, kMaxLayers));
  MAMBA_ASSIGN_OR_RETURN(c.vocab_size, top.Int("vocab_size", 1, kMaxVocab));
  MAMBA_ASSIGN_OR_RETURN(c.pad_vocab_size_multiple,
                         top.Int("pad_vocab_size_multiple", 1, 1 << 16, 8));
  MAMBA_ASSIGN_OR_RETURN(c.tie_embeddings, top.Bool("tie_embeddings", true));
  MAMBA_ASSIGN_OR_RETURN(bool rms_norm, top.Bool("rms_norm", true));
  if (!rms_norm) {
    return UnimplementedError(file + ": key 'rms_norm': false (LayerNorm blocks) is not supported");
  }
  MAMBA_ASSIGN_OR_RETURN(c.norm_eps, top.Number("norm_epsilon", 0.0, 1.0, 1e-5));
  if (top.Has("d_intermediate")) {
    MAMBA_ASSIGN_OR_RETURN(int64_t d_mlp, top.Int("d_intermediate", 0, 0, 0));
    (void)d_mlp;  // only 0 (no MLP blocks) is supported; Int() rejects anything else
  }
  if (top.Has("attn_layer_idx") &&
      !(root.at("attn_layer_idx").is_array() && root.at("attn_layer_idx").empty())) {
    return UnimplementedError(file +
                              ": key 'attn_layer_idx': hybrid attention layers are not supported");
  }

  static const json kEmpty = json::object();
  const json* ssm = &kEmpty;
  if (top.Has("ssm_cfg")) {
    if (!root.at("ssm_cfg").is_object()) return top.Error("ssm_cfg", "expected an object");
    ssm = &root.at("ssm_cfg");
  }
  KeyReader s(*ssm, file, "ssm_cfg.");
  c.arch = Arch::kMamba1;
  if (s.Has("layer")) {
    const json& layer = ssm->at("layer");
    if (layer == "Mamba1") {
      c.arch = Arch::kMamba1;
    } else if (layer == "Mamba2") {
      c.arch = Arch::kMamba2;
    } else {
      return s.Error("layer",
                     "unknown layer type " + layer.dump() + " (expected Mamba1 or Mamba2)");
    }
  }
  const bool m2 = c.arch == Arch::kMamba2;
  MAMBA_ASSIGN_OR_RETURN(c.d_state, s.Int("d_state", 1, kMaxDState, m2 ? 128 : 16));
  MAMBA_ASSIGN_OR_RETURN(c.d_conv, s.Int("d_conv", 1, kMaxDConv, 4));
  MAMBA_ASSIGN_OR_RETURN(c.expand, s.Int("expand", 1, 64, 2));
  MAMBA_ASSIGN_OR_RETURN(c.conv_bias, s.Bool("conv_bias", true));
  MAMBA_ASSIGN_OR_RETURN(c.proj_bias, s.Bool("bias", false));
  c.d_inner = c.expand * c.d_model;
  if (c.d_inner > kMaxDim) return s.Error("expand", "expand * d_model too large");
  if (m2) {
    // Mamba2 options whose non-default values change the math; refused rather than ignored.
    auto refuse_unless = [&](const char* key, const json& want) -> Status {
      if (s.Has(key) && ssm->at(key) != want) {
        return UnimplementedError(file + ": key 'ssm_cfg." + key + "': " + ssm->at(key).dump() +
                                  " is not supported (only " + want.dump() + ")");
      }
      return Status::Ok();
    };
    MAMBA_RETURN_IF_ERROR(refuse_unless("rmsnorm", true));
    MAMBA_RETURN_IF_ERROR(refuse_unless("norm_before_gate", false));
    MAMBA_RETURN_IF_ERROR(refuse_unless("D_has_hdim", false));
    MAMBA_RETURN_IF_ERROR(refuse_unless("learnable_init_states", false));
    if (s.Has("d_ssm") && ssm->at("d_ssm") != json(c.d_inner)) {
      return UnimplementedError(file + ": key 'ssm_cfg.d_ssm': " + ssm->at("d_ssm").dump() +
                                " is not supported (only null or expand * d_model: no MLP part)");
    }
    MAMBA_RETURN_IF_ERROR(RefuseDtClamp(*ssm, "dt_limit", file, "ssm_cfg."));
    MAMBA_ASSIGN_OR_RETURN(c.headdim, s.Int("headdim", 1, kMaxDim, 64));
    MAMBA_ASSIGN_OR_RETURN(c.ngroups, s.Int("ngroups", 1, kMaxDim, 1));
    MAMBA_ASSIGN_OR_RETURN(c.chunk_size, s.Int("chunk_size", 1, 1 << 16, 256));
    if (c.d_inner % c.headdim != 0) return s.Error("headdim", "does not divide d_inner");
    if ((c.d_inner / c.headdim) % c.ngroups != 0) {
      return s.Error("ngroups", "does not divide the number of heads");
    }
    c.dt_rank = 0;
  } else {
    MAMBA_ASSIGN_OR_RETURN(c.dt_rank, s.Rank("dt_rank", c.d_model));
  }
  c.vocab_padded = RoundUp(c.vocab_size, c.pad_vocab_size_multiple);
  return Status::Ok();
}

// Hugging Face Mamba2ForCausalLM (model_type "mamba2"), with transformers' Mamba2Config defaults
// where a key is missing (n_groups 8, untied head, state_size 128).
Status ParseHuggingFaceMamba2(const json& root, const std::string& file, ModelConfig& c) {
  KeyReader top(root, file, "");
  c.arch = Arch::kMamba2;
  MAMBA_RETURN_IF_ERROR(ReadHuggingFaceShared(root, top, file, 128, false, c));
  c.d_inner = c.expand * c.d_model;
  if (c.d_inner > kMaxDim) return top.Error("expand", "expand * hidden_size too large");
  MAMBA_ASSIGN_OR_RETURN(c.headdim, top.Int("head_dim", 1, kMaxDim, 64));
  MAMBA_ASSIGN_OR_RETURN(c.ngroups, top.Int("n_groups", 1, kMaxDim, 8));
  MAMBA_ASSIGN_OR_RETURN(c.chunk_size, top.Int("chunk_size", 1, 1 << 16, 256));
  if (c.d_inner % c.headdim != 0) return top.Error("head_dim", "does not divide d_inner");
  const int64_t heads = c.d_inner / c.headdim;
  MAMBA_ASSIGN_OR_RETURN(int64_t num_heads, top.Int("num_heads", 1, kMaxDim, heads));
  if (num_heads != heads) {
    return top.Error("num_heads",
                     "value " + std::to_string(num_heads) +
                         " is not expand * hidden_size / head_dim = " + std::to_string(heads));
  }
  if (heads % c.ngroups != 0) return top.Error("n_groups", "does not divide the number of heads");
  MAMBA_ASSIGN_OR_RETURN(bool rms_norm, top.Bool("rms_norm", true));
  if (!rms_norm) return UnimplementedError(file + ": key 'rms_norm': false is not supported");
  MAMBA_ASSIGN_OR_RETURN(bool norm_before_gate, top.Bool("norm_before_gate", false));
  if (norm_before_gate) {
    return UnimplementedError(file + ": key 'norm_before_gate': true is not supported");
  }
  MAMBA_RETURN_IF_ERROR(RefuseDtClamp(root, "time_step_limit", file, ""));
  c.dt_rank = 0;
  c.vocab_padded = RoundUp(c.vocab_size, c.pad_vocab_size_multiple);
  return Status::Ok();
}

Status ParseHuggingFace(const json& root, const std::string& file, ModelConfig& c) {
  KeyReader top(root, file, "");
  c.dialect = ConfigDialect::kHuggingFace;
  if (!top.Has("model_type") || !root.at("model_type").is_string()) {
    return top.Error("model_type", "missing or not a string");
  }
  const std::string type = root.at("model_type").get<std::string>();
  if (type == "mamba2") return ParseHuggingFaceMamba2(root, file, c);
  if (type != "mamba") {
    return UnimplementedError(file + ": key 'model_type': \"" + type +
                              "\" is not supported (supported: \"mamba\", \"mamba2\")");
  }
  c.arch = Arch::kMamba1;
  MAMBA_RETURN_IF_ERROR(ReadHuggingFaceShared(root, top, file, 16, true, c));
  MAMBA_ASSIGN_OR_RETURN(c.d_inner, top.Int("intermediate_size", 1, kMaxDim, c.expand * c.d_model));
  MAMBA_ASSIGN_OR_RETURN(c.dt_rank, top.Rank("time_step_rank", c.d_model));
  if (top.Has("residual_in_fp32"))
    MAMBA_RETURN_IF_ERROR(top.Bool("residual_in_fp32", true).status());
  c.vocab_padded = RoundUp(c.vocab_size, c.pad_vocab_size_multiple);
  return Status::Ok();
}

}  // namespace

std::string_view ArchName(Arch arch) { return arch == Arch::kMamba1 ? "mamba1" : "mamba2"; }

// Python's json.dump writes inf and nan as the bare words Infinity, -Infinity and NaN, which are
// not JSON (HF Mamba2 configs carry "time_step_limit": [0.0, Infinity]). Outside strings they
// become the largest finite doubles (and null for NaN); everything else is left as it is.
std::string WithPythonNonFinite(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char ch = text[i];
    if (in_string) {
      out += ch;
      if (ch == '\\' && i + 1 < text.size()) {
        out += text[++i];
      } else if (ch == '"') {
        in_string = false;
      }
      continue;
    }
    if (ch == '"') in_string = true;
    const std::string_view rest = text.substr(i);
    if (rest.starts_with("Infinity")) {
      out += "1.7976931348623157e308";
      i += 7;
    } else if (rest.starts_with("-Infinity")) {
      out += "-1.7976931348623157e308";
      i += 8;
    } else if (rest.starts_with("NaN")) {
      out += "null";
      i += 2;
    } else {
      out += ch;
    }
  }
  return out;
}

StatusOr<ModelConfig> ParseModelConfig(std::string_view json_text, const std::string& file_name) {
  const std::string text = WithPythonNonFinite(json_text);
  json root = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded()) return InvalidArgumentError(file_name + ": not valid JSON");
  if (!root.is_object())
    return InvalidArgumentError(file_name + ": top level is not a JSON object");
  ModelConfig c;
  const bool hf = root.contains("model_type") || root.contains("hidden_size");
  MAMBA_RETURN_IF_ERROR(hf ? ParseHuggingFace(root, file_name, c)
                           : ParseStateSpaces(root, file_name, c));
  // eos/bos may also be lists or null in HF configs; the tokenizer layer reads those in full
  // (tokenizer/model_files.h). Here only a single integer id is taken, 0 (GPT-NeoX) otherwise.
  auto single_id = [&](const char* key) -> int32_t {
    if (!root.contains(key) || !root.at(key).is_number_integer()) return 0;
    const int64_t v = root.at(key).get<int64_t>();
    return v >= 0 && v <= kMaxVocab ? static_cast<int32_t>(v) : 0;
  };
  c.eos_token_id = single_id("eos_token_id");
  c.bos_token_id = single_id("bos_token_id");
  return c;
}

StatusOr<ModelConfig> LoadModelConfig(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFoundError("'" + path + "': cannot open config file");
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return IoError("'" + path + "': read error");
  return ParseModelConfig(ss.str(), path);
}

}  // namespace mamba
