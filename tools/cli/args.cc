// SPDX-License-Identifier: MIT
// mamba-cli option parsing (CLI11) and range checks with one-line messages.
#include "args.h"

#include <CLI/CLI.hpp>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string_view>

#include "model/model.h"
#include "threading/thread_pool.h"

namespace mamba::cli {
namespace {

std::string Num(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

// Returns "" when every value is in range, else the first complaint.
std::string CheckRanges(const CliOptions& o) {
  const SamplerParams& s = o.sampling;
  if (o.n_predict < -1)
    return "-n/--n-predict must be >= -1 (-1 = no limit), got " + Num(o.n_predict);
  if (!(s.temperature >= 0) || !std::isfinite(s.temperature)) {
    return "--temp must be >= 0 (0 = greedy), got " + Num(s.temperature);
  }
  if (!(s.top_p >= 0 && s.top_p <= 1)) return "--top-p must be in [0, 1], got " + Num(s.top_p);
  if (!(s.min_p >= 0 && s.min_p <= 1)) return "--min-p must be in [0, 1], got " + Num(s.min_p);
  if (!(s.repeat_penalty > 0) || !std::isfinite(s.repeat_penalty)) {
    return "--repeat-penalty must be > 0 (1 = off), got " + Num(s.repeat_penalty);
  }
  if (s.repeat_last_n < -1) {
    return "--repeat-last-n must be >= -1 (-1 = all, 0 = off), got " + Num(s.repeat_last_n);
  }
  if (!std::isfinite(s.presence_penalty)) return "--presence-penalty must be a finite number";
  if (!std::isfinite(s.frequency_penalty)) return "--frequency-penalty must be a finite number";
  if (o.threads < 1) return "-t/--threads must be >= 1, got " + Num(o.threads);
  for (const std::string& stop : o.stop) {
    if (stop.empty()) return "--stop needs a non-empty string";
  }
  return "";
}

}  // namespace

std::string ProcessEscapes(const std::string& text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\\' || i + 1 == text.size()) {
      out += text[i];
      continue;
    }
    // Escape letter -> the character it stands for.
    static constexpr std::string_view kFrom = "ntr\\\"'";
    static constexpr std::string_view kTo = "\n\t\r\\\"'";
    const char c = text[++i];
    if (const size_t k = kFrom.find(c); k != std::string_view::npos) {
      out += kTo[k];
    } else {
      out += '\\';
      out += c;
    }
  }
  return out;
}

ParseOutcome ParseArgs(int argc, char** argv, CliOptions& o, int& exit_code, std::string& error) {
  CLI::App app{"mamba-cli: run a Mamba language model on a prompt, or chat with it (-i)"};
  std::string prompt_file;
  o.threads = ThreadPool::DefaultThreadCount();
  SamplerParams& s = o.sampling;

  auto* m_opt = app.add_option("-m,--model", o.model_path,
                               "model directory, or weights file (.safetensors, "
                               ".safetensors.index.json, pytorch_model.bin)")
                    ->capture_default_str();
  app.add_option("-c,--config", o.config_path, "config.json (default: next to the weights)");
  app.add_flag("--no-mmap", o.no_mmap,
               "read the weights into memory instead of mapping them (slower load; decode then "
               "streams huge pages whatever state the page cache is in)");
  app.add_flag("--no-regroup,--no-repack", o.no_regroup, kNoRegroupHelp);
  auto* hf_opt = app.add_option("--hf", o.hf_repo,
                                "Hugging Face repo ORG/NAME: download it into the HF cache (or "
                                "reuse it) and run it, e.g. state-spaces/mamba-130m-hf");
  app.add_option("--hf-revision", o.hf_revision, "branch, tag or commit for --hf")
      ->capture_default_str();
  hf_opt->excludes(m_opt);
  app.add_option("--tokenizer", o.tokenizer_path,
                 "tokenizer.json (default: the one in the model directory)");
  auto* p_opt = app.add_option("-p,--prompt", o.prompt_text, "prompt text");
  auto* f_opt = app.add_option("-f,--file", prompt_file, "read the prompt from FILE (- = stdin)");
  auto* ids_opt =
      app.add_option("--prompt-ids", o.prompt_ids_text, "prompt as token ids, e.g. 1,2,3");
  p_opt->excludes(f_opt)->excludes(ids_opt);
  f_opt->excludes(ids_opt);
  app.add_flag("-i,--interactive", o.interactive,
               "chat: read a line, continue the model's state with it, generate; repeat");

  app.add_option("-n,--n-predict", o.n_predict,
                 "tokens to generate (per turn with -i; -1 = until EOS)")
      ->capture_default_str();
  app.add_option("--temp", s.temperature, "temperature (0 = greedy)")->capture_default_str();
  app.add_option("--top-k", s.top_k, "keep the K most likely tokens (<= 0 = off)")
      ->capture_default_str();
  app.add_option("--top-p", s.top_p, "nucleus sampling threshold in [0, 1] (1 = off)")
      ->capture_default_str();
  app.add_option("--min-p", s.min_p, "drop tokens below MIN_P x the top probability (0 = off)")
      ->capture_default_str();
  app.add_option("--repeat-penalty", s.repeat_penalty, "penalize repeated tokens (1 = off)")
      ->capture_default_str();
  app.add_option("--repeat-last-n", s.repeat_last_n,
                 "tokens of history the penalties look at (0 = off, -1 = all)")
      ->capture_default_str();
  app.add_option("--presence-penalty", s.presence_penalty, "subtracted once per seen token")
      ->capture_default_str();
  app.add_option("--frequency-penalty", s.frequency_penalty, "subtracted per occurrence")
      ->capture_default_str();
  auto* seed_opt = app.add_option("--seed", s.seed, "random seed (default: random)");
  app.add_flag("--ignore-eos", o.ignore_eos, "do not stop at the end-of-sequence token");
  app.add_option("--stop", o.stop,
                 "stop when the text reaches STR (repeatable; \\n, \\t escapes; not printed)")
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);

  app.add_flag("--print-ids", o.print_ids, "print generated token ids (one line) instead of text");
  app.add_option("--dump-logits", o.dump_logits_path,
                 "write the logits of every prompt position to FILE (float32 LE, "
                 "[n_prompt, vocab_padded])");
  app.add_option("-t,--threads", o.threads, "worker threads (default: physical cores)")
      ->capture_default_str();
  app.add_flag("--no-stats", o.no_stats, "do not print the timing summary");
  app.add_flag("--verbose", o.verbose, "print model information and the seed");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    exit_code = app.exit(e);
    return ParseOutcome::kExit;
  } catch (const CLI::ParseError& e) {
    exit_code = 1;
    error = std::string(e.what()) + " (see --help)";
    return ParseOutcome::kExit;
  }
  o.model_path_given = m_opt->count() > 0;
  o.seed_given = seed_opt->count() > 0;
  for (std::string& stop : o.stop) stop = ProcessEscapes(stop);
  if (std::string bad = CheckRanges(o); !bad.empty()) {
    exit_code = 1;
    error = bad;
    return ParseOutcome::kExit;
  }

  o.has_prompt_text = p_opt->count() > 0 || f_opt->count() > 0;
  if (f_opt->count() > 0) {
    std::ostringstream ss;
    if (prompt_file == "-") {
      ss << std::cin.rdbuf();
    } else {
      std::error_code ec;
      if (std::filesystem::is_directory(prompt_file, ec)) {
        exit_code = 1;
        error = "cannot read prompt file '" + prompt_file + "': it is a directory";
        return ParseOutcome::kExit;
      }
      std::ifstream in(prompt_file, std::ios::binary);
      if (!in) {
        exit_code = 1;
        error = "cannot read prompt file '" + prompt_file + "': " + std::strerror(errno);
        return ParseOutcome::kExit;
      }
      ss << in.rdbuf();
      if (in.bad()) {
        exit_code = 1;
        error = "cannot read prompt file '" + prompt_file + "'";
        return ParseOutcome::kExit;
      }
    }
    o.prompt_text = ss.str();
  }
  return ParseOutcome::kRun;
}

}  // namespace mamba::cli
