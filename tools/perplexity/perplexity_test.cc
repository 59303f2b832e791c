// SPDX-License-Identifier: MIT
// mamba-perplexity on the bundled demo model: PPL equals an independent computation from Session
// logits, KL of a model against itself is 0 with 100 % same top-1, a q8_0 copy is close but not 0.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "lm_test_util.h"
#include "model/model.h"
#include "perplexity.h"
#include "quantize_plan.h"
#include "tokenizer/tokenizer.h"

namespace mamba {
namespace {

namespace fs = std::filesystem;
const fs::path kRoot = MAMBA_SOURCE_DIR;

TEST(PerplexityTest, DemoModelMatchesReference) {
  auto model = Model::Load((kRoot / "models").string());
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  std::vector<int32_t> ids = testing::HeldOutTokens();
  ASSERT_GT(ids.size(), 2048u);
  ids.resize(2048);
  ThreadPool pool(2);
  PerplexityOptions opts;
  opts.ctx = 2048;
  int calls = 0;
  auto r =
      EvaluatePerplexity(**model, &pool, ids, opts, [&](int64_t, int64_t, double) { ++calls; });
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(r->n_scored, 2047);
  const double ref = testing::ReferencePerplexity(**model, ids, nullptr);
  EXPECT_NEAR(r->ppl, ref, 1e-3 * ref);
  EXPECT_GT(r->ppl, 50);
  EXPECT_LT(r->ppl, 200);  // demo_model_test: ~106
  EXPECT_GT(r->ppl_stderr, 0);
  std::printf("demo PPL %.3f +/- %.3f (reference %.3f)\n", r->ppl, r->ppl_stderr, ref);
}

TEST(PerplexityTest, KlAgainstSelfAndQ8) {
  const fs::path dir = fs::temp_directory_path() / ("ppl_test_" + std::to_string(getpid()));
  fs::create_directories(dir);
  auto model = Model::Load((kRoot / "models").string());
  ASSERT_TRUE(model.ok());
  std::vector<int32_t> ids = testing::HeldOutTokens();
  ThreadPool pool(2);
  PerplexityOptions opts;
  opts.ctx = 128;
  opts.max_chunks = 2;
  opts.kl_base_path = (dir / "base.kld").string();
  auto base = EvaluatePerplexity(**model, &pool, ids, opts);
  ASSERT_TRUE(base.ok()) << base.status().ToString();
  EXPECT_EQ(base->n_chunks, 2);

  opts.kl_compare = true;
  auto self = EvaluatePerplexity(**model, &pool, {}, opts);
  ASSERT_TRUE(self.ok()) << self.status().ToString();
  EXPECT_EQ(self->kl_mean, 0.0);
  EXPECT_EQ(self->kl_p99, 0.0);
  EXPECT_EQ(self->same_top1, 1.0);
  EXPECT_DOUBLE_EQ(self->ppl, base->ppl);

  const fs::path q8 = dir / "demo-q8_0.gguf";
  ASSERT_TRUE(
      QuantizeModelFile((kRoot / "models").string(), q8.string(), *FindQuantTarget("q8_0")).ok());
  auto qmodel = Model::Load(q8.string());
  ASSERT_TRUE(qmodel.ok()) << qmodel.status().ToString();
  auto q = EvaluatePerplexity(**qmodel, &pool, {}, opts);
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  std::printf("demo q8_0: mean KLD %.3g, p99 %.3g, same top-1 %.2f %%, PPL %.3f vs %.3f\n",
              q->kl_mean, q->kl_p99, 100 * q->same_top1, q->ppl, base->ppl);
  EXPECT_GT(q->kl_mean, 0.0);
  EXPECT_LT(q->kl_mean, 0.01);
  EXPECT_GT(q->same_top1, 0.9);

  // A truncated or wrong file is an error, not a crash.
  fs::resize_file(opts.kl_base_path, fs::file_size(opts.kl_base_path) - 4);
  EXPECT_FALSE(EvaluatePerplexity(**model, &pool, {}, opts).ok());
  opts.kl_base_path = (kRoot / "models/config.json").string();
  EXPECT_FALSE(EvaluatePerplexity(**model, &pool, {}, opts).ok());
  fs::remove_all(dir);
}

}  // namespace
}  // namespace mamba
