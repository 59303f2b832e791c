// SPDX-License-Identifier: MIT
// Finding a model's tokenizer and its generation token ids: tokenizer.json next to the weights,
// and bos/eos/pad ids from config.json and generation_config.json (the latter wins, as in
// Hugging Face transformers' generate()). Layer: tokenizer.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "tokenizer/tokenizer.h"

namespace mamba {

// Returns the tokenizer file for a model: `override_path` if non-empty (it must exist), else
// "tokenizer.json" in `model_path` when that is a directory, or next to it when it is a file
// (e.g. model.safetensors). NotFound names the paths tried.
StatusOr<std::string> FindTokenizerFile(const std::string& model_path,
                                        const std::string& override_path = "");

struct GenerationTokenIds {
  std::optional<int32_t> bos;
  std::vector<int32_t> eos;  // generation stops on any of these; may hold several ids
  std::optional<int32_t> pad;
};

// Reads bos_token_id, eos_token_id (an integer or a list of integers) and pad_token_id from
// config.json and then generation_config.json in `model_dir`; a key in generation_config.json
// replaces the same key from config.json, and null means absent. Missing files are fine; a file
// that is not valid JSON, or a key of the wrong type, is an InvalidArgument naming file and key.
StatusOr<GenerationTokenIds> ReadGenerationTokenIds(const std::string& model_dir);

// As ReadGenerationTokenIds, then fills what is still missing from the tokenizer: eos and bos
// default to the id of "<|endoftext|>" when the tokenizer has it (GPT-NeoX: 0). Ids outside the
// tokenizer's vocabulary are kept (a model may reserve them), not rejected.
StatusOr<GenerationTokenIds> LoadGenerationTokenIds(const std::string& model_dir,
                                                    const Tokenizer& tokenizer);

}  // namespace mamba
