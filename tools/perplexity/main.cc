// SPDX-License-Identifier: MIT
// mamba-perplexity: perplexity of a model over a text file in non-overlapping chunks, and KL
// divergence against a saved base run (like llama-perplexity; see perplexity.h for the chunking
// and the base-file format).
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "model/model.h"
#include "perplexity.h"
#include "tokenizer/gguf_vocab.h"

int main(int argc, char** argv) {
  CLI::App app{
      "Perplexity of a Mamba model over a text, in non-overlapping chunks of CTX tokens (every\n"
      "token after a chunk's first is scored). KL divergence: run the base model with\n"
      "--kl-divergence-base FILE to save its log-probs, then the other model with\n"
      "--kl-divergence-base FILE --kl-divergence (the text then comes from FILE)."};
  std::string model_path, text_path, tokenizer_path;
  mamba::PerplexityOptions opts;
  int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  app.add_option("-m,--model", model_path, "model directory or weights file")->required();
  app.add_option("-f,--file", text_path, "text file to evaluate");
  app.add_option("--tokenizer", tokenizer_path, "tokenizer.json (default: the model's)");
  app.add_option("-c,--ctx-size", opts.ctx, "tokens per chunk")->capture_default_str();
  app.add_option("--chunks", opts.max_chunks, "at most this many chunks (-1: all)")
      ->capture_default_str();
  app.add_option("--kl-divergence-base", opts.kl_base_path,
                 "file of base log-probs: written, or read with --kl-divergence");
  app.add_flag("--kl-divergence", opts.kl_compare, "compare against --kl-divergence-base");
  app.add_option("-t,--threads", threads, "threads")->capture_default_str();
  bool no_mmap = false;
  app.add_flag("--no-mmap", no_mmap, "read the weights into memory instead of mapping them");
  bool no_regroup = false;
  app.add_flag("--no-regroup,--no-repack", no_regroup, mamba::kNoRegroupHelp);
  CLI11_PARSE(app, argc, argv);

  auto fail = [](const mamba::Status& s) {
    std::fprintf(stderr, "mamba-perplexity: %s\n", s.ToString().c_str());
    return 1;
  };
  if (opts.kl_compare && opts.kl_base_path.empty()) {
    std::fprintf(stderr, "mamba-perplexity: --kl-divergence needs --kl-divergence-base FILE\n");
    return 2;
  }
  if (!opts.kl_compare && text_path.empty()) {
    std::fprintf(stderr, "mamba-perplexity: -f TEXT is required\n");
    return 2;
  }
  auto model = mamba::Model::Load(
      model_path, "", no_mmap ? mamba::FileAccess::kRead : mamba::FileAccess::kMap, !no_regroup);
  if (!model.ok()) return fail(model.status());
  std::vector<int32_t> tokens;
  if (!opts.kl_compare) {
    auto tok =
        mamba::LoadTokenizerForModel(model_path, tokenizer_path, (*model)->checkpoint().gguf.get());
    if (!tok.ok()) return fail(tok.status());
    std::ifstream in(text_path, std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "mamba-perplexity: cannot read '%s'\n", text_path.c_str());
      return 1;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    tokens = tok->Encode(ss.str());
    std::fprintf(stderr, "%zu tokens, chunks of %lld\n", tokens.size(),
                 static_cast<long long>(opts.ctx));
  }
  mamba::ThreadPool pool(threads);
  auto r = mamba::EvaluatePerplexity(
      **model, &pool, std::move(tokens), opts, [](int64_t c, int64_t n, double ppl) {
        std::printf("[%lld/%lld] %.4f\n", static_cast<long long>(c + 1), static_cast<long long>(n),
                    ppl);
        std::fflush(stdout);
      });
  if (!r.ok()) return fail(r.status());
  std::printf("Final estimate: PPL = %.4f +/- %.4f (%lld chunks, %lld scored tokens)\n", r->ppl,
              r->ppl_stderr, static_cast<long long>(r->n_chunks),
              static_cast<long long>(r->n_scored));
  if (opts.kl_compare) {
    std::printf("Mean KLD: %.6f +/- %.6f\n", r->kl_mean, r->kl_stderr);
    std::printf("99.0%% KLD: %.6f\n", r->kl_p99);
    std::printf("Maximum KLD: %.6f\n", r->kl_max);
    std::printf("Same top p: %.3f %%\n", 100.0 * r->same_top1);
  }
  return 0;
}
