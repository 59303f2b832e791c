// SPDX-License-Identifier: MIT
// The sampler chain steps and Sampler. See sampler.h for the contracts.
#include "sampling/sampler.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <unordered_map>

namespace mamba {
namespace {

bool ByLogitThenId(const Candidate& a, const Candidate& b) {
  if (a.logit != b.logit) return a.logit > b.logit;
  return a.id < b.id;
}

std::string Num(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

}  // namespace

Status ValidateSamplerParams(const SamplerParams& p) {
  auto bad = [](const char* what, double v) {
    return InvalidArgumentError(std::string(what) + ", got " + Num(v));
  };
  if (!std::isfinite(p.temperature) || p.temperature < 0) {
    return bad("temperature must be >= 0", p.temperature);
  }
  if (!(p.top_p >= 0.0f && p.top_p <= 1.0f)) return bad("top_p must be in [0, 1]", p.top_p);
  if (!(p.min_p >= 0.0f && p.min_p <= 1.0f)) return bad("min_p must be in [0, 1]", p.min_p);
  if (!std::isfinite(p.repeat_penalty) || p.repeat_penalty <= 0) {
    return bad("repeat_penalty must be > 0", p.repeat_penalty);
  }
  if (p.repeat_last_n < -1) return bad("repeat_last_n must be >= -1", p.repeat_last_n);
  if (!std::isfinite(p.presence_penalty)) return bad("presence_penalty must be finite", 0);
  if (!std::isfinite(p.frequency_penalty)) return bad("frequency_penalty must be finite", 0);
  return Status::Ok();
}

void ApplyPenalties(std::span<float> logits, std::span<const int32_t> history,
                    int32_t repeat_last_n, float repeat_penalty, float presence_penalty,
                    float frequency_penalty) {
  if (repeat_last_n == 0) return;
  if (repeat_penalty == 1.0f && presence_penalty == 0.0f && frequency_penalty == 0.0f) return;
  size_t window = history.size();
  if (repeat_last_n > 0) window = std::min(window, static_cast<size_t>(repeat_last_n));
  std::unordered_map<int32_t, int32_t> counts;
  for (int32_t id : history.last(window)) {
    if (id >= 0 && static_cast<size_t>(id) < logits.size()) ++counts[id];
  }
  for (const auto& [id, count] : counts) {
    float& l = logits[static_cast<size_t>(id)];
    if (repeat_penalty != 1.0f) l = l > 0 ? l / repeat_penalty : l * repeat_penalty;
    l -= presence_penalty + frequency_penalty * static_cast<float>(count);
  }
}

void SortCandidates(std::vector<Candidate>& candidates) {
  std::sort(candidates.begin(), candidates.end(), ByLogitThenId);
}

void Softmax(std::vector<Candidate>& candidates) {
  if (candidates.empty()) return;
  float max_logit = candidates[0].logit;
  for (const Candidate& c : candidates) max_logit = std::max(max_logit, c.logit);
  double sum = 0;
  for (const Candidate& c : candidates) sum += std::exp(static_cast<double>(c.logit) - max_logit);
  for (Candidate& c : candidates) {
    c.p = static_cast<float>(std::exp(static_cast<double>(c.logit) - max_logit) / sum);
  }
}

std::vector<Candidate> MakeCandidates(std::span<const float> logits) {
  std::vector<Candidate> c(logits.size());
  for (size_t i = 0; i < logits.size(); ++i) c[i] = {static_cast<int32_t>(i), logits[i], 0.0f};
  SortCandidates(c);
  Softmax(c);
  return c;
}

void TopK(std::vector<Candidate>& candidates, int32_t k) {
  if (k > 0 && static_cast<size_t>(k) < candidates.size()) candidates.resize(k);
}

void TopP(std::vector<Candidate>& candidates, float top_p) {
  if (top_p >= 1.0f || candidates.empty()) return;
  Softmax(candidates);
  double cumulative = 0;
  size_t keep = candidates.size();
  for (size_t i = 0; i < candidates.size(); ++i) {
    cumulative += candidates[i].p;
    if (cumulative >= top_p) {
      keep = i + 1;
      break;
    }
  }
  candidates.resize(keep);
}

void MinP(std::vector<Candidate>& candidates, float min_p) {
  if (min_p <= 0.0f || candidates.empty()) return;
  Softmax(candidates);
  float p_max = 0;
  for (const Candidate& c : candidates) p_max = std::max(p_max, c.p);
  const float threshold = min_p * p_max;
  size_t keep = 0;
  for (size_t i = 0; i < candidates.size(); ++i) {
    if (candidates[i].p >= threshold) candidates[keep++] = candidates[i];
  }
  candidates.resize(std::max<size_t>(keep, 1));
}

void ApplyTemperature(std::vector<Candidate>& candidates, float temperature) {
  for (Candidate& c : candidates) c.logit /= temperature;
  Softmax(candidates);
}

double UniformFromBits(uint64_t bits) { return static_cast<double>(bits >> 11) * 0x1.0p-53; }

int32_t DrawCandidate(std::vector<Candidate>& candidates, double u) {
  MAMBA_CHECK(!candidates.empty(), "DrawCandidate on an empty candidate list");
  Softmax(candidates);
  double cumulative = 0;
  for (const Candidate& c : candidates) {
    cumulative += c.p;
    if (u < cumulative) return c.id;
  }
  return candidates.back().id;
}

int32_t GreedyArgMax(std::span<const float> logits) {
  MAMBA_CHECK(!logits.empty(), "GreedyArgMax on empty logits");
  size_t best = 0;
  for (size_t i = 1; i < logits.size(); ++i) {
    if (logits[i] > logits[best]) best = i;
  }
  return static_cast<int32_t>(best);
}

StatusOr<Sampler> Sampler::Create(const SamplerParams& params) {
  MAMBA_RETURN_IF_ERROR(ValidateSamplerParams(params));
  return Sampler(params);
}

void Sampler::Reseed(uint64_t seed) {
  params_.seed = seed;
  rng_.seed(seed);
}

int32_t Sampler::Sample(std::span<const float> logits, std::span<const int32_t> history) {
  MAMBA_CHECK(!logits.empty(), "Sampler::Sample on empty logits");
  work_.assign(logits.begin(), logits.end());
  ApplyPenalties(work_, history, params_.repeat_last_n, params_.repeat_penalty,
                 params_.presence_penalty, params_.frequency_penalty);
  candidates_.clear();
  if (params_.temperature == 0.0f) return GreedyArgMax(work_);

  candidates_.resize(work_.size());
  for (size_t i = 0; i < work_.size(); ++i) {
    candidates_[i] = {static_cast<int32_t>(i), work_[i], 0.0f};
  }
  // Top-k first, by partial sort: sorting the whole vocabulary every token is the expensive part.
  const size_t k = static_cast<size_t>(params_.top_k);
  if (params_.top_k > 0 && k < candidates_.size()) {
    std::partial_sort(candidates_.begin(), candidates_.begin() + k, candidates_.end(),
                      ByLogitThenId);
    candidates_.resize(k);
  } else {
    SortCandidates(candidates_);
  }
  TopP(candidates_, params_.top_p);
  MinP(candidates_, params_.min_p);
  ApplyTemperature(candidates_, params_.temperature);
  return DrawCandidate(candidates_, UniformFromBits(rng_()));
}

}  // namespace mamba
