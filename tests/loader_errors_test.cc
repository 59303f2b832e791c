// SPDX-License-Identifier: MIT
// Model::Load on broken checkpoints: every failure is a Status whose message names the file and
// the tensor or key at fault, never a crash.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "io/safetensors.h"
#include "model/model.h"

namespace mamba {
namespace {

namespace fs = std::filesystem;
const fs::path kTiny = fs::path(MAMBA_SOURCE_DIR) / "tests/data/models/mamba1-tiny";

class LoaderErrorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("mamba_loader_" + std::to_string(getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    auto tensors = LoadSafetensorsFile((kTiny / "model.safetensors").string());
    ASSERT_TRUE(tensors.ok()) << tensors.status().ToString();
    source_ = std::move(tensors).value();
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Writes dir_/model.safetensors from the tiny model's tensors after `edit`, plus `config`.
  void WriteCheckpoint(const std::function<void(std::vector<TensorView>&)>& edit,
                       const std::string& config) {
    std::vector<TensorView> list;
    for (const std::string& name : source_.Names()) list.push_back(*source_.Find(name));
    edit(list);
    ASSERT_TRUE(WriteSafetensors((dir_ / "model.safetensors").string(), list).ok());
    std::ofstream(dir_ / "config.json") << config;
  }

  Status LoadError() {
    auto m = Model::Load(dir_.string());
    return m.ok() ? Status::Ok() : m.status();
  }

  static constexpr const char* kConfig =
      R"({"d_model": 64, "n_layer": 2, "vocab_size": 256, "ssm_cfg": {},
          "pad_vocab_size_multiple": 8, "tie_embeddings": true})";
  fs::path dir_;
  TensorSet source_;
};

void ExpectMentions(const Status& s, std::initializer_list<std::string> parts) {
  ASSERT_FALSE(s.ok());
  for (const std::string& p : parts) {
    EXPECT_NE(s.message().find(p), std::string::npos) << "'" << p << "' not in: " << s.ToString();
  }
}

TEST_F(LoaderErrorsTest, IntactCopyLoads) {
  WriteCheckpoint([](auto&) {}, kConfig);
  EXPECT_TRUE(LoadError().ok()) << LoadError().ToString();
}

TEST_F(LoaderErrorsTest, MissingTensor) {
  WriteCheckpoint(
      [](std::vector<TensorView>& l) {
        std::erase_if(l, [](const TensorView& t) { return t.name == "backbone.layers.1.mixer.D"; });
      },
      kConfig);
  const Status s = LoadError();
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  ExpectMentions(s, {"model.safetensors", "backbone.layers.1.mixer.D", "missing"});
}

TEST_F(LoaderErrorsTest, WrongShapeNamesTensorExpectedAndFound) {
  WriteCheckpoint(
      [](std::vector<TensorView>& l) {
        for (TensorView& t : l) {
          if (t.name == "backbone.layers.0.mixer.A_log") {
            t.shape = {64, 32};  // same bytes as [128, 16], wrong shape
          }
        }
      },
      kConfig);
  ExpectMentions(LoadError(),
                 {"model.safetensors", "backbone.layers.0.mixer.A_log", "[128, 16]", "[64, 32]"});
}

TEST_F(LoaderErrorsTest, ConfigDisagreesWithWeights) {
  WriteCheckpoint([](auto&) {}, R"({"d_model": 64, "n_layer": 3, "vocab_size": 256})");
  ExpectMentions(LoadError(), {"backbone.layers.2.", "missing"});
  WriteCheckpoint([](auto&) {}, R"({"d_model": 64, "n_layer": 2, "vocab_size": 300})");
  ExpectMentions(LoadError(), {"backbone.embedding.weight", "[304, 64]", "[256, 64]"});
}

TEST_F(LoaderErrorsTest, UntiedHeadWithoutLmHead) {
  WriteCheckpoint([](auto&) {}, R"({"d_model": 64, "n_layer": 2, "vocab_size": 256,
                                    "tie_embeddings": false})");
  ExpectMentions(LoadError(), {"lm_head.weight"});
}

TEST_F(LoaderErrorsTest, ConfigMissingKey) {
  WriteCheckpoint([](auto&) {}, R"({"n_layer": 2, "vocab_size": 256})");
  ExpectMentions(LoadError(), {"config.json", "'d_model'"});
  WriteCheckpoint([](auto&) {}, R"({"d_model": 64, "n_layer": 2, "vocab_size": 256,)");
  ExpectMentions(LoadError(), {"config.json", "not valid JSON"});
}

TEST_F(LoaderErrorsTest, DirectoryWithoutWeights) {
  std::ofstream(dir_ / "config.json") << kConfig;
  const Status s = LoadError();
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  ExpectMentions(s, {dir_.string(), "no weights"});
}

TEST_F(LoaderErrorsTest, DirectoryWithoutConfig) {
  WriteCheckpoint([](auto&) {}, kConfig);
  fs::remove(dir_ / "config.json");
  ExpectMentions(LoadError(), {"config.json", "not found"});
}

TEST_F(LoaderErrorsTest, TruncatedWeightsFile) {
  WriteCheckpoint([](auto&) {}, kConfig);
  const fs::path f = dir_ / "model.safetensors";
  fs::resize_file(f, fs::file_size(f) / 2);
  ExpectMentions(LoadError(), {"model.safetensors"});
}

TEST_F(LoaderErrorsTest, CorruptPytorchBin) {
  std::ofstream(dir_ / "config.json") << kConfig;
  std::ifstream in(kTiny / "variants/pt_bin/pytorch_model.bin", std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // Destroy the end-of-central-directory signature.
  const size_t eocd = bytes.rfind(std::string("PK\x05\x06", 4));
  ASSERT_NE(eocd, std::string::npos);
  bytes[eocd] = 'X';
  std::ofstream(dir_ / "pytorch_model.bin", std::ios::binary) << bytes;
  ExpectMentions(LoadError(), {"pytorch_model.bin"});
}

TEST_F(LoaderErrorsTest, UnsupportedWeightsExtension) {
  std::ofstream(dir_ / "weights.onnx") << "x";
  std::ofstream(dir_ / "config.json") << kConfig;
  auto m = Model::Load((dir_ / "weights.onnx").string());
  ASSERT_FALSE(m.ok());
  ExpectMentions(m.status(), {"weights.onnx"});
}

}  // namespace
}  // namespace mamba
