// SPDX-License-Identifier: MIT
// mamba-cli: prompt in, text (or token ids) out. Loads a checkpoint directory or weights file,
// prefills the prompt, then generates token by token.
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <algorithm>
#include <cmath>
#include <fstream>
#include <iostream>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "engine/session.h"
#include "kernels/elementwise.h"
#include "model/model.h"
#include "tokenizer/model_files.h"
#include "tokenizer/tokenizer.h"

namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

int Fail(const std::string& msg) {
  std::fprintf(stderr, "mamba-cli: error: %s\n", msg.c_str());
  return 1;
}

// "1,2,3" or "1 2 3" -> ids. Returns false with a message on anything else.
bool ParseIds(const std::string& text, std::vector<int32_t>& ids, std::string& error) {
  std::string s = text;
  for (char& c : s) {
    if (c == ',') c = ' ';
  }
  std::istringstream in(s);
  std::string tok;
  while (in >> tok) {
    char* end = nullptr;
    errno = 0;
    const long long v = std::strtoll(tok.c_str(), &end, 10);
    if (end == tok.c_str() || *end != '\0' || errno != 0 || v < 0 || v > INT32_MAX) {
      error = "--prompt-ids: '" + tok + "' is not a non-negative token id";
      return false;
    }
    ids.push_back(static_cast<int32_t>(v));
  }
  if (ids.empty()) {
    error = "--prompt-ids: no token ids given";
    return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"mamba-cli: run a Mamba language model on a prompt"};
  std::string model_path = "models";
  std::string config_path;
  std::string prompt_ids_text;
  std::string prompt_text;
  std::string prompt_file;
  std::string tokenizer_path;
  std::string dump_logits_path;
  int n_predict = 64;
  float temp = 0.0f;
  uint64_t seed = 0;
  bool seed_set = false;
  bool ignore_eos = false;
  bool print_ids = false;
  bool no_stats = false;
  bool verbose = false;
  int threads = mamba::ThreadPool::DefaultThreadCount();

  app.add_option("-m,--model", model_path,
                 "model directory, or weights file (.safetensors, .safetensors.index.json, "
                 "pytorch_model.bin)")
      ->capture_default_str();
  app.add_option("-c,--config", config_path, "config.json (default: next to the weights)");
  auto* p_opt = app.add_option("-p,--prompt", prompt_text, "prompt text");
  auto* f_opt = app.add_option("-f,--file", prompt_file, "read the prompt from FILE (- = stdin)");
  auto* ids_opt = app.add_option("--prompt-ids", prompt_ids_text, "prompt as token ids, e.g. 1,2,3");
  p_opt->excludes(f_opt)->excludes(ids_opt);
  f_opt->excludes(ids_opt);
  app.add_option("--tokenizer", tokenizer_path,
                 "tokenizer.json (default: the one in the model directory)");
  app.add_option("--dump-logits", dump_logits_path,
                 "write the logits of every prompt position to FILE (float32 LE, "
                 "[n_prompt, vocab_padded])");
  app.add_option("-n,--n-predict", n_predict, "number of tokens to generate")->capture_default_str();
  app.add_option("--temp", temp, "sampling temperature (0 = greedy)")->capture_default_str();
  auto* seed_opt = app.add_option("--seed", seed, "random seed for sampling");
  app.add_flag("--ignore-eos", ignore_eos, "do not stop at the end-of-sequence token");
  app.add_flag("--print-ids", print_ids, "print generated token ids (one line) instead of text");
  app.add_option("-t,--threads", threads, "worker threads (default: physical cores)")
      ->capture_default_str();
  app.add_flag("--no-stats", no_stats, "do not print the timing summary");
  app.add_flag("--verbose", verbose, "print model information");
  CLI11_PARSE(app, argc, argv);
  seed_set = seed_opt->count() > 0;

  if (n_predict < 0) return Fail("-n must be >= 0");
  if (!(temp >= 0.0f)) return Fail("--temp must be >= 0");
  std::vector<int32_t> prompt;
  std::string error;
  const bool text_prompt = p_opt->count() > 0 || f_opt->count() > 0;
  if (!text_prompt) {
    if (prompt_ids_text.empty()) return Fail("no prompt given (use -p TEXT, -f FILE or --prompt-ids)");
    if (!ParseIds(prompt_ids_text, prompt, error)) return Fail(error);
  } else if (f_opt->count() > 0) {
    std::ostringstream ss;
    if (prompt_file == "-") {
      ss << std::cin.rdbuf();
    } else {
      std::ifstream in(prompt_file, std::ios::binary);
      if (!in) return Fail("'" + prompt_file + "': cannot open prompt file");
      ss << in.rdbuf();
    }
    prompt_text = ss.str();
  }

  const auto t_load0 = Clock::now();
  auto loaded = mamba::Model::Load(model_path, config_path);
  if (!loaded.ok()) return Fail(loaded.status().ToString());
  std::unique_ptr<mamba::Model> model = std::move(loaded).value();
  const auto t_load1 = Clock::now();
  const mamba::ModelConfig& cfg = model->config();

  // The tokenizer: required for a text prompt, used for text output when present.
  std::optional<mamba::Tokenizer> tokenizer;
  std::vector<int32_t> eos_ids = {cfg.eos_token_id};
  {
    auto tok_file = mamba::FindTokenizerFile(model->checkpoint().dir, tokenizer_path);
    if (tok_file.ok()) {
      auto tok = mamba::Tokenizer::FromFile(*tok_file);
      if (!tok.ok()) return Fail(tok.status().ToString());
      tokenizer.emplace(std::move(tok).value());
      auto ids = mamba::LoadGenerationTokenIds(model->checkpoint().dir, *tokenizer);
      if (!ids.ok()) return Fail(ids.status().ToString());
      if (!ids->eos.empty()) eos_ids = ids->eos;
    } else if (text_prompt || !tokenizer_path.empty()) {
      return Fail(tok_file.status().ToString());
    }
  }
  if (text_prompt) {
    prompt = tokenizer->Encode(prompt_text);
    if (prompt.empty()) return Fail("the prompt is empty");
  }
  const bool print_text = tokenizer.has_value() && !print_ids;
  if (verbose) {
    std::fprintf(stderr,
                 "model: %s (%s), config %s\n  arch %s, d_model %lld, n_layer %lld, d_inner %lld, "
                 "d_state %lld, d_conv %lld, dt_rank %lld, vocab %lld (padded %lld), tied head %s\n",
                 model->checkpoint().weights_path.c_str(),
                 model->checkpoint().dir.c_str(), model->checkpoint().config_path.c_str(),
                 std::string(mamba::ArchName(cfg.arch)).c_str(), (long long)cfg.d_model,
                 (long long)cfg.n_layer, (long long)cfg.d_inner, (long long)cfg.d_state,
                 (long long)cfg.d_conv, (long long)cfg.dt_rank, (long long)cfg.vocab_size,
                 (long long)cfg.vocab_padded, cfg.tie_embeddings ? "yes" : "no");
  }

  mamba::ThreadPool pool(threads);
  mamba::Session session(*model, &pool);
  std::vector<float> all_logits;
  const bool dump = !dump_logits_path.empty();
  const auto t_prompt0 = Clock::now();
  if (auto st = session.Prefill(prompt, dump ? &all_logits : nullptr); !st.ok()) {
    return Fail("prompt: " + st.ToString());
  }
  const auto t_prompt1 = Clock::now();
  if (dump) {
    std::ofstream out(dump_logits_path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(all_logits.data()),
              static_cast<std::streamsize>(all_logits.size() * sizeof(float)));
    if (!out) return Fail("'" + dump_logits_path + "': cannot write logits");
  }

  std::mt19937_64 rng(seed_set ? seed : std::random_device{}());
  std::vector<int32_t> generated;
  const int64_t vocab = cfg.vocab_padded;
  std::optional<mamba::StreamDecoder> stream;
  if (print_text) {
    stream.emplace(*tokenizer);
    // Echo the prompt, as llama.cpp does, so the continuation reads in context.
    const std::string shown = text_prompt ? prompt_text : tokenizer->Decode(prompt);
    std::fwrite(shown.data(), 1, shown.size(), stdout);
    std::fflush(stdout);
  }
  const auto t_gen0 = Clock::now();
  for (int i = 0; i < n_predict; ++i) {
    std::span<const float> logits = session.logits();
    int32_t token;
    if (temp == 0.0f) {
      token = static_cast<int32_t>(mamba::ArgMax(logits.data(), vocab));
    } else {
      // Plain temperature sampling over the real vocabulary.
      const int64_t n = std::min<int64_t>(cfg.vocab_size, vocab);
      std::vector<double> p(static_cast<size_t>(n));
      double max_logit = logits[0];
      for (int64_t j = 1; j < n; ++j) max_logit = std::max<double>(max_logit, logits[j]);
      for (int64_t j = 0; j < n; ++j) p[j] = std::exp((logits[j] - max_logit) / temp);
      std::discrete_distribution<int32_t> dist(p.begin(), p.end());
      token = dist(rng);
    }
    generated.push_back(token);
    const bool is_eos = std::find(eos_ids.begin(), eos_ids.end(), token) != eos_ids.end();
    if (!ignore_eos && is_eos) break;
    if (print_text) {
      const std::string piece = stream->Push(token);
      std::fwrite(piece.data(), 1, piece.size(), stdout);
      std::fflush(stdout);
    } else if (!print_ids) {
      std::printf("%d ", token);
      std::fflush(stdout);
    }
    if (i + 1 < n_predict) {
      if (auto st = session.Decode(token); !st.ok()) return Fail(st.ToString());
    }
  }
  const auto t_gen1 = Clock::now();
  if (print_ids) {
    for (size_t i = 0; i < generated.size(); ++i) std::printf(i ? " %d" : "%d", generated[i]);
  } else if (print_text) {
    const std::string rest = stream->Flush();
    std::fwrite(rest.data(), 1, rest.size(), stdout);
  }
  std::printf("\n");
  std::fflush(stdout);

  if (!no_stats) {
    const double load_s = Seconds(t_load0, t_load1);
    const double prompt_s = Seconds(t_prompt0, t_prompt1);
    const double gen_s = Seconds(t_gen0, t_gen1);
    std::fprintf(stderr, "load time   = %8.2f ms\n", load_s * 1e3);
    std::fprintf(stderr, "prompt eval = %8.2f ms / %5zu tokens (%8.2f tokens per second)\n",
                 prompt_s * 1e3, prompt.size(), prompt.size() / std::max(prompt_s, 1e-9));
    std::fprintf(stderr, "generation  = %8.2f ms / %5zu tokens (%8.2f tokens per second)\n",
                 gen_s * 1e3, generated.size(), generated.size() / std::max(gen_s, 1e-9));
  }
  return 0;
}
