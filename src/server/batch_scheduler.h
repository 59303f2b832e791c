// SPDX-License-Identifier: MIT
// BatchScheduler: continuous batching of many generation requests over one Model, with no HTTP.
// A worker thread owns up to `max_slots` slots (each a SequenceState, a Sampler, a stop-string
// matcher, a stream decoder and a token budget). Each step it admits queued requests into free
// slots, then runs ONE Model::Forward holding the next token of every decoding sequence plus the
// next chunk of the prompts being prefilled (at most max_prefill_per_step prompt tokens, so a
// long prompt never stalls the other streams for more than one chunk), samples per slot, streams
// text through the request's callback and frees the slots whose requests finished or were
// cancelled. Layer: server (links engine).
//
//   BatchScheduler sched(model, &tokenizer, &pool, options);
//   GenerationRequest req;
//   req.prompt = tokenizer.Encode("Once upon a time");
//   req.max_tokens = 32;
//   req.on_text = [](std::string_view text) { std::cout << text; return true; };
//   req.on_done = [](const GenerationResult& r) { ... };
//   Admission a = sched.Submit(std::move(req));  // kQueueFull beyond the queue limit
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "base/status.h"
#include "model/model.h"
#include "sampling/sampler.h"
#include "threading/thread_pool.h"
#include "tokenizer/tokenizer.h"

namespace mamba {

// Why a request ended. kStop: an end-of-sequence token or a stop string (OpenAI "stop");
// kLength: the token budget (OpenAI "length"); kCancelled: Cancel(), the callback returned false
// or the scheduler shut down; kError: the request was invalid (see GenerationResult::error).
enum class FinishReason { kStop, kLength, kCancelled, kError };

// "stop", "length", "cancelled", "error".
std::string_view FinishReasonName(FinishReason reason);

struct GenerationResult {
  FinishReason finish_reason = FinishReason::kStop;
  Status error;                 // set when finish_reason is kError
  std::vector<int32_t> tokens;  // sampled ids, including a stopping EOS
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;  // tokens sampled (OpenAI usage.completion_tokens)
  double queue_seconds = 0;       // from Submit to the first prompt chunk
  double prefill_seconds = 0;
  double first_token_seconds = 0;  // from Submit to the first sampled token
  double total_seconds = 0;        // from Submit to the end
};

struct GenerationRequest {
  std::vector<int32_t> prompt;  // must be non-empty, ids in the model's vocabulary
  SamplerParams sampling;
  int32_t max_tokens = 16;        // most tokens to sample; must be >= 1
  std::vector<std::string> stop;  // stop strings (the text before one is the last text streamed)
  bool ignore_eos = false;
  // Called on the worker thread with text that became printable (complete UTF-8, never part of
  // a stop string). Return false to cancel the request. May be empty. Must not block for long:
  // every other sequence waits for it.
  std::function<bool(std::string_view text)> on_text;
  // Called exactly once on the worker thread when the request ends for any reason, including
  // rejection after admission, cancellation and shutdown. No other callback follows it.
  std::function<void(const GenerationResult& result)> on_done;
};

struct SchedulerOptions {
  int max_slots = 4;                   // sequences decoded together (>= 1)
  int max_queue = 64;                  // requests waiting for a slot beyond which Submit refuses
  std::vector<int32_t> eos_ids;        // generation ends when one is sampled (unless ignore_eos)
  int64_t n_vocab = 0;                 // logit columns sampled; 0 = the model's vocab_size
  int64_t max_prefill_per_step = 512;  // prompt tokens fed per step, over all new requests
};

// The outcome of Submit.
struct Admission {
  enum Kind { kAccepted, kQueueFull, kInvalid } kind = kAccepted;
  uint64_t id = 0;  // request id (kAccepted), for Cancel
  Status error;     // why (kQueueFull, kInvalid)
};

// Counters for /metrics; a consistent snapshot.
struct SchedulerStats {
  int64_t requests_submitted = 0;
  int64_t requests_rejected = 0;  // queue full or invalid at Submit
  int64_t requests_finished = 0;  // on_done called (any reason)
  int64_t prompt_tokens = 0;      // prefilled
  int64_t generated_tokens = 0;   // sampled
  int64_t decode_steps = 0;       // batched forward calls (decode rows + prompt chunks)
  int64_t queue_depth = 0;        // waiting now
  int64_t active = 0;             // in slots now
  int max_slots = 0;
};

class BatchScheduler {
 public:
  // `model`, `tokenizer` (may be null: no text, no stop strings) and `pool` (may be null) must
  // outlive the scheduler. Starts the worker thread.
  BatchScheduler(const Model& model, const Tokenizer* tokenizer, ThreadPool* pool,
                 SchedulerOptions options);
  // Cancels everything queued or running (their on_done sees kCancelled) and joins the worker.
  ~BatchScheduler();
  BatchScheduler(const BatchScheduler&) = delete;
  BatchScheduler& operator=(const BatchScheduler&) = delete;

  // Validates `request` (kInvalid with a message naming the field: empty prompt, id outside the
  // vocabulary, max_tokens < 1, bad sampling settings, stop strings without a tokenizer) and
  // queues it (kQueueFull when max_queue requests already wait). Only an accepted request gets
  // callbacks. Thread-safe.
  Admission Submit(GenerationRequest request);

  // Cancels request `id` if it is still queued or running; its on_done follows with kCancelled
  // (on the worker thread, soon). Unknown or finished ids are ignored. Thread-safe; may be
  // called from inside a callback.
  void Cancel(uint64_t id);

  // Cancels everything queued or running (on_done sees kCancelled) and refuses later Submits
  // (kQueueFull). For a clean exit while clients wait. Thread-safe; returns at once.
  void Shutdown();

  SchedulerStats Stats() const;
  const SchedulerOptions& options() const { return options_; }

 private:
  struct Slot;
  struct Pending;

  void WorkerLoop();
  // Puts queued requests into free slots (their prompts are fed by the next steps). Called by
  // the worker without mu_.
  void Admit(std::vector<std::unique_ptr<Pending>> admitted);
  // One batched forward over every active slot (decode rows + prompt chunks), then sampling and
  // streaming for the slots that got logits.
  void Step();
  // Samples the next token of `slot` from `logits` and streams it; returns false when it ended.
  // Records `token` (sampled from the slot's logits) and streams its text; false when the
  // request ended (the slot is then to be freed).
  bool Stream(Slot& slot, int32_t token);
  void Finish(Slot& slot, FinishReason reason, Status error = Status::Ok());

  const Model& model_;
  const Tokenizer* tokenizer_;
  ThreadPool* pool_;
  SchedulerOptions options_;
  int64_t n_vocab_ = 0;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::unique_ptr<Pending>> queue_;  // guarded by mu_
  std::vector<uint64_t> cancelled_;             // guarded by mu_: ids to cancel
  bool stop_ = false;                           // guarded by mu_: the worker exits
  bool shutting_down_ = false;                  // guarded by mu_: cancel all, refuse new
  uint64_t next_id_ = 1;                        // guarded by mu_
  SchedulerStats stats_;                        // guarded by mu_

  // Worker-only state.
  std::vector<std::unique_ptr<Slot>> slots_;  // max_slots entries; null = free
  Scratch scratch_;
  std::vector<float> logits_;  // [n_active, vocab_padded]
  std::vector<int32_t> sampled_;  // the token sampled for each logits row of a step
  std::thread worker_;
};

}  // namespace mamba
