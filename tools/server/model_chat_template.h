// SPDX-License-Identifier: MIT
// Where a model keeps its own chat template, in the order transformers and llama.cpp look:
// chat_template.jinja in the model folder, tokenizer_config.json's "chat_template" (a string, or
// a list of {"name", "template"}: the one named "default", else the first), chat_template.json's
// "chat_template"; for a GGUF file its `tokenizer.chat_template` key. Also the texts of the BOS
// and EOS tokens that templates print (`bos_token`, `eos_token`).
#pragma once

#include <optional>
#include <string>

#include "base/status.h"
#include "io/gguf.h"
#include "tokenizer/model_files.h"
#include "tokenizer/tokenizer.h"

namespace mamba::server {

struct ModelChatTemplate {
  std::string source;  // the Jinja text
  std::string origin;  // e.g. "'m/tokenizer_config.json' chat_template"
};

// nullopt when the model carries none. InvalidArgument for a tokenizer_config.json that is not
// JSON or whose chat_template has the wrong shape.
StatusOr<std::optional<ModelChatTemplate>> FindModelChatTemplate(const std::string& model_dir,
                                                                 const GgufFile* gguf);

struct SpecialTokenTexts {
  std::string bos, eos;
};
// tokenizer_config.json's "bos_token"/"eos_token" (a string or {"content": ...}) when present,
// else the tokenizer's text of the BOS/EOS ids (`ids`, or a GGUF's tokenizer.ggml.*_token_id).
SpecialTokenTexts FindSpecialTokenTexts(const std::string& model_dir, const GgufFile* gguf,
                                        const Tokenizer& tokenizer, const GenerationTokenIds& ids);

}  // namespace mamba::server
