// SPDX-License-Identifier: MIT
// The tokenizer stored in a GGUF's `tokenizer.ggml.*` metadata (llama.cpp's "gpt2" byte-level
// BPE, as every Mamba GGUF carries), and the reverse: those keys from a tokenizer.json. Also the
// one place that decides which tokenizer a model uses. Layer: tokenizer.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"
#include "io/gguf.h"
#include "tokenizer/tokenizer.h"

namespace mamba {

// Builds the tokenizer described by `gguf`'s metadata: tokenizer.ggml.model must be "gpt2";
// tokenizer.ggml.pre "gpt-2" or "olmo" (both the GPT-2 split pattern) or absent; tokens
// (ARRAY of STRING), token_type (ARRAY of INT32, optional: all normal), merges (ARRAY of
// STRING "a b"). Equivalent to the tokenizer.json the converter read, for GPT-NeoX-style ones:
// byte-level BPE with the GPT-2 pattern and NFC; token_type 3 (control) becomes a special added
// token, 4 (user-defined) a normalized non-special added token, 5 (unused, e.g. the converter's
// [PAD<i>] rows) is left out. Errors name the file and the key (and the index) at fault.
StatusOr<Tokenizer> TokenizerFromGguf(const GgufFile& gguf);

// The tokenizer.ggml.* keys for `tokenizer_json_text` as llama.cpp's converter writes them for
// a GPT-NeoX-style tokenizer.json: model "gpt2", pre "olmo" (the converter's name for the
// GPT-NeoX-20B pre-tokenizer), tokens by id padded with "[PAD<i>]" (type 5) up to
// `vocab_padded` rows, token_type (3 special added, 4 other added, 1 normal), merges.
// `name` is used in error messages.
StatusOr<std::vector<std::pair<std::string, GgufValue>>> GgufTokenizerMetadata(
    std::string_view tokenizer_json_text, const std::string& name, int64_t vocab_padded);

// The tokenizer for a model, in this order: `override_path` (a tokenizer.json) when non-empty;
// tokenizer.json next to / inside `model_path` (see FindTokenizerFile); else, when `gguf` is
// non-null, the GGUF's own vocabulary. NotFound when none applies.
StatusOr<Tokenizer> LoadTokenizerForModel(const std::string& model_path,
                                          const std::string& override_path, const GgufFile* gguf);

}  // namespace mamba
