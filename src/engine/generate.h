// SPDX-License-Identifier: MIT
// Generate: the generation loop on top of a Session. Feeds a prompt on top of the session's
// current state, then samples token by token until EOS, a token budget, a stop string, a
// cancellation flag or the callback says stop, streaming UTF-8-complete text with stop strings
// removed. Layer: engine (links model, tokenizer, sampling).
//
//   GenerateOptions opt;
//   opt.n_predict = 32;
//   opt.eos_ids = {0};
//   opt.stop = {"\n\n"};
//   MAMBA_ASSIGN_OR_RETURN(GenerateResult r,
//       Generate(session, sampler, &tokenizer, prompt_ids, history, opt,
//                [](int32_t id, std::string_view text) { std::cout << text; return true; }));
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "engine/session.h"
#include "sampling/sampler.h"
#include "tokenizer/tokenizer.h"

namespace mamba {

enum class StopReason {
  kLength,      // n_predict tokens were generated
  kEos,         // an end-of-sequence id was sampled (and ignore_eos is off)
  kStopString,  // the text reached one of the stop strings
  kCancelled,   // *cancel became true
  kCallback,    // the callback returned false
};

// "length", "eos", "stop string", "cancelled", "callback".
std::string_view StopReasonName(StopReason reason);

struct GenerateOptions {
  int32_t n_predict = 64;        // most tokens to sample in this call; < 0 = no limit
  std::vector<int32_t> eos_ids;  // generation ends when one is sampled (unless ignore_eos)
  bool ignore_eos = false;
  std::vector<std::string> stop;  // stop strings; the text before one is the last text streamed.
                                  // Need a tokenizer.
  int64_t n_vocab = 0;  // logit columns to sample from; 0 = the model's vocab_size (not padded)
  // After the loop ends, also feed the last sampled token (not a stopping EOS), so that the state
  // holds everything streamed and a later call continues from it (interactive use). Off saves one
  // recurrent step when the session is thrown away afterwards.
  bool feed_last_token = true;
  const std::atomic<bool>* cancel = nullptr;  // polled before each token; may be set by a signal
};

struct GenerateResult {
  std::vector<int32_t> tokens;  // every sampled id, including an EOS that ended generation
  StopReason stop_reason = StopReason::kLength;
  int64_t n_prompt = 0;         // tokens prefilled by this call
  double prompt_seconds = 0;    // prefill time
  double generate_seconds = 0;  // sampling + recurrent steps
};

// Called on the calling thread once per sampled token except a stopping EOS, with the text that
// became printable (complete UTF-8; "" while a character or a possible stop string is held back;
// special tokens such as <|endoftext|> print nothing), and once more with id -1 for text held
// until the end, if any. Text after a stop string is never passed. Return false to stop.
using TokenCallback = std::function<bool(int32_t id, std::string_view text)>;

// Prefills `prompt` (may be empty when the session already has logits) on top of the session's
// state, then generates. `history` is the token history the sampler's penalties look at: the
// prompt and every generated token that was fed are appended to it. `tokenizer` may be null (no
// text; then `stop` must be empty). Errors: InvalidArgument when there is nothing to generate from
// or stop strings come without a tokenizer; a prompt token outside the vocabulary (from
// Session::Prefill, state unchanged).
StatusOr<GenerateResult> Generate(Session& session, Sampler& sampler, const Tokenizer* tokenizer,
                                  std::span<const int32_t> prompt, std::vector<int32_t>& history,
                                  const GenerateOptions& options, const TokenCallback& on_token);

}  // namespace mamba
