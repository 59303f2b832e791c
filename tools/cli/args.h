// SPDX-License-Identifier: MIT
// mamba-cli's command line: the options, their defaults (llama.cpp's sampling defaults) and their
// validation. Parsing prints --help itself; every other problem comes back as one error line.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sampling/sampler.h"

namespace mamba::cli {

struct CliOptions {
  // Model selection.
  std::string model_path = "models";
  bool model_path_given = false;
  std::string config_path;
  bool no_mmap = false;     // --no-mmap: FileAccess::kRead
  bool no_regroup = false;  // --no-regroup: Model::Load(..., regroup_weights = false)
  std::string hf_repo;      // --hf ORG/NAME: download (or reuse from the HF cache) and run it
  std::string hf_revision = "main";
  std::string tokenizer_path;
  // Prompt: at most one of the three.
  bool has_prompt_text = false;  // -p or -f
  std::string prompt_text;       // -p, or the contents of -f
  std::string prompt_ids_text;   // --prompt-ids, unparsed
  // Generation.
  int32_t n_predict = 64;  // -1 = until EOS or a stop string
  SamplerParams sampling;  // seed: see seed_given
  bool seed_given = false;
  bool ignore_eos = false;
  std::vector<std::string> stop;  // escapes (\n, \t, \\) already processed
  // Output.
  bool print_ids = false;
  std::string dump_logits_path;
  bool no_stats = false;
  bool verbose = false;
  bool interactive = false;
  int threads = 1;
};

enum class ParseOutcome { kRun, kExit };

// Parses argv into `options`. Returns kRun to go on; kExit with `exit_code` set when the program
// should end now: after --help (code 0) or on an error, with `error` holding one line such as
// "--top-p must be in [0, 1], got 2" (code 1). Reads the -f file (or stdin for "-").
ParseOutcome ParseArgs(int argc, char** argv, CliOptions& options, int& exit_code,
                       std::string& error);

// "a\nb" written with a backslash -> the real newline; also \t, \r, \\, \", \'. Unknown escapes
// are kept as written.
std::string ProcessEscapes(const std::string& text);

}  // namespace mamba::cli
