// SPDX-License-Identifier: MIT
// BatchScheduler on the tiny test checkpoint and the bundled demo model: greedy batched results
// equal single-sequence Generate (tokens and streamed text), requests join a running batch,
// cancellation (Cancel, callback, while queued) frees the slot, the queue limit rejects, and
// invalid requests are refused at Submit.
#include "server/batch_scheduler.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <mutex>
#include <optional>

#include "engine/generate.h"

namespace mamba {
namespace {

namespace fs = std::filesystem;
const fs::path kTiny = fs::path(MAMBA_SOURCE_DIR) / "tests/data/models/mamba1-tiny";
const fs::path kDemo = fs::path(MAMBA_SOURCE_DIR) / "models";

std::vector<int32_t> ReadI32(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<int32_t> v(fs::file_size(path) / sizeof(int32_t));
  in.read(reinterpret_cast<char*>(v.data()), static_cast<std::streamsize>(v.size() * 4));
  return v;
}

SamplerParams GreedyParams() {
  SamplerParams p;
  p.temperature = 0;
  return p;
}

// What one request saw.
struct Outcome {
  std::string text;
  GenerationResult result;
};

// Collects the callbacks of many requests; Wait blocks until `n` have finished.
class Collector {
 public:
  GenerationRequest Make(int key, std::vector<int32_t> prompt, int32_t max_tokens) {
    GenerationRequest r;
    r.prompt = std::move(prompt);
    r.sampling = GreedyParams();
    r.max_tokens = max_tokens;
    r.on_text = [this, key](std::string_view t) {
      std::lock_guard<std::mutex> lock(mu_);
      out_[key].text.append(t);
      return true;
    };
    r.on_done = [this, key](const GenerationResult& res) {
      std::lock_guard<std::mutex> lock(mu_);
      out_[key].result = res;
      ++done_;
      cv_.notify_all();
    };
    return r;
  }
  bool Wait(int n) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(60), [&] { return done_ >= n; });
  }
  Outcome Get(int key) {
    std::lock_guard<std::mutex> lock(mu_);
    return out_[key];
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<int, Outcome> out_;
  int done_ = 0;
};

// Single-sequence reference: Generate with the same settings.
Outcome Reference(const Model& model, const Tokenizer* tok, const std::vector<int32_t>& prompt,
                  int32_t n, bool ignore_eos, const std::vector<int32_t>& eos) {
  Session session(model, nullptr);
  Sampler sampler = std::move(Sampler::Create(GreedyParams())).value();
  std::vector<int32_t> history;
  GenerateOptions opt;
  opt.n_predict = n;
  opt.ignore_eos = ignore_eos;
  opt.eos_ids = eos;
  opt.feed_last_token = false;
  Outcome o;
  auto r = Generate(session, sampler, tok, prompt, history, opt, [&](int32_t, std::string_view t) {
    o.text.append(t);
    return true;
  });
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  if (r.ok()) o.result.tokens = r->tokens;
  return o;
}

// Run with the default prefill budget and with 3 prompt tokens per step (prompts are fed in
// chunks across steps, mixed with other sequences' decode rows).
class BatchSchedulerTest : public ::testing::TestWithParam<int64_t> {};
INSTANTIATE_TEST_SUITE_P(PrefillBudget, BatchSchedulerTest, ::testing::Values(512, 3));

TEST_P(BatchSchedulerTest, GreedyBatchedEqualsSingleOnTinyModel) {
  auto m = Model::Load(kTiny.string());
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  const Model& model = **m;
  const std::vector<int32_t> p0 = ReadI32(kTiny / "golden/f32/p0.tokens.i32");
  const std::vector<int32_t> p1 = ReadI32(kTiny / "golden/f32/p1.tokens.i32");
  // Prompts of different lengths; more requests than slots, so some join a running batch.
  std::vector<std::vector<int32_t>> prompts = {
      p0, p1, {p1.begin(), p1.begin() + 3}, {7}, {p0.rbegin(), p0.rend()}, {200, 3, 99, 41, 5}};
  const std::vector<int32_t> lengths = {24, 9, 31, 17, 5, 20};
  ThreadPool pool(2);
  SchedulerOptions opt;
  opt.max_slots = 4;
  opt.max_prefill_per_step = GetParam();
  BatchScheduler sched(model, nullptr, &pool, opt);
  Collector c;
  // A gate request first: its on_done (on the worker thread) waits until every request below is
  // queued, so they meet in the batch whatever the threads' timing (on a loaded machine the
  // worker could otherwise finish one request before the next is submitted).
  std::promise<void> all_queued;
  GenerationRequest gate;
  gate.prompt = {7};
  gate.sampling = GreedyParams();
  gate.max_tokens = 1;
  gate.on_done = [queued = all_queued.get_future().share()](const GenerationResult&) {
    queued.wait();
  };
  ASSERT_EQ(sched.Submit(std::move(gate)).kind, Admission::kAccepted);
  for (size_t i = 0; i < prompts.size(); ++i) {
    GenerationRequest r = c.Make(static_cast<int>(i), prompts[i], lengths[i]);
    r.ignore_eos = true;
    EXPECT_EQ(sched.Submit(std::move(r)).kind, Admission::kAccepted);
  }
  all_queued.set_value();
  ASSERT_TRUE(c.Wait(static_cast<int>(prompts.size())));
  for (size_t i = 0; i < prompts.size(); ++i) {
    const Outcome ref = Reference(model, nullptr, prompts[i], lengths[i], true, {});
    const Outcome got = c.Get(static_cast<int>(i));
    EXPECT_EQ(got.result.tokens, ref.result.tokens) << "request " << i;
    EXPECT_EQ(got.result.finish_reason, FinishReason::kLength);
    EXPECT_EQ(got.result.prompt_tokens, static_cast<int64_t>(prompts[i].size()));
    EXPECT_EQ(got.result.completion_tokens, lengths[i]);
  }
  // The golden greedy continuation of p1 (32 tokens) from the independent reference.
  const std::vector<int32_t> golden = ReadI32(kTiny / "golden/f32/p1.greedy_tokens.i32");
  ASSERT_GE(golden.size(), 9u);
  EXPECT_EQ(c.Get(1).result.tokens, std::vector<int32_t>(golden.begin(), golden.begin() + 9));
  const SchedulerStats st = sched.Stats();
  EXPECT_EQ(st.requests_finished, 6 + 1);  // and the gate
  int64_t n_prompt = 1;                    // the gate's
  for (const auto& p : prompts) n_prompt += static_cast<int64_t>(p.size());
  EXPECT_EQ(st.prompt_tokens, n_prompt);
  EXPECT_EQ(st.active, 0);
  EXPECT_EQ(st.queue_depth, 0);
  EXPECT_EQ(st.generated_tokens, 24 + 9 + 31 + 17 + 5 + 20 + 1);
  // Batching happened: fewer forward calls than tokens.
  EXPECT_LT(st.decode_steps, st.generated_tokens - 6);
}

class DemoModelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto m = Model::Load(kDemo.string());
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    model_ = std::move(m).value();
    auto t = Tokenizer::FromFile((kDemo / "tokenizer.json").string());
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    tok_.emplace(std::move(t).value());
    eos_ = {model_->config().eos_token_id};
  }
  std::unique_ptr<Model> model_;
  std::optional<Tokenizer> tok_;
  std::vector<int32_t> eos_;
};

TEST_F(DemoModelTest, StreamedTextAndStopsEqualGenerate) {
  const std::vector<std::string> texts = {"ROMEO:", "First Citizen:\nBefore we", "O", "KING"};
  ThreadPool pool(2);
  SchedulerOptions opt;
  opt.max_slots = 3;
  opt.eos_ids = eos_;
  BatchScheduler sched(*model_, &*tok_, &pool, opt);
  Collector c;
  for (size_t i = 0; i < texts.size(); ++i) {
    ASSERT_EQ(sched.Submit(c.Make(static_cast<int>(i), tok_->Encode(texts[i]), 40)).kind,
              Admission::kAccepted);
  }
  ASSERT_TRUE(c.Wait(static_cast<int>(texts.size())));
  for (size_t i = 0; i < texts.size(); ++i) {
    const Outcome ref = Reference(*model_, &*tok_, tok_->Encode(texts[i]), 40, false, eos_);
    const Outcome got = c.Get(static_cast<int>(i));
    EXPECT_EQ(got.result.tokens, ref.result.tokens) << texts[i];
    EXPECT_EQ(got.text, ref.text) << texts[i];
    EXPECT_FALSE(got.text.empty());
  }

  // A stop string taken from the middle of the greedy text ends the request there.
  const Outcome full = c.Get(0);
  ASSERT_GT(full.text.size(), 12u);
  const std::string stop = full.text.substr(6, 4);
  GenerationRequest r = c.Make(10, tok_->Encode(texts[0]), 40);
  r.stop = {stop};
  ASSERT_EQ(sched.Submit(std::move(r)).kind, Admission::kAccepted);
  ASSERT_TRUE(c.Wait(static_cast<int>(texts.size()) + 1));
  const Outcome stopped = c.Get(10);
  EXPECT_EQ(stopped.result.finish_reason, FinishReason::kStop);
  EXPECT_EQ(stopped.text, full.text.substr(0, full.text.find(stop)));
}

// A request that streams until told to stop: the worker waits in its callback until `release`.
TEST_F(DemoModelTest, CancelFreesSlotAndQueueLimitRejects) {
  SchedulerOptions opt;
  opt.max_slots = 1;
  opt.max_queue = 1;
  opt.eos_ids = eos_;
  BatchScheduler sched(*model_, &*tok_, nullptr, opt);

  std::promise<void> started, release;
  std::shared_future<void> release_f = release.get_future().share();
  std::promise<GenerationResult> done_a;
  bool first = true;
  GenerationRequest a;
  a.prompt = tok_->Encode("ROMEO:");
  a.sampling = GreedyParams();
  a.max_tokens = 1000000;
  a.ignore_eos = true;
  a.on_text = [&](std::string_view) {
    if (first) {
      first = false;
      started.set_value();
      release_f.wait();
    }
    return true;
  };
  a.on_done = [&](const GenerationResult& r) { done_a.set_value(r); };
  const Admission adm_a = sched.Submit(std::move(a));
  ASSERT_EQ(adm_a.kind, Admission::kAccepted);
  started.get_future().wait();  // A holds the only slot.

  Collector c;
  ASSERT_EQ(sched.Submit(c.Make(1, tok_->Encode("KING"), 5)).kind, Admission::kAccepted);
  const Admission full = sched.Submit(c.Make(2, tok_->Encode("KING"), 5));
  EXPECT_EQ(full.kind, Admission::kQueueFull);
  EXPECT_NE(full.error.message().find("busy"), std::string::npos);
  EXPECT_EQ(sched.Stats().queue_depth, 1);

  sched.Cancel(adm_a.id);
  release.set_value();
  const GenerationResult ra = done_a.get_future().get();
  EXPECT_EQ(ra.finish_reason, FinishReason::kCancelled);
  ASSERT_TRUE(c.Wait(1));  // B got the freed slot and ran to its budget.
  EXPECT_EQ(c.Get(1).result.finish_reason, FinishReason::kLength);
  EXPECT_EQ(c.Get(1).result.completion_tokens, 5);
  const SchedulerStats st = sched.Stats();
  EXPECT_EQ(st.active, 0);
  EXPECT_EQ(st.requests_rejected, 1);
  EXPECT_EQ(st.requests_finished, 2);
}

TEST_F(DemoModelTest, CallbackFalseAndQueuedCancelFinishAsCancelled) {
  SchedulerOptions opt;
  opt.max_slots = 1;
  opt.eos_ids = eos_;
  BatchScheduler sched(*model_, &*tok_, nullptr, opt);
  std::promise<void> started, release;
  std::shared_future<void> release_f = release.get_future().share();
  std::promise<GenerationResult> done_a;
  int calls = 0;
  GenerationRequest a;
  a.prompt = tok_->Encode("ROMEO:");
  a.sampling = GreedyParams();
  a.max_tokens = 1000000;
  a.ignore_eos = true;
  a.on_text = [&](std::string_view) {
    if (++calls == 1) {
      started.set_value();
      release_f.wait();
    }
    return calls < 3;  // the third piece cancels
  };
  a.on_done = [&](const GenerationResult& r) { done_a.set_value(r); };
  ASSERT_EQ(sched.Submit(std::move(a)).kind, Admission::kAccepted);
  started.get_future().wait();
  Collector c;
  const Admission b = sched.Submit(c.Make(1, tok_->Encode("KING"), 50));
  ASSERT_EQ(b.kind, Admission::kAccepted);
  sched.Cancel(b.id);  // still queued behind A
  release.set_value();
  EXPECT_EQ(done_a.get_future().get().finish_reason, FinishReason::kCancelled);
  ASSERT_TRUE(c.Wait(1));
  EXPECT_EQ(c.Get(1).result.finish_reason, FinishReason::kCancelled);
  EXPECT_TRUE(c.Get(1).result.tokens.empty());
  EXPECT_EQ(sched.Stats().active, 0);
}

TEST_F(DemoModelTest, InvalidRequestsAreRefused) {
  BatchScheduler sched(*model_, &*tok_, nullptr, SchedulerOptions{});
  Collector c;
  GenerationRequest r = c.Make(0, {}, 4);
  Admission a = sched.Submit(std::move(r));
  EXPECT_EQ(a.kind, Admission::kInvalid);
  EXPECT_NE(a.error.message().find("empty"), std::string::npos);
  a = sched.Submit(c.Make(0, {1, 2}, 0));
  EXPECT_EQ(a.kind, Admission::kInvalid);
  EXPECT_NE(a.error.message().find("max_tokens"), std::string::npos);
  a = sched.Submit(c.Make(0, {1, 99999999}, 4));
  EXPECT_EQ(a.kind, Admission::kInvalid);
  EXPECT_NE(a.error.message().find("99999999"), std::string::npos);
  r = c.Make(0, {1, 2}, 4);
  r.sampling.top_p = 2;
  a = sched.Submit(std::move(r));
  EXPECT_EQ(a.kind, Admission::kInvalid);
  EXPECT_NE(a.error.message().find("top_p"), std::string::npos);
  EXPECT_EQ(sched.Stats().requests_rejected, 4);
}

TEST_F(DemoModelTest, ShutdownCancelsRunningAndQueued) {
  Collector c;
  {
    SchedulerOptions opt;
    opt.max_slots = 1;
    BatchScheduler sched(*model_, &*tok_, nullptr, opt);
    GenerationRequest r = c.Make(0, tok_->Encode("ROMEO:"), 1000000);
    r.ignore_eos = true;
    ASSERT_EQ(sched.Submit(std::move(r)).kind, Admission::kAccepted);
    ASSERT_EQ(sched.Submit(c.Make(1, tok_->Encode("KING"), 1000000)).kind, Admission::kAccepted);
  }
  ASSERT_TRUE(c.Wait(2));
  EXPECT_EQ(c.Get(0).result.finish_reason, FinishReason::kCancelled);
  EXPECT_EQ(c.Get(1).result.finish_reason, FinishReason::kCancelled);
}

TEST_F(DemoModelTest, ShutdownEndsEverythingAndRefusesNewRequests) {
  SchedulerOptions opt;
  opt.max_slots = 1;
  BatchScheduler sched(*model_, &*tok_, nullptr, opt);
  Collector c;
  GenerationRequest r = c.Make(0, tok_->Encode("ROMEO:"), 1000000);
  r.ignore_eos = true;
  ASSERT_EQ(sched.Submit(std::move(r)).kind, Admission::kAccepted);
  ASSERT_EQ(sched.Submit(c.Make(1, tok_->Encode("KING"), 1000000)).kind, Admission::kAccepted);
  sched.Shutdown();
  ASSERT_TRUE(c.Wait(2));  // without destroying the scheduler
  EXPECT_EQ(c.Get(0).result.finish_reason, FinishReason::kCancelled);
  EXPECT_EQ(c.Get(1).result.finish_reason, FinishReason::kCancelled);
  EXPECT_EQ(sched.Submit(c.Make(2, tok_->Encode("KING"), 4)).kind, Admission::kQueueFull);
  EXPECT_EQ(sched.Stats().active, 0);
}

}  // namespace
}  // namespace mamba
