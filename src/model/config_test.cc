// SPDX-License-Identifier: MIT
// ModelConfig parsing: every test checkpoint's config.json against the hyperparameters its
// generator recorded independently in manifest.json, plus the error paths.
#include "model/config.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

namespace mamba {
namespace {

namespace fs = std::filesystem;
const fs::path kModels = fs::path(MAMBA_SOURCE_DIR) / "tests/data/models";

TEST(ConfigTest, EveryTestConfigMatchesItsManifest) {
  int checked = 0;
  for (const auto& entry : fs::directory_iterator(kModels)) {
    if (!entry.is_directory()) continue;
    std::ifstream mf(entry.path() / "manifest.json");
    const auto manifest = nlohmann::json::parse(mf);
    const auto& hp = manifest["hyperparameters"];
    std::vector<fs::path> configs = {entry.path() / "config.json"};
    if (fs::exists(entry.path() / "variants")) {
      for (const auto& v : fs::directory_iterator(entry.path() / "variants")) {
        configs.push_back(v.path() / "config.json");
      }
    }
    for (const fs::path& cfg_path : configs) {
      SCOPED_TRACE(cfg_path.string());
      auto cfg = LoadModelConfig(cfg_path.string());
      ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
      const bool m2 = manifest["arch"] == "mamba2";
      EXPECT_EQ(cfg->arch, m2 ? Arch::kMamba2 : Arch::kMamba1);
      EXPECT_EQ(cfg->d_model, hp["d_model"].get<int64_t>());
      EXPECT_EQ(cfg->n_layer, hp["n_layer"].get<int64_t>());
      EXPECT_EQ(cfg->vocab_padded, hp["vocab_padded"].get<int64_t>());
      EXPECT_EQ(cfg->d_state, hp["d_state"].get<int64_t>());
      EXPECT_EQ(cfg->d_conv, hp["d_conv"].get<int64_t>());
      EXPECT_EQ(cfg->d_inner, hp["d_inner"].get<int64_t>());
      if (m2) {
        EXPECT_EQ(cfg->headdim, hp["headdim"].get<int64_t>());
        EXPECT_EQ(cfg->ngroups, hp["ngroups"].get<int64_t>());
        EXPECT_EQ(cfg->d_inner / cfg->headdim, hp["nheads"].get<int64_t>());
        EXPECT_EQ(cfg->chunk_size, hp["chunk_size"].get<int64_t>());
      } else {
        EXPECT_EQ(cfg->dt_rank, hp["dt_rank"].get<int64_t>());
      }
      EXPECT_EQ(cfg->tie_embeddings, hp["tie_embeddings"].get<bool>());
      EXPECT_DOUBLE_EQ(cfg->norm_eps, hp["norm_eps"].get<double>());
      ++checked;
    }
  }
  EXPECT_GE(checked, 8);
}

TEST(ConfigTest, StateSpacesDefaults) {
  auto c = ParseModelConfig(R"({"d_model": 768, "n_layer": 24, "vocab_size": 50277,
      "ssm_cfg": {}, "rms_norm": true, "residual_in_fp32": true, "fused_add_norm": true,
      "pad_vocab_size_multiple": 8})",
                            "mamba-130m/config.json");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->dialect, ConfigDialect::kStateSpaces);
  EXPECT_EQ(c->vocab_padded, 50280);
  EXPECT_EQ(c->d_inner, 1536);
  EXPECT_EQ(c->dt_rank, 48);
  EXPECT_EQ(c->d_state, 16);
  EXPECT_EQ(c->d_conv, 4);
  EXPECT_TRUE(c->tie_embeddings);
  EXPECT_TRUE(c->conv_bias);
  EXPECT_FALSE(c->proj_bias);
}

TEST(ConfigTest, HuggingFaceKeys) {
  auto c = ParseModelConfig(R"({"model_type": "mamba", "hidden_size": 100, "num_hidden_layers": 2,
      "vocab_size": 50280, "state_size": 8, "conv_kernel": 3, "expand": 3,
      "time_step_rank": "auto", "use_conv_bias": false, "use_bias": true,
      "layer_norm_epsilon": 1e-6, "tie_word_embeddings": false, "eos_token_id": 7})",
                            "hf.json");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->dialect, ConfigDialect::kHuggingFace);
  EXPECT_EQ(c->d_inner, 300);
  EXPECT_EQ(c->dt_rank, 7);  // ceil(100 / 16)
  EXPECT_EQ(c->vocab_padded, 50280);
  EXPECT_FALSE(c->conv_bias);
  EXPECT_TRUE(c->proj_bias);
  EXPECT_FALSE(c->tie_embeddings);
  EXPECT_DOUBLE_EQ(c->norm_eps, 1e-6);
  EXPECT_EQ(c->eos_token_id, 7);
}

void ExpectError(const std::string& json, StatusCode code, const std::string& fragment) {
  auto c = ParseModelConfig(json, "dir/config.json");
  ASSERT_FALSE(c.ok()) << json;
  EXPECT_EQ(c.status().code(), code) << c.status().ToString();
  EXPECT_NE(c.status().message().find("dir/config.json"), std::string::npos)
      << c.status().ToString();
  EXPECT_NE(c.status().message().find(fragment), std::string::npos) << c.status().ToString();
}

TEST(ConfigTest, BadConfigsNameFileAndKey) {
  ExpectError("{\"d_model\": 64, \"n_layer\": 2", StatusCode::kInvalidArgument, "not valid JSON");
  ExpectError("[1, 2]", StatusCode::kInvalidArgument, "not a JSON object");
  ExpectError(R"({"n_layer": 2, "vocab_size": 10})", StatusCode::kInvalidArgument, "'d_model'");
  ExpectError(R"({"d_model": "big", "n_layer": 2, "vocab_size": 10})", StatusCode::kInvalidArgument,
              "'d_model': expected an integer");
  ExpectError(R"({"d_model": -4, "n_layer": 2, "vocab_size": 10})", StatusCode::kInvalidArgument,
              "'d_model': value -4");
  ExpectError(R"({"d_model": 64, "n_layer": 2.5, "vocab_size": 10})", StatusCode::kInvalidArgument,
              "'n_layer'");
  ExpectError(R"({"d_model": 64, "n_layer": 2, "vocab_size": 10, "ssm_cfg": {"d_state": 0}})",
              StatusCode::kInvalidArgument, "'ssm_cfg.d_state'");
  ExpectError(R"({"d_model": 64, "n_layer": 2, "vocab_size": 10, "ssm_cfg": {"dt_rank": "x"}})",
              StatusCode::kInvalidArgument, "'ssm_cfg.dt_rank'");
  ExpectError(R"({"d_model": 64, "n_layer": 2, "vocab_size": 10, "ssm_cfg": 3})",
              StatusCode::kInvalidArgument, "'ssm_cfg'");
  ExpectError(R"({"d_model": 64, "n_layer": 2, "vocab_size": 10, "tie_embeddings": "yes"})",
              StatusCode::kInvalidArgument, "'tie_embeddings'");
  ExpectError(R"({"model_type": "llama", "hidden_size": 64})", StatusCode::kUnimplemented,
              "'model_type'");
  ExpectError(R"({"model_type": "mamba", "num_hidden_layers": 2, "vocab_size": 10})",
              StatusCode::kInvalidArgument, "'hidden_size'");
  ExpectError(R"({"d_model": 64, "n_layer": 2, "vocab_size": 10, "rms_norm": false})",
              StatusCode::kUnimplemented, "'rms_norm'");
}

// A transformers Mamba2Config as written by json.dump (Infinity is not JSON).
TEST(ConfigTest, HuggingFaceMamba2) {
  auto c = ParseModelConfig(R"({"model_type": "mamba2", "architectures": ["Mamba2ForCausalLM"],
      "hidden_size": 768, "num_hidden_layers": 24, "vocab_size": 50288, "state_size": 128,
      "expand": 2, "conv_kernel": 4, "head_dim": 64, "num_heads": 24, "n_groups": 1,
      "chunk_size": 256, "use_bias": false, "use_conv_bias": true, "rms_norm": true,
      "layer_norm_epsilon": 1e-05, "time_step_limit": [0.0, Infinity], "time_step_floor": 0.0001,
      "note": "Infinity and NaN inside strings stay", "tie_word_embeddings": true,
      "residual_in_fp32": true, "eos_token_id": 0, "norm_before_gate": false,
      "time_step_rank": 48, "hidden_act": "silu", "use_cache": true})",
                            "mamba2-130m-hf/config.json");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->arch, Arch::kMamba2);
  EXPECT_EQ(c->dialect, ConfigDialect::kHuggingFace);
  EXPECT_EQ(c->d_model, 768);
  EXPECT_EQ(c->d_inner, 1536);
  EXPECT_EQ(c->d_state, 128);
  EXPECT_EQ(c->headdim, 64);
  EXPECT_EQ(c->ngroups, 1);
  EXPECT_EQ(c->vocab_padded, 50288);
  EXPECT_TRUE(c->tie_embeddings);
  // transformers' defaults where keys are missing: 8 groups, untied head, d_state 128.
  auto d = ParseModelConfig(R"({"model_type": "mamba2", "hidden_size": 256,
      "num_hidden_layers": 2, "vocab_size": 100, "head_dim": 32})",
                            "config.json");
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->ngroups, 8);
  EXPECT_FALSE(d->tie_embeddings);
  EXPECT_EQ(d->d_state, 128);

  const std::string base = R"({"model_type": "mamba2", "hidden_size": 64, "num_hidden_layers": 2,
      "vocab_size": 100, "head_dim": 16, "n_groups": 1)";
  ExpectError(base + R"(, "time_step_limit": [0.001, 0.1]})", StatusCode::kUnimplemented,
              "'time_step_limit'");
  ExpectError(base + R"(, "num_heads": 5})", StatusCode::kInvalidArgument, "'num_heads'");
  ExpectError(base + R"(, "n_groups": 3})", StatusCode::kInvalidArgument, "'n_groups'");
  ExpectError(base + R"(, "head_dim": 48})", StatusCode::kInvalidArgument, "'head_dim'");
  ExpectError(base + R"(, "rms_norm": false})", StatusCode::kUnimplemented, "'rms_norm'");
  ExpectError(base + R"(, "norm_before_gate": true})", StatusCode::kUnimplemented,
              "'norm_before_gate'");
  ExpectError(base + R"(, "x": NaN, "hidden_size": Infinity})", StatusCode::kInvalidArgument,
              "'hidden_size'");
}

// state-spaces Mamba2 options that change the math are refused, naming the key.
TEST(ConfigTest, StateSpacesMamba2OptionsThatChangeTheMath) {
  auto cfg = [](const std::string& extra) {
    return R"({"d_model": 64, "n_layer": 2, "vocab_size": 100, "ssm_cfg": {"layer": "Mamba2",
        "headdim": 16)" +
           extra + "}}";
  };
  auto ok = ParseModelConfig(cfg(R"(, "rmsnorm": true, "norm_before_gate": false,
      "D_has_hdim": false, "d_ssm": null, "dt_limit": [0.0, Infinity])"),
                             "config.json");
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->arch, Arch::kMamba2);
  EXPECT_TRUE(ParseModelConfig(cfg(R"(, "d_ssm": 128)"), "config.json").ok());
  ExpectError(cfg(R"(, "norm_before_gate": true)"), StatusCode::kUnimplemented,
              "'ssm_cfg.norm_before_gate'");
  ExpectError(cfg(R"(, "rmsnorm": false)"), StatusCode::kUnimplemented, "'ssm_cfg.rmsnorm'");
  ExpectError(cfg(R"(, "D_has_hdim": true)"), StatusCode::kUnimplemented, "'ssm_cfg.D_has_hdim'");
  ExpectError(cfg(R"(, "learnable_init_states": true)"), StatusCode::kUnimplemented,
              "'ssm_cfg.learnable_init_states'");
  ExpectError(cfg(R"(, "d_ssm": 64)"), StatusCode::kUnimplemented, "'ssm_cfg.d_ssm'");
  ExpectError(cfg(R"(, "dt_limit": [0.001, 0.1])"), StatusCode::kUnimplemented,
              "'ssm_cfg.dt_limit'");
}

TEST(ConfigTest, MissingFile) {
  auto c = LoadModelConfig("/nonexistent/config.json");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("/nonexistent/config.json"), std::string::npos);
}

}  // namespace
}  // namespace mamba
