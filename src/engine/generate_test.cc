// SPDX-License-Identifier: MIT
// The generation loop on the tiny test checkpoints: greedy output equals the golden greedy
// tokens, EOS and ignore_eos, stop strings cut the streamed text, continuation across calls,
// cancellation, and the callback's stop.
#include "engine/generate.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace mamba {
namespace {

namespace fs = std::filesystem;
const fs::path kModel = fs::path(MAMBA_SOURCE_DIR) / "tests/data/models/mamba1-tiny";
const fs::path kTokenizer = fs::path(MAMBA_SOURCE_DIR) / "tests/data/tokenizer/tokenizer.json";

std::vector<int32_t> ReadI32(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<int32_t> v(fs::file_size(path) / sizeof(int32_t));
  in.read(reinterpret_cast<char*>(v.data()), static_cast<std::streamsize>(v.size() * 4));
  return v;
}

Sampler Greedy() {
  SamplerParams p;
  p.temperature = 0;
  return std::move(Sampler::Create(p)).value();
}

class GenerateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto m = Model::Load(kModel.string());
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    model_ = std::move(m).value();
    auto t = Tokenizer::FromFile(kTokenizer.string());
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    tokenizer_.emplace(std::move(t).value());
    prompt_ = ReadI32(kModel / "golden/f32/p1.tokens.i32");
    golden_ = ReadI32(kModel / "golden/f32/p1.greedy_tokens.i32");
    ASSERT_EQ(golden_.size(), 32u);
  }

  // Greedy generation from prompt_ collecting the streamed text.
  GenerateResult Run(const GenerateOptions& opt, std::string* text = nullptr,
                     const Tokenizer* tok = nullptr) {
    Session session(*model_, nullptr);
    Sampler sampler = Greedy();
    std::vector<int32_t> history;
    auto r = Generate(session, sampler, tok, prompt_, history, opt,
                      [&](int32_t, std::string_view piece) {
                        if (text != nullptr) text->append(piece);
                        return true;
                      });
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : GenerateResult{};
  }

  std::unique_ptr<Model> model_;
  std::optional<Tokenizer> tokenizer_;
  std::vector<int32_t> prompt_, golden_;
};

TEST_F(GenerateTest, GreedyEqualsGoldenTokens) {
  GenerateOptions opt;
  opt.n_predict = 32;
  opt.ignore_eos = true;
  opt.feed_last_token = false;
  const GenerateResult r = Run(opt);
  EXPECT_EQ(r.tokens, golden_);
  EXPECT_EQ(r.stop_reason, StopReason::kLength);
  EXPECT_EQ(r.n_prompt, static_cast<int64_t>(prompt_.size()));
}

TEST_F(GenerateTest, EosStopsUnlessIgnored) {
  GenerateOptions opt;
  opt.n_predict = 32;
  opt.eos_ids = {golden_[4]};  // pretend the fifth greedy token is EOS
  GenerateResult r = Run(opt);
  EXPECT_EQ(r.stop_reason, StopReason::kEos);
  EXPECT_EQ(r.tokens, std::vector<int32_t>(golden_.begin(), golden_.begin() + 5));
  opt.ignore_eos = true;
  r = Run(opt);
  EXPECT_EQ(r.stop_reason, StopReason::kLength);
  EXPECT_EQ(r.tokens, golden_);
}

TEST_F(GenerateTest, StreamedTextEqualsDecodeAndStopStringCutsIt) {
  GenerateOptions opt;
  opt.n_predict = 32;
  opt.ignore_eos = true;
  std::string full;
  const GenerateResult r = Run(opt, &full, &*tokenizer_);
  EXPECT_EQ(full, tokenizer_->Decode(r.tokens, /*skip_special=*/true));
  ASSERT_GT(full.size(), 8u);

  // A stop string from the middle of the text, starting at a character boundary.
  size_t pos = full.size() / 2;
  while (pos < full.size() && (static_cast<unsigned char>(full[pos]) & 0xC0) == 0x80) ++pos;
  const std::string stop = full.substr(pos, 3);
  opt.stop = {stop};
  std::string cut;
  const GenerateResult s = Run(opt, &cut, &*tokenizer_);
  EXPECT_EQ(s.stop_reason, StopReason::kStopString);
  EXPECT_EQ(cut, full.substr(0, full.find(stop)));
  EXPECT_LT(s.tokens.size(), r.tokens.size());
}

TEST_F(GenerateTest, StopStringsNeedATokenizer) {
  Session session(*model_, nullptr);
  Sampler sampler = Greedy();
  std::vector<int32_t> history;
  GenerateOptions opt;
  opt.stop = {"x"};
  auto r = Generate(session, sampler, nullptr, prompt_, history, opt,
                    [](int32_t, std::string_view) { return true; });
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
}

TEST_F(GenerateTest, SecondCallContinuesFromTheState) {
  Session session(*model_, nullptr);
  Sampler sampler = Greedy();
  std::vector<int32_t> history;
  GenerateOptions opt;
  opt.n_predict = 10;
  opt.ignore_eos = true;
  auto ok = [](int32_t, std::string_view) { return true; };
  auto a = Generate(session, sampler, nullptr, prompt_, history, opt, ok);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(session.n_past(), static_cast<int64_t>(prompt_.size()) + 10);
  auto b = Generate(session, sampler, nullptr, {}, history, opt, ok);
  ASSERT_TRUE(b.ok());
  std::vector<int32_t> both = a->tokens;
  both.insert(both.end(), b->tokens.begin(), b->tokens.end());
  EXPECT_EQ(both, std::vector<int32_t>(golden_.begin(), golden_.begin() + 20));
  EXPECT_EQ(history.size(), prompt_.size() + 20);

  // Nothing to generate from after a reset with an empty prompt.
  session.Reset();
  auto c = Generate(session, sampler, nullptr, {}, history, opt, ok);
  EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument);
}

TEST_F(GenerateTest, CancelAndCallbackStop) {
  std::atomic<bool> cancel{true};
  GenerateOptions opt;
  opt.n_predict = 32;
  opt.cancel = &cancel;
  GenerateResult r = Run(opt);
  EXPECT_EQ(r.stop_reason, StopReason::kCancelled);
  EXPECT_TRUE(r.tokens.empty());

  Session session(*model_, nullptr);
  Sampler sampler = Greedy();
  std::vector<int32_t> history;
  GenerateOptions o2;
  o2.n_predict = 32;
  o2.ignore_eos = true;
  int calls = 0;
  auto s = Generate(session, sampler, nullptr, prompt_, history, o2,
                    [&](int32_t, std::string_view) { return ++calls < 3; });
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->stop_reason, StopReason::kCallback);
  EXPECT_EQ(s->tokens.size(), 3u);
}

TEST_F(GenerateTest, BadPromptTokenIsAnError) {
  Session session(*model_, nullptr);
  Sampler sampler = Greedy();
  std::vector<int32_t> history;
  const std::vector<int32_t> bad = {1, 99999};
  auto r = Generate(session, sampler, nullptr, bad, history, GenerateOptions(),
                    [](int32_t, std::string_view) { return true; });
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("99999"), std::string::npos);
  EXPECT_TRUE(history.empty());
}

}  // namespace
}  // namespace mamba
