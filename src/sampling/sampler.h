// SPDX-License-Identifier: MIT
// Token sampling as a chain of steps, in llama.cpp's default order: penalties (repeat, presence,
// frequency) on the raw logits, then top-k, top-p, min-p, temperature and a seeded draw. Every step
// is a free function over a candidate list so it can be tested on its own; Sampler runs the chain.
// Layer: sampling (links base).
//
//   MAMBA_ASSIGN_OR_RETURN(Sampler sampler, Sampler::Create(params));
//   int32_t id = sampler.Sample(logits.first(n_vocab), history);
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"

namespace mamba {

// Sampling settings. The defaults are llama.cpp's (repeat penalty off).
struct SamplerParams {
  float temperature = 0.8f;        // 0 = greedy argmax (after penalties); must be >= 0
  int32_t top_k = 40;              // keep the k most likely tokens; <= 0 = off
  float top_p = 0.95f;             // nucleus: smallest set with cumulative p >= top_p; 1 = off
  float min_p = 0.05f;             // keep tokens with p >= min_p * p_max; 0 = off
  float repeat_penalty = 1.0f;     // > 0; 1 = off
  int32_t repeat_last_n = 64;      // penalty window over the history; 0 = off, -1 = whole history
  float presence_penalty = 0.0f;   // subtracted once from the logit of every token in the window
  float frequency_penalty = 0.0f;  // subtracted per occurrence in the window
  uint64_t seed = 0;
};

// Returns InvalidArgument naming the field (e.g. "top_p must be in [0, 1], got 2") when a value is
// out of range or not finite.
Status ValidateSamplerParams(const SamplerParams& params);

// One entry of the working distribution.
struct Candidate {
  int32_t id;
  float logit;
  float p;  // probability; only meaningful after SoftmaxSorted
};

// --- The steps. Each keeps candidates sorted by descending logit (ties: lower id first) once
// --- SortCandidates has run; top-k/top-p/min-p require that order and keep at least one token.

// Applies the penalties to `logits` [n_vocab] for the tokens in the last `repeat_last_n` entries
// of `history` (ids outside [0, n_vocab) are ignored). Repeat penalty, once per distinct token:
// a positive logit is divided by `repeat_penalty`, a negative one multiplied. Then, as OpenAI:
// logit -= presence * (count > 0) + frequency * count.
void ApplyPenalties(std::span<float> logits, std::span<const int32_t> history,
                    int32_t repeat_last_n, float repeat_penalty, float presence_penalty,
                    float frequency_penalty);

// Returns the candidates of `logits`, ids 0..n-1, sorted (descending logit, then ascending id),
// with probabilities filled in.
std::vector<Candidate> MakeCandidates(std::span<const float> logits);

// Sorts descending by logit (ties: lower id first).
void SortCandidates(std::vector<Candidate>& candidates);

// Sets p = softmax(logit) over the candidates (computed in double). Keeps the order.
void Softmax(std::vector<Candidate>& candidates);

// Keeps the first `k` candidates (all when k <= 0 or k >= size). Expects sorted candidates.
void TopK(std::vector<Candidate>& candidates, int32_t k);

// Recomputes p, then keeps the shortest prefix whose cumulative probability is >= `top_p` (at
// least one candidate; all when top_p >= 1). Expects sorted candidates.
void TopP(std::vector<Candidate>& candidates, float top_p);

// Recomputes p, then keeps candidates with p >= min_p * p_max (min_p <= 0: all). Expects sorted
// candidates.
void MinP(std::vector<Candidate>& candidates, float min_p);

// Divides every logit by `temperature` (> 0) and recomputes p.
void ApplyTemperature(std::vector<Candidate>& candidates, float temperature);

// Maps a raw 64-bit random value to a double in [0, 1): the top 53 bits times 2^-53. Exact and
// the same on every platform (unlike std::uniform_real_distribution).
double UniformFromBits(uint64_t bits);

// Returns the id of the candidate whose cumulative-probability interval contains `u` in [0, 1)
// (walking in list order, p recomputed by softmax first). Rounding leftovers go to the last one.
int32_t DrawCandidate(std::vector<Candidate>& candidates, double u);

// Returns the index of the largest value, the lowest index on ties. `logits` must be non-empty.
int32_t GreedyArgMax(std::span<const float> logits);

// The chain. The RNG is std::mt19937_64 (its output sequence is fixed by the C++ standard), so
// the same seed and the same inputs give the same tokens on every platform, up to the last-bit
// differences of std::exp between C libraries. Not thread-safe (one per sequence).
class Sampler {
 public:
  // Returns InvalidArgument (see ValidateSamplerParams) for bad settings.
  static StatusOr<Sampler> Create(const SamplerParams& params);

  // Returns a token id in [0, logits.size()). `logits` are the real-vocabulary columns (not the
  // padded rows); `history` is what the model has seen so far (prompt and generated tokens), used
  // by the penalties. `logits` must be non-empty (checked).
  int32_t Sample(std::span<const float> logits, std::span<const int32_t> history);

  // Restarts the random sequence from `seed`.
  void Reseed(uint64_t seed);

  const SamplerParams& params() const { return params_; }
  // The final distribution of the last Sample call (empty after a greedy pick); for tests.
  const std::vector<Candidate>& last_candidates() const { return candidates_; }

 private:
  explicit Sampler(const SamplerParams& params) : params_(params), rng_(params.seed) {}

  SamplerParams params_;
  std::mt19937_64 rng_;
  std::vector<float> work_;  // [n_vocab] penalized logits
  std::vector<Candidate> candidates_;
};

}  // namespace mamba
