// SPDX-License-Identifier: MIT
// The generation loop: prefill, then sample -> stream -> feed, one token at a time.
#include "engine/generate.h"

#include <algorithm>
#include <chrono>
#include <optional>

#include "engine/stop_strings.h"

namespace mamba {
namespace {

using Clock = std::chrono::steady_clock;

double Since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

}  // namespace

std::string_view StopReasonName(StopReason reason) {
  switch (reason) {
    case StopReason::kLength:
      return "length";
    case StopReason::kEos:
      return "eos";
    case StopReason::kStopString:
      return "stop string";
    case StopReason::kCancelled:
      return "cancelled";
    case StopReason::kCallback:
      return "callback";
  }
  return "?";
}

StatusOr<GenerateResult> Generate(Session& session, Sampler& sampler, const Tokenizer* tokenizer,
                                  std::span<const int32_t> prompt, std::vector<int32_t>& history,
                                  const GenerateOptions& options, const TokenCallback& on_token) {
  if (tokenizer == nullptr && !options.stop.empty()) {
    return InvalidArgumentError("stop strings need a tokenizer");
  }
  const ModelConfig& cfg = session.model().config();
  int64_t n_vocab = options.n_vocab > 0 ? options.n_vocab : cfg.vocab_size;
  n_vocab = std::min(n_vocab, cfg.vocab_padded);

  GenerateResult result;
  const auto t_prompt = Clock::now();
  if (!prompt.empty()) {
    MAMBA_RETURN_IF_ERROR(session.Prefill(prompt));
    history.insert(history.end(), prompt.begin(), prompt.end());
  }
  result.n_prompt = static_cast<int64_t>(prompt.size());
  result.prompt_seconds = Since(t_prompt);
  if (session.logits().empty()) {
    return InvalidArgumentError("nothing to generate from: the prompt and the state are empty");
  }

  const auto t_gen = Clock::now();
  std::optional<StreamDecoder> decoder;
  if (tokenizer != nullptr) decoder.emplace(*tokenizer, /*skip_special=*/true);
  StopStringMatcher stops(options.stop);
  std::optional<int32_t> unfed;  // sampled, streamed, not yet run through the model
  for (int32_t i = 0; options.n_predict < 0 || i < options.n_predict; ++i) {
    if (options.cancel != nullptr && options.cancel->load(std::memory_order_relaxed)) {
      result.stop_reason = StopReason::kCancelled;
      break;
    }
    if (unfed) {
      MAMBA_RETURN_IF_ERROR(session.Decode(*unfed));
      unfed.reset();
    }
    const int32_t token = sampler.Sample(session.logits().first(n_vocab), history);
    result.tokens.push_back(token);
    if (!options.ignore_eos &&
        std::find(options.eos_ids.begin(), options.eos_ids.end(), token) != options.eos_ids.end()) {
      result.stop_reason = StopReason::kEos;
      break;
    }
    history.push_back(token);
    unfed = token;
    std::string text;
    if (decoder) text = stops.Push(decoder->Push(token));
    const bool keep_going = on_token(token, text);
    if (stops.stopped()) {
      result.stop_reason = StopReason::kStopString;
      break;
    }
    if (!keep_going) {
      result.stop_reason = StopReason::kCallback;
      break;
    }
  }
  if (decoder && !stops.stopped()) {
    std::string rest = stops.Push(decoder->Flush());
    rest += stops.Flush();
    if (!rest.empty()) on_token(-1, rest);
  }
  if (unfed && options.feed_last_token) MAMBA_RETURN_IF_ERROR(session.Decode(*unfed));
  result.generate_seconds = Since(t_gen);
  return result;
}

}  // namespace mamba
