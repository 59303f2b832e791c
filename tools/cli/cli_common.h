// SPDX-License-Identifier: MIT
// What mamba-cli's one-shot and interactive modes share: the loaded model with its tokenizer and
// end-of-sequence ids, error and timing output.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "model/model.h"
#include "tokenizer/tokenizer.h"

namespace mamba::cli {

struct Runtime {
  std::unique_ptr<Model> model;
  std::optional<Tokenizer> tokenizer;  // absent when the model has none and none was asked for
  std::vector<int32_t> eos_ids;
  double load_seconds = 0;
};

// Prints "mamba-cli: error: <msg>" on stderr and returns 1 (the exit code).
int Fail(const std::string& msg);

// Timing summary on stderr, in llama.cpp's layout (load, prompt eval, eval, total).
void PrintTimings(double load_s, int64_t n_prompt, double prompt_s, int64_t n_gen, double gen_s);

}  // namespace mamba::cli
