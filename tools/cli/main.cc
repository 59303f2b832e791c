// SPDX-License-Identifier: MIT
// mamba-cli: prompt in, text (or token ids) out, or an interactive chat with -i. Loads a
// checkpoint directory or weights file, prefills the prompt, then samples token by token,
// streaming the text to stdout; the timing summary goes to stderr.
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "args.h"
#include "cli_common.h"
#include "download/hub_download.h"
#include "download/progress_bar.h"
#include "engine/generate.h"
#include "engine/session.h"
#include "interactive.h"
#include "tokenizer/gguf_vocab.h"
#include "tokenizer/model_files.h"

namespace mamba::cli {
namespace {

using Clock = std::chrono::steady_clock;

double Since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

constexpr const char* kGetAModel =
    "pass -m DIR (a model folder or weights file), or download one with mamba-download / --hf "
    "state-spaces/mamba-130m-hf (see docs/cli.md)";

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

// Loads the model and, when there is one (or `need_tokenizer`), its tokenizer and EOS ids.
// Returns 0, or the exit code after printing the error.
int Load(CliOptions& o, bool need_tokenizer, Runtime& rt) {
  std::error_code ec;
  if (!o.hf_repo.empty()) {
    // Fetch config, weights and tokenizer into the Hugging Face cache (resuming, reusing what is
    // there), then run the snapshot directory like any model folder.
    DownloadOptions dl = DownloadOptionsFromEnv();
    dl.revision = o.hf_revision;
    mamba_tools::ProgressBar bar(/*enabled=*/true);
    dl.progress = [&](const std::string& f, uint64_t done, uint64_t total) {
      bar.Update(f, done, total);
    };
    StatusOr<std::string> dir = DownloadModel(o.hf_repo, dl);
    bar.Finish();
    if (!dir.ok()) return Fail(dir.status().message());
    o.model_path = *dir;
    o.model_path_given = true;
  }
  if (!std::filesystem::exists(o.model_path, ec)) {
    return Fail("no model at '" + o.model_path + "': " + kGetAModel);
  }
  const auto t0 = Clock::now();
  auto loaded = Model::Load(o.model_path, o.config_path,
                            o.no_mmap ? FileAccess::kRead : FileAccess::kMap, !o.no_regroup);
  if (!loaded.ok()) {
    std::string msg = loaded.status().ToString();
    if (!o.model_path_given && loaded.status().code() == StatusCode::kNotFound) {
      msg += " (" + std::string(kGetAModel) + ")";
    }
    return Fail(msg);
  }
  rt.model = std::move(loaded).value();
  rt.load_seconds = Since(t0);
  rt.eos_ids = {rt.model->config().eos_token_id};

  const std::string& dir = rt.model->checkpoint().dir;
  // --tokenizer, else tokenizer.json in the model folder, else a GGUF's own vocabulary.
  auto tok = LoadTokenizerForModel(dir, o.tokenizer_path, rt.model->checkpoint().gguf.get());
  if (!tok.ok()) {
    const bool none = tok.status().code() == StatusCode::kNotFound;
    if (none && !need_tokenizer && o.tokenizer_path.empty()) return 0;
    return Fail(tok.status().ToString());
  }
  rt.tokenizer.emplace(std::move(tok).value());
  auto ids = LoadGenerationTokenIds(dir, *rt.tokenizer);
  if (!ids.ok()) return Fail(ids.status().ToString());
  if (!ids->eos.empty()) rt.eos_ids = ids->eos;
  return 0;
}

void PrintModelInfo(const Runtime& rt, uint64_t seed) {
  const ModelConfig& cfg = rt.model->config();
  char arch_dims[96];
  if (cfg.arch == Arch::kMamba2) {
    std::snprintf(arch_dims, sizeof arch_dims, "headdim %lld, heads %lld, groups %lld",
                  (long long)cfg.headdim, (long long)(cfg.d_inner / cfg.headdim),
                  (long long)cfg.ngroups);
  } else {
    std::snprintf(arch_dims, sizeof arch_dims, "dt_rank %lld", (long long)cfg.dt_rank);
  }
  std::fprintf(stderr,
               "model: %s (%s), config %s\n  arch %s, d_model %lld, n_layer %lld, d_inner %lld, "
               "d_state %lld, d_conv %lld, %s, vocab %lld (padded %lld), tied head %s\n"
               "  tokenizer: %s, eos ids:",
               rt.model->checkpoint().weights_path.c_str(), rt.model->checkpoint().dir.c_str(),
               rt.model->checkpoint().config_path.c_str(), std::string(ArchName(cfg.arch)).c_str(),
               (long long)cfg.d_model, (long long)cfg.n_layer, (long long)cfg.d_inner,
               (long long)cfg.d_state, (long long)cfg.d_conv, arch_dims, (long long)cfg.vocab_size,
               (long long)cfg.vocab_padded, cfg.tie_embeddings ? "yes" : "no",
               rt.tokenizer ? "yes" : "none");
  for (int32_t id : rt.eos_ids) std::fprintf(stderr, " %d", id);
  std::fprintf(stderr, "\n  seed %llu\n", static_cast<unsigned long long>(seed));
  if (rt.model->regrouped_tensors() > 0) {
    std::fprintf(stderr,
                 "  %d quantized matrices regrouped for the kernels (--no-regroup keeps the file's "
                 "layout)\n",
                 rt.model->regrouped_tensors());
  }
}

void Write(std::string_view text) {
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
}

int Run(int argc, char** argv) {
  CliOptions o;
  int exit_code = 0;
  std::string error;
  if (ParseArgs(argc, argv, o, exit_code, error) == ParseOutcome::kExit) {
    return error.empty() ? exit_code : Fail(error);
  }
  std::vector<int32_t> prompt;
  const bool have_ids = !o.prompt_ids_text.empty();
  if (!o.interactive && !o.has_prompt_text && !have_ids) {
    return Fail("no prompt given (use -p TEXT, -f FILE, --prompt-ids 1,2,3, or -i to chat)");
  }
  if (have_ids && !ParseIds(o.prompt_ids_text, prompt, error)) return Fail(error);

  Runtime rt;
  if (int rc = Load(o, o.has_prompt_text || o.interactive, rt); rc != 0) return rc;
  if (o.has_prompt_text) {
    prompt = rt.tokenizer->Encode(o.prompt_text);
    if (prompt.empty() && !o.interactive) return Fail("the prompt is empty");
  }
  if (!o.stop.empty() && !rt.tokenizer) {
    return Fail("--stop needs a tokenizer (pass --tokenizer tokenizer.json)");
  }
  if (!o.seed_given) o.sampling.seed = std::random_device{}();
  auto sampler = Sampler::Create(o.sampling);
  if (!sampler.ok()) return Fail(sampler.status().message());
  if (o.verbose) PrintModelInfo(rt, o.sampling.seed);

  ThreadPool pool(o.threads);
  Session session(*rt.model, &pool);
  GenerateOptions gen;
  gen.n_predict = o.n_predict;
  gen.eos_ids = rt.eos_ids;
  gen.ignore_eos = o.ignore_eos;
  gen.stop = o.stop;
  if (o.interactive) {
    const std::string shown = o.has_prompt_text ? o.prompt_text : "";
    return RunInteractive(o, rt, session, *sampler, gen, prompt, shown);
  }

  // One shot. The prompt is prefilled here (not by Generate) so that --dump-logits can get the
  // logits of every position.
  std::vector<float> all_logits;
  const bool dump = !o.dump_logits_path.empty();
  const auto t_prompt = Clock::now();
  if (auto st = session.Prefill(prompt, dump ? &all_logits : nullptr); !st.ok()) {
    return Fail("prompt: " + st.ToString());
  }
  const double prompt_s = Since(t_prompt);
  if (dump) {
    std::ofstream out(o.dump_logits_path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(all_logits.data()),
              static_cast<std::streamsize>(all_logits.size() * sizeof(float)));
    if (!out) return Fail("'" + o.dump_logits_path + "': cannot write logits");
  }
  const bool print_text = rt.tokenizer.has_value() && !o.print_ids;
  if (print_text) {
    // Echo the prompt, as llama.cpp does, so the continuation reads in context.
    Write(o.has_prompt_text ? o.prompt_text : rt.tokenizer->Decode(prompt));
  }
  gen.feed_last_token = false;
  std::vector<int32_t> history = prompt;
  auto result = Generate(session, *sampler, rt.tokenizer ? &*rt.tokenizer : nullptr, {}, history,
                         gen, [&](int32_t id, std::string_view text) {
                           if (print_text) {
                             Write(text);
                           } else if (!o.print_ids) {
                             std::printf("%d ", id);
                             std::fflush(stdout);
                           }
                           return true;
                         });
  if (!result.ok()) return Fail(result.status().ToString());
  if (o.print_ids) {
    for (size_t i = 0; i < result->tokens.size(); ++i) {
      std::printf(i ? " %d" : "%d", result->tokens[i]);
    }
  }
  Write("\n");
  if (!o.no_stats) {
    PrintTimings(rt.load_seconds, static_cast<int64_t>(prompt.size()), prompt_s,
                 static_cast<int64_t>(result->tokens.size()), result->generate_seconds);
  }
  return 0;
}

}  // namespace
}  // namespace mamba::cli

int main(int argc, char** argv) { return mamba::cli::Run(argc, argv); }
