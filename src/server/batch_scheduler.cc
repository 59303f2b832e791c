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
  int64_t n_prefilled = 0;       // prompt tokens fed so far
  Clock::time_point prefill_start;
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
    slot->result.prompt_tokens = static_cast<int64_t>(slot->request.prompt.size());
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
  // Rows of this step: one per decoding sequence (its last sampled token), then the next chunk
  // of each prompt still being prefilled, within the per-step prefill budget. Logits are wanted
  // for every decode row and for the last row of a prompt that completes here.
  std::vector<int32_t> tokens;
  std::vector<SeqSlice> seqs;
  std::vector<int64_t> logit_rows;
  std::vector<size_t> logit_slots;                    // slot index of each logit row
  std::vector<std::pair<size_t, int64_t>> prefilled;  // (slot, tokens fed this step)
  for (size_t i = 0; i < slots_.size(); ++i) {
    Slot* slot = slots_[i].get();
    if (slot == nullptr || slot->n_prefilled < slot->result.prompt_tokens) continue;
    const int64_t row = static_cast<int64_t>(tokens.size());
    tokens.push_back(slot->next_token);
    seqs.push_back({row, 1, &slot->state});
    logit_rows.push_back(row);
    logit_slots.push_back(i);
  }
  int64_t budget = std::max<int64_t>(options_.max_prefill_per_step, 1);
  const auto now = Clock::now();
  for (size_t i = 0; i < slots_.size() && budget > 0; ++i) {
    Slot* slot = slots_[i].get();
    if (slot == nullptr || slot->n_prefilled >= slot->result.prompt_tokens) continue;
    if (slot->n_prefilled == 0) {
      slot->prefill_start = now;
      slot->result.queue_seconds = Seconds(slot->submitted, now);
    }
    const int64_t len = std::min(budget, slot->result.prompt_tokens - slot->n_prefilled);
    const int64_t begin = static_cast<int64_t>(tokens.size());
    const auto first = slot->request.prompt.begin() + slot->n_prefilled;
    tokens.insert(tokens.end(), first, first + len);
    seqs.push_back({begin, len, &slot->state});
    prefilled.emplace_back(i, len);
    budget -= len;
    if (slot->n_prefilled + len == slot->result.prompt_tokens) {
      logit_rows.push_back(begin + len - 1);
      logit_slots.push_back(i);
    }
  }
  if (tokens.empty()) return;
  // Decode rows come first and prompt chunks after, so logit_rows is strictly increasing.
  const std::vector<int64_t>& rows = logit_rows;
  const std::vector<size_t>& which = logit_slots;
  const int64_t vocab = model_.config().vocab_padded;
  logits_.resize(std::max<size_t>(rows.size(), 1) * static_cast<size_t>(vocab));
  ForwardBatch batch{tokens, seqs, rows, logits_.data()};
  const Status st = model_.Forward(batch, scratch_, pool_);
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.decode_steps;
    for (const auto& [i, len] : prefilled) stats_.prompt_tokens += len;
  }
  const auto done = Clock::now();
  for (const auto& [i, len] : prefilled) {
    Slot& slot = *slots_[i];
    slot.n_prefilled += len;
    if (slot.n_prefilled == slot.result.prompt_tokens) {
      slot.result.prefill_seconds = Seconds(slot.prefill_start, done);
    }
  }
  if (!st.ok()) {
    // Only an internal failure gets here (prompts were validated at Submit).
    for (auto& slot : slots_) {
      if (!slot) continue;
      Finish(*slot, FinishReason::kError, st);
      slot.reset();
    }
    return;
  }
  // Sampling is independent per slot (its own sampler, history and logits row): spread over the
  // pool, it no longer grows the step time with every stream (top-k over the vocabulary each).
  // Streaming the text (callbacks, stop strings) stays on this thread, in slot order.
  sampled_.resize(which.size());
  ParallelForOrInline(pool_, static_cast<int64_t>(which.size()), 1, [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      Slot& slot = *slots_[which[static_cast<size_t>(r)]];
      const std::span<const float> row(logits_.data() + static_cast<size_t>(r) * vocab,
                                       static_cast<size_t>(n_vocab_));
      sampled_[static_cast<size_t>(r)] = slot.sampler->Sample(row, slot.history);
    }
  });
  for (size_t r = 0; r < which.size(); ++r) {
    std::unique_ptr<Slot>& slot = slots_[which[r]];
    if (!Stream(*slot, sampled_[r])) slot.reset();
  }
}

bool BatchScheduler::Stream(Slot& slot, int32_t token) {
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
