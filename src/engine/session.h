// SPDX-License-Identifier: MIT
// Session: one sequence being processed by a Model: its recurrent state, the logits of the last
// token fed, and scratch space. Prefill feeds a prompt in chunks (bounded memory whatever its
// length); Decode feeds one token. Not thread-safe; several Sessions may share one Model.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "model/model.h"
#include "threading/thread_pool.h"

namespace mamba {

class Session {
 public:
  // `model` and `pool` (may be null) must outlive the session.
  Session(const Model& model, ThreadPool* pool);

  // Feeds `tokens` (may be empty) after what was fed before. On return logits() holds the logits
  // of the last token. When `all_logits` is non-null it receives the logits of every token fed
  // here, [tokens.size(), vocab_padded] row-major. Fails without changing the state when a token
  // is out of the vocabulary.
  Status Prefill(std::span<const int32_t> tokens, std::vector<float>* all_logits = nullptr);

  // Feeds one token (a recurrent step).
  Status Decode(int32_t token) { return Prefill(std::span<const int32_t>(&token, 1)); }

  // [vocab_padded] logits of the last token fed; empty before the first token.
  std::span<const float> logits() const;

  // Tokens fed since the last Reset.
  int64_t n_past() const { return state_.n_past; }
  void Reset();

  const SequenceState& state() const { return state_; }
  const Model& model() const { return model_; }
  // Replaces the state (e.g. one saved with state().Clone()); the shape must match (checked).
  void RestoreState(SequenceState state);

  // Longest piece of a prompt run through the model in one forward call. Its activations
  // (~37 KiB per token on a 130m shape, ~150 KiB on 2.8b) and the GEMM's packed inputs are the
  // engine's main memory beyond the weights; 96 rows (3 GEMM panels of 32 on AVX-512, 6 of 16
  // on AVX2) keep them small next to the file and prefill as fast as 128 and 512 did (pp512:
  // 130m/370m 512 -> 128 within noise, peak RSS of 130m F16 291 -> 276 MB; 128 -> 96 within
  // noise on 130m and 1.4b F16, 130m peak RSS 105.3 -> 104.9 % of the file).
  static constexpr int64_t kPrefillChunk = 96;

 private:
  const Model& model_;
  ThreadPool* pool_;
  SequenceState state_;
  Scratch scratch_;
  std::vector<float> last_logits_;  // [vocab_padded] or empty
};

}  // namespace mamba
