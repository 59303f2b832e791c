// SPDX-License-Identifier: MIT
// Perplexity and KL-divergence evaluation for mamba-perplexity (llama-perplexity's figures).
//
// Chunks: the tokens are cut into non-overlapping chunks of `ctx` tokens (a trailing partial
// chunk is dropped); each chunk starts from a fresh state and every token after its first is
// scored (ctx - 1 predictions per chunk; llama-perplexity scores only the second half because a
// transformer's early positions lack context, a recurrent model has the same issue so compare
// figures only between runs of this tool).
//
// KL base file (little-endian): magic "MAMBAKL1" (8 bytes), u32 n_vocab (the model's padded
// vocabulary), u32 ctx, u32 n_chunks, i32 tokens[n_chunks * ctx], then per chunk, per scored
// position (ctx - 1 of them), f32 log_softmax[n_vocab] of the base model's prediction.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "base/status.h"
#include "model/model.h"
#include "threading/thread_pool.h"

namespace mamba {

struct PerplexityOptions {
  int64_t ctx = 512;
  int64_t max_chunks = -1;   // -1: all full chunks
  std::string kl_base_path;  // with kl_compare false: written (the base model's log-probs)
  bool kl_compare = false;   // read kl_base_path and compare against it (tokens come from it)
};

struct PerplexityResult {
  int64_t n_chunks = 0;
  int64_t n_scored = 0;
  double ppl = 0, ppl_stderr = 0;  // exp(mean NLL), and its delta-method standard error
  // With kl_compare:
  double kl_mean = 0, kl_stderr = 0, kl_p99 = 0, kl_max = 0;
  double same_top1 = 0;  // fraction of positions whose argmax agrees with the base model's
};

// Running per-chunk figures: chunk index (from 0), chunk count, perplexity so far.
using ChunkCallback = std::function<void(int64_t chunk, int64_t n_chunks, double running_ppl)>;

// Evaluates `model` on `tokens` (ignored when opts.kl_compare: the base file's tokens are used).
// Errors: too few tokens for one chunk, base file unreadable / malformed / vocabulary mismatch.
StatusOr<PerplexityResult> EvaluatePerplexity(const Model& model, ThreadPool* pool,
                                              std::vector<int32_t> tokens,
                                              const PerplexityOptions& opts,
                                              const ChunkCallback& on_chunk = {});

}  // namespace mamba
