// SPDX-License-Identifier: MIT
// Chunked perplexity and KL divergence against a saved base run (see perplexity.h).
#include "perplexity.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <span>

#include "engine/session.h"

namespace mamba {
namespace {

constexpr char kMagic[8] = {'M', 'A', 'M', 'B', 'A', 'K', 'L', '1'};

// log_softmax of `row` (n values) into `out`; returns nothing.
void LogSoftmax(const float* row, int64_t n, float* out) {
  double mx = row[0];
  for (int64_t j = 1; j < n; ++j) mx = std::max<double>(mx, row[j]);
  double sum = 0;
  for (int64_t j = 0; j < n; ++j) sum += std::exp(row[j] - mx);
  const double lse = mx + std::log(sum);
  for (int64_t j = 0; j < n; ++j) out[j] = static_cast<float>(row[j] - lse);
}

int64_t ArgMax(const float* x, int64_t n) { return std::max_element(x, x + n) - x; }

void PutU32(std::ofstream& f, uint32_t v) { f.write(reinterpret_cast<const char*>(&v), 4); }
bool GetU32(std::ifstream& f, uint32_t* v) {
  return static_cast<bool>(f.read(reinterpret_cast<char*>(v), 4));
}

}  // namespace

StatusOr<PerplexityResult> EvaluatePerplexity(const Model& model, ThreadPool* pool,
                                              std::vector<int32_t> tokens,
                                              const PerplexityOptions& opts,
                                              const ChunkCallback& on_chunk) {
  const int64_t vocab = model.config().vocab_padded;
  int64_t ctx = opts.ctx;
  std::ifstream base_in;
  std::ofstream base_out;
  int64_t n_chunks = 0;
  const std::string& bp = opts.kl_base_path;
  if (opts.kl_compare) {
    base_in.open(bp, std::ios::binary);
    if (!base_in) return NotFoundError("'" + bp + "': cannot open the KL base file");
    char magic[8];
    uint32_t nv = 0, c = 0, nc = 0;
    if (!base_in.read(magic, 8) || std::memcmp(magic, kMagic, 8) != 0 || !GetU32(base_in, &nv) ||
        !GetU32(base_in, &c) || !GetU32(base_in, &nc) || c < 2 || nc < 1) {
      return InvalidArgumentError("'" + bp + "': not a mamba-perplexity KL base file");
    }
    if (nv != vocab) {
      return InvalidArgumentError("'" + bp + "': vocabulary of " + std::to_string(nv) +
                                  " rows, the model has " + std::to_string(vocab));
    }
    // The size must match the header exactly (also guards the allocations below).
    std::error_code ec;
    const uintmax_t size = std::filesystem::file_size(bp, ec);
    const double want = 20.0 + 4.0 * c * nc + 4.0 * static_cast<double>(vocab) * (c - 1) * nc;
    if (ec || static_cast<double>(size) != want) {
      return InvalidArgumentError("'" + bp + "': size does not match its header (ctx " +
                                  std::to_string(c) + ", " + std::to_string(nc) + " chunks)");
    }
    ctx = c;
    n_chunks = nc;
    tokens.resize(static_cast<size_t>(ctx * n_chunks));
    if (!base_in.read(reinterpret_cast<char*>(tokens.data()), tokens.size() * 4)) {
      return InvalidArgumentError("'" + bp + "': truncated token list");
    }
  } else {
    if (ctx < 2) return InvalidArgumentError("context must be at least 2 tokens");
    n_chunks = static_cast<int64_t>(tokens.size()) / ctx;
    if (opts.max_chunks >= 0) n_chunks = std::min(n_chunks, opts.max_chunks);
    if (n_chunks < 1) {
      return InvalidArgumentError("need at least " + std::to_string(ctx) + " tokens, have " +
                                  std::to_string(tokens.size()));
    }
    if (!bp.empty()) {
      base_out.open(bp, std::ios::binary | std::ios::trunc);
      if (!base_out) return IoError("'" + bp + "': cannot create the KL base file");
      base_out.write(kMagic, 8);
      PutU32(base_out, static_cast<uint32_t>(vocab));
      PutU32(base_out, static_cast<uint32_t>(ctx));
      PutU32(base_out, static_cast<uint32_t>(n_chunks));
      base_out.write(reinterpret_cast<const char*>(tokens.data()), n_chunks * ctx * 4);
    }
  }

  PerplexityResult r;
  r.n_chunks = n_chunks;
  Session session(model, pool);
  std::vector<float> logits, lp(static_cast<size_t>(vocab)), base(static_cast<size_t>(vocab));
  double nll_sum = 0, nll_sq = 0, kl_sum = 0, kl_sq = 0;
  int64_t same = 0;
  std::vector<double> kls;
  for (int64_t c = 0; c < n_chunks; ++c) {
    session.Reset();
    std::span<const int32_t> chunk(tokens.data() + c * ctx, static_cast<size_t>(ctx));
    MAMBA_RETURN_IF_ERROR(session.Prefill(chunk, &logits));
    for (int64_t i = 0; i + 1 < ctx; ++i) {
      LogSoftmax(&logits[i * vocab], vocab, lp.data());
      const double nll = -lp[chunk[i + 1]];
      nll_sum += nll;
      nll_sq += nll * nll;
      ++r.n_scored;
      if (base_out.is_open()) base_out.write(reinterpret_cast<const char*>(lp.data()), vocab * 4);
      if (opts.kl_compare) {
        if (!base_in.read(reinterpret_cast<char*>(base.data()), vocab * 4)) {
          return InvalidArgumentError("'" + bp + "': truncated log-probabilities");
        }
        double kl = 0;
        for (int64_t j = 0; j < vocab; ++j) {
          kl += std::exp(static_cast<double>(base[j])) * (static_cast<double>(base[j]) - lp[j]);
        }
        kl = std::max(kl, 0.0);
        kl_sum += kl;
        kl_sq += kl * kl;
        kls.push_back(kl);
        if (ArgMax(base.data(), vocab) == ArgMax(lp.data(), vocab)) ++same;
      }
    }
    if (on_chunk) on_chunk(c, n_chunks, std::exp(nll_sum / r.n_scored));
  }
  if (base_out.is_open() && !base_out.flush()) {
    return IoError("'" + bp + "': write failed");
  }
  const double n = static_cast<double>(r.n_scored);
  const double mean = nll_sum / n;
  const double var = std::max(0.0, nll_sq / n - mean * mean);
  r.ppl = std::exp(mean);
  r.ppl_stderr = n > 1 ? r.ppl * std::sqrt(var / (n - 1)) : 0;
  if (opts.kl_compare) {
    r.kl_mean = kl_sum / n;
    const double kvar = std::max(0.0, kl_sq / n - r.kl_mean * r.kl_mean);
    r.kl_stderr = n > 1 ? std::sqrt(kvar / (n - 1)) : 0;
    std::sort(kls.begin(), kls.end());
    r.kl_p99 = kls[std::min(kls.size() - 1, static_cast<size_t>(0.99 * (kls.size() - 1) + 0.5))];
    r.kl_max = kls.back();
    r.same_top1 = static_cast<double>(same) / n;
  }
  return r;
}

}  // namespace mamba
