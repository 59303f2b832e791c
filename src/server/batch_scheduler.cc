// SPDX-License-Identifier: MIT
// BatchScheduler implementation: the worker loop (admit -> one batched decode step -> sample and
// stream per slot -> free finished slots) and the thread-safe queue in front of it.
#include "server/batch_scheduler.h"

#include <algorithm>
#include <chrono>
#include <optional>
#include <utility>

#include "engine/stop_strings.h"

namespace mamba {
namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double>(to - from).count();
}

// Longest piece of a prompt run through the model in one forward call (as Session).
constexpr int64_t kPrefillChunk = 512;

}  // namespace

std::string_view FinishReasonName(FinishReason reason) {
  switch (reason) {
    case FinishReason::kStop:
      return "stop";
    case FinishReason::kLength:
      return "length";
    case FinishReason::kCancelled:
      return "cancelled";
    case FinishReason::kError:
      return "error";
  }
  return "?";
}

struct BatchScheduler::Pending {
  uint64_t id = 0;
  GenerationRequest request;
  Clock::time_point submitted;
};

struct BatchScheduler::Slot {
  uint64_t id = 0;
  GenerationRequest request;
  Clock::time_point submitted;
  SequenceState state;
  std::optional<Sampler> sampler;
  std::optional<StreamDecoder> decoder;
  StopStringMatcher stops{std::vector<std::string>{}};
  std::vector<int32_t> history;  // prompt + fed tokens, for the penalties
  int32_t next_token = -1;       // sampled and streamed, to be fed by the next step
  GenerationResult result;
};

BatchScheduler::BatchScheduler(const Model& model, const Tokenizer* tokenizer, ThreadPool* pool,
                               SchedulerOptions options)
    : model_(model), tokenizer_(tokenizer), pool_(pool), options_(std::move(options)) {
  options_.max_slots = std::max(options_.max_slots, 1);
  options_.max_queue = std::max(options_.max_queue, 0);
  const ModelConfig& cfg = model_.config();
  n_vocab_ = options_.n_vocab > 0 ? options_.n_vocab : cfg.vocab_size;
  n_vocab_ = std::min(n_vocab_, cfg.vocab_padded);
  stats_.max_slots = options_.max_slots;
  slots_.resize(static_cast<size_t>(options_.max_slots));
  worker_ = std::thread([this] { WorkerLoop(); });
}

BatchScheduler::~BatchScheduler() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  worker_.join();
}

Admission BatchScheduler::Submit(GenerationRequest request) {
  Admission a;
  const int64_t vocab = model_.config().vocab_padded;
  Status invalid;
  if (request.prompt.empty()) {
    invalid = InvalidArgumentError("the prompt is empty");
  } else if (request.max_tokens < 1) {
    invalid = InvalidArgumentError("max_tokens must be at least 1, got " +
                                   std::to_string(request.max_tokens));
  } else if (!request.stop.empty() && tokenizer_ == nullptr) {
    invalid = InvalidArgumentError("stop strings need a tokenizer");
  } else {
    for (size_t i = 0; i < request.prompt.size(); ++i) {
      if (request.prompt[i] < 0 || request.prompt[i] >= vocab) {
        invalid = InvalidArgumentError(
            "prompt token " + std::to_string(request.prompt[i]) + " at position " +
            std::to_string(i) + " is outside the vocabulary [0, " + std::to_string(vocab) + ")");
        break;
      }
    }
    if (invalid.ok()) invalid = ValidateSamplerParams(request.sampling);
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (!invalid.ok()) {
    ++stats_.requests_rejected;
    a.kind = Admission::kInvalid;
    a.error = invalid;
    return a;
  }
  // Free slots count as room too: the worker admits from the queue into them.
  const int64_t room = options_.max_queue + options_.max_slots - stats_.active;
  if (shutting_down_) {
    ++stats_.requests_rejected;
    a.kind = Admission::kQueueFull;
    a.error = OutOfRangeError("the server is shutting down");
    return a;
  }
  if (static_cast<int64_t>(queue_.size()) >= room) {
    ++stats_.requests_rejected;
    a.kind = Admission::kQueueFull;
    a.error = OutOfRangeError("the server is busy: " + std::to_string(queue_.size()) +
                              " requests are waiting (queue limit " +
                              std::to_string(options_.max_queue) + ")");
    return a;
  }
  auto p = std::make_unique<Pending>();
  p->id = next_id_++;
  p->request = std::move(request);
  p->submitted = Clock::now();
  a.id = p->id;
  queue_.push_back(std::move(p));
  ++stats_.requests_submitted;
  stats_.queue_depth = static_cast<int64_t>(queue_.size());
  cv_.notify_all();
  return a;
}

void BatchScheduler::Cancel(uint64_t id) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    cancelled_.push_back(id);
  }
  cv_.notify_all();
}

void BatchScheduler::Shutdown() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    shutting_down_ = true;
  }
  cv_.notify_all();
}

SchedulerStats BatchScheduler::Stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

void BatchScheduler::WorkerLoop() {
  for (;;) {
    std::vector<std::unique_ptr<Pending>> admitted, dropped;
    std::vector<uint64_t> cancels;
    bool stopping = false, exiting = false;
    {
      std::unique_lock<std::mutex> lock(mu_);
      const auto n_free = [&] { return std::count(slots_.begin(), slots_.end(), nullptr); };
      cv_.wait(lock, [&] {
        return stop_ || shutting_down_ || !cancelled_.empty() ||
               (!queue_.empty() && n_free() > 0) || n_free() < static_cast<long>(slots_.size());
      });
      stopping = stop_ || shutting_down_;
      exiting = stop_;
      cancels.swap(cancelled_);
      // Cancelled requests that are still waiting never reach a slot.
      for (auto it = queue_.begin(); it != queue_.end();) {
        if (stopping || std::find(cancels.begin(), cancels.end(), (*it)->id) != cancels.end()) {
          dropped.push_back(std::move(*it));
          it = queue_.erase(it);
        } else {
          ++it;
        }
      }
      for (long free = n_free(); free > 0 && !queue_.empty(); --free) {
        admitted.push_back(std::move(queue_.front()));
        queue_.pop_front();
        ++stats_.active;
      }
      stats_.queue_depth = static_cast<int64_t>(queue_.size());
    }
    for (auto& p : dropped) {
      GenerationResult r;
      r.finish_reason = FinishReason::kCancelled;
      r.prompt_tokens = static_cast<int64_t>(p->request.prompt.size());
      r.total_seconds = Seconds(p->submitted, Clock::now());
      {
        std::lock_guard<std::mutex> lock(mu_);
        ++stats_.requests_finished;
      }
      if (p->request.on_done) p->request.on_done(r);
    }
    for (auto& slot : slots_) {
      if (slot &&
          (stopping || std::find(cancels.begin(), cancels.end(), slot->id) != cancels.end())) {
        Finish(*slot, FinishReason::kCancelled);
        slot.reset();
      }
    }
    if (exiting) return;
    if (stopping) {
      // Shut down but not destroyed: wait for the destructor (or late cancels).
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stop_; });
      return;
    }
    Admit(std::move(admitted));
    Step();
  }
}

void BatchScheduler::Admit(std::vector<std::unique_ptr<Pending>> admitted) {
  const int64_t vocab = model_.config().vocab_padded;
  std::vector<float> logits(static_cast<size_t>(vocab));
  for (auto& p : admitted) {
    auto slot = std::make_unique<Slot>();
    slot->id = p->id;
    slot->submitted = p->submitted;
    slot->request = std::move(p->request);
    slot->state = model_.NewState();
    slot->sampler.emplace(std::move(Sampler::Create(slot->request.sampling)).value());
    if (tokenizer_ != nullptr) slot->decoder.emplace(*tokenizer_, /*skip_special=*/true);
    slot->stops = StopStringMatcher(slot->request.stop);
    slot->history = slot->request.prompt;
    const std::vector<int32_t>& prompt = slot->request.prompt;
    const int64_t n = static_cast<int64_t>(prompt.size());
    slot->result.prompt_tokens = n;
    const auto t0 = Clock::now();
    slot->result.queue_seconds = Seconds(slot->submitted, t0);
    Status st;
    for (int64_t begin = 0; begin < n && st.ok(); begin += kPrefillChunk) {
      const int64_t len = std::min(kPrefillChunk, n - begin);
      const SeqSlice slice{0, len, &slot->state};
      const int64_t row = len - 1;
      ForwardBatch batch;
      batch.tokens = std::span<const int32_t>(prompt).subspan(begin, len);
      batch.seqs = std::span<const SeqSlice>(&slice, 1);
      if (begin + len == n) batch.logit_rows = std::span<const int64_t>(&row, 1);
      batch.logits = logits.data();
      st = model_.Forward(batch, scratch_, pool_);
    }
    slot->result.prefill_seconds = Seconds(t0, Clock::now());
    {
      std::lock_guard<std::mutex> lock(mu_);
      stats_.prompt_tokens += n;
    }
    if (!st.ok()) {
      Finish(*slot, FinishReason::kError, st);
      continue;
    }
    if (!SampleAndStream(*slot, logits)) continue;
    for (auto& s : slots_) {
      if (!s) {
        s = std::move(slot);
        break;
      }
    }
    MAMBA_CHECK(slot == nullptr, "BatchScheduler: admitted a request without a free slot");
  }
}

void BatchScheduler::Step() {
  std::vector<int32_t> tokens;
  std::vector<SeqSlice> seqs;
  std::vector<int64_t> rows;
  std::vector<size_t> which;  // slot index of each row
  for (size_t i = 0; i < slots_.size(); ++i) {
    if (!slots_[i]) continue;
    const int64_t row = static_cast<int64_t>(tokens.size());
    tokens.push_back(slots_[i]->next_token);
    seqs.push_back({row, 1, &slots_[i]->state});
    rows.push_back(row);
    which.push_back(i);
  }
  if (tokens.empty()) return;
  const int64_t vocab = model_.config().vocab_padded;
  logits_.resize(tokens.size() * static_cast<size_t>(vocab));
  ForwardBatch batch{tokens, seqs, rows, logits_.data()};
  const Status st = model_.Forward(batch, scratch_, pool_);
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.decode_steps;
  }
  for (size_t r = 0; r < which.size(); ++r) {
    std::unique_ptr<Slot>& slot = slots_[which[r]];
    if (!st.ok()) {
      Finish(*slot, FinishReason::kError, st);
      slot.reset();
      continue;
    }
    const std::span<const float> row(logits_.data() + r * vocab, static_cast<size_t>(vocab));
    if (!SampleAndStream(*slot, row)) slot.reset();
  }
}

bool BatchScheduler::SampleAndStream(Slot& slot, std::span<const float> logits) {
  const int32_t token =
      slot.sampler->Sample(logits.first(static_cast<size_t>(n_vocab_)), slot.history);
  GenerationResult& result = slot.result;
  if (result.tokens.empty()) result.first_token_seconds = Seconds(slot.submitted, Clock::now());
  result.tokens.push_back(token);
  result.completion_tokens = static_cast<int64_t>(result.tokens.size());
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.generated_tokens;
  }
  const std::vector<int32_t>& eos = options_.eos_ids;
  if (!slot.request.ignore_eos && std::find(eos.begin(), eos.end(), token) != eos.end()) {
    Finish(slot, FinishReason::kStop);
    return false;
  }
  slot.history.push_back(token);
  slot.next_token = token;
  bool keep_going = true;
  if (slot.decoder) {
    const std::string text = slot.stops.Push(slot.decoder->Push(token));
    if (!text.empty() && slot.request.on_text) keep_going = slot.request.on_text(text);
  }
  if (slot.stops.stopped()) {
    Finish(slot, FinishReason::kStop);
    return false;
  }
  if (!keep_going) {
    Finish(slot, FinishReason::kCancelled);
    return false;
  }
  if (result.completion_tokens >= slot.request.max_tokens) {
    Finish(slot, FinishReason::kLength);
    return false;
  }
  return true;
}

void BatchScheduler::Finish(Slot& slot, FinishReason reason, Status error) {
  // Text held back for a possible stop string or an incomplete character is released when the
  // request ends normally (as Generate does).
  if (slot.decoder && !slot.stops.stopped() &&
      (reason == FinishReason::kStop || reason == FinishReason::kLength)) {
    std::string rest = slot.stops.Push(slot.decoder->Flush());
    rest += slot.stops.Flush();
    if (!rest.empty() && slot.request.on_text) slot.request.on_text(rest);
  }
  slot.result.finish_reason = reason;
  slot.result.error = std::move(error);
  slot.result.total_seconds = Seconds(slot.submitted, Clock::now());
  {
    // Counted before on_done so that a caller woken by it sees consistent stats.
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.requests_finished;
    --stats_.active;
  }
  if (slot.request.on_done) slot.request.on_done(slot.result);
}

}  // namespace mamba
