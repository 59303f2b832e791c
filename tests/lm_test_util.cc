// SPDX-License-Identifier: MIT
#include "lm_test_util.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "engine/session.h"
#include "tokenizer/tokenizer.h"

namespace mamba::testing {

std::vector<int32_t> HeldOutTokens() {
  const std::filesystem::path root(MAMBA_SOURCE_DIR);
  auto tok = Tokenizer::FromFile((root / "models/tokenizer.json").string());
  EXPECT_TRUE(tok.ok()) << tok.status().ToString();
  if (!tok.ok()) return {};
  std::ifstream in(root / "tests/data/tinyshakespeare_heldout.txt", std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return tok->Encode(ss.str());
}

double ReferencePerplexity(const Model& model, const std::vector<int32_t>& ids, ThreadPool* pool) {
  Session session(model, pool);
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

}  // namespace mamba::testing
