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

#include "engine/session.h"
#include "io/safetensors.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

namespace mamba {
namespace {

namespace fs = std::filesystem;

// Mean-token perplexity of `model` on `ids` (every next-token prediction after the first).
double Perplexity(const Model& model, const std::vector<int32_t>& ids) {
  ThreadPool pool(2);
  Session session(model, &pool);
  std::vector<float> logits;
  EXPECT_TRUE(session.Prefill(ids, &logits).ok());
  const int64_t vocab = model.config().vocab_padded;
  double nll = 0;
  for (size_t i = 0; i + 1 < ids.size(); ++i) {
    const float* row = &logits[i * vocab];
    double max_logit = row[0];
    for (int64_t j = 1; j < vocab; ++j) max_logit = std::max<double>(max_logit, row[j]);
    double sum = 0;
    for (int64_t j = 0; j < vocab; ++j) sum += std::exp(row[j] - max_logit);
    nll += std::log(sum) + max_logit - row[ids[i + 1]];
  }
  return std::exp(nll / static_cast<double>(ids.size() - 1));
}

TEST(DemoModelTest, HeldOutPerplexityFarBelowRandomModel) {
  const fs::path root(MAMBA_SOURCE_DIR);
  auto model = Model::Load((root / "models").string());
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  auto tok = Tokenizer::FromFile((root / "models/tokenizer.json").string());
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  std::ifstream in(root / "tests/data/tinyshakespeare_heldout.txt", std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  std::vector<int32_t> ids = tok->Encode(ss.str());
  ASSERT_GT(ids.size(), 2048u);
  ids.resize(2048);
  const double ppl = Perplexity(**model, ids);

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
  const double random_ppl = Perplexity(**random_model, ids);
  fs::remove_all(dir);

  std::printf("[demo] held-out perplexity over %zu tokens: trained %.1f, random weights %.1f\n",
              ids.size() - 1, ppl, random_ppl);
  EXPECT_LT(ppl, 500.0);
  EXPECT_LT(ppl * 50, random_ppl);
}

}  // namespace
}  // namespace mamba
