// SPDX-License-Identifier: MIT
// The bundled demo model (models/) has learned its training text: its perplexity on the held-out
// last 10 % of tiny Shakespeare (never seen in training) is far below that of an untrained model,
// which is about the vocabulary size.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "io/safetensors.h"
#include "lm_test_util.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

namespace mamba {
namespace {

namespace fs = std::filesystem;

TEST(DemoModelTest, HeldOutPerplexityFarBelowRandomModel) {
  const fs::path root(MAMBA_SOURCE_DIR);
  auto model = Model::Load((root / "models").string());
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  std::vector<int32_t> ids = testing::HeldOutTokens();
  ASSERT_GT(ids.size(), 2048u);
  ids.resize(2048);
  ThreadPool pool(2);
  const double ppl = testing::ReferencePerplexity(**model, ids, &pool);

  // The same architecture with random weights (A_log and the norms kept so it stays stable).
  const fs::path dir =
      fs::temp_directory_path() / ("mamba_demo_random_" + std::to_string(getpid()));
  fs::create_directories(dir);
  fs::copy_file(root / "models/config.json", dir / "config.json",
                fs::copy_options::overwrite_existing);
  const TensorSet& trained = (*model)->checkpoint().tensors;
  std::vector<std::vector<float>> storage;
  std::vector<TensorView> views;
  std::mt19937 rng(1);
  std::normal_distribution<float> normal(0.0f, 0.02f);
  for (const std::string& name : trained.Names()) {
    const TensorView& t = *trained.Find(name);
    std::vector<float> values(static_cast<size_t>(t.numel()));
    const bool keep = name.find("A_log") != std::string::npos ||
                      name.find("norm") != std::string::npos || name.ends_with(".D");
    for (size_t i = 0; i < values.size(); ++i) {
      values[i] =
          keep ? (t.dtype == DType::kF16 ? F16ToF32(reinterpret_cast<const uint16_t*>(t.data)[i])
                                         : reinterpret_cast<const float*>(t.data)[i])
               : normal(rng);
    }
    storage.push_back(std::move(values));
    TensorView v;
    v.name = name;
    v.dtype = DType::kF32;
    v.shape = t.shape;
    v.data = reinterpret_cast<const uint8_t*>(storage.back().data());
    v.nbytes = storage.back().size() * sizeof(float);
    views.push_back(std::move(v));
  }
  ASSERT_TRUE(WriteSafetensors((dir / "model.safetensors").string(), views).ok());
  auto random_model = Model::Load(dir.string());
  ASSERT_TRUE(random_model.ok()) << random_model.status().ToString();
  const double random_ppl = testing::ReferencePerplexity(**random_model, ids, &pool);
  fs::remove_all(dir);

  std::printf("[demo] held-out perplexity over %zu tokens: trained %.1f, random weights %.1f\n",
              ids.size() - 1, ppl, random_ppl);
  EXPECT_LT(ppl, 500.0);
  EXPECT_LT(ppl * 50, random_ppl);
}

}  // namespace
}  // namespace mamba
