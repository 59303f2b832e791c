// SPDX-License-Identifier: MIT
// The chat template of mamba-server: how a list of chat messages becomes a prompt for a base
// model. The default (documented in docs/server.md) is a plain transcript:
//
//   {system content}\n\n            (each system message, if any)
//   User: {content}\n\n             (each user message)
//   Assistant: {content}\n\n        (each earlier assistant message)
//   Assistant:                      (the cue the model continues)
//
// and generation also stops at "\nUser:" so that the model does not write the user's next turn.
// `--chat-template FILE` replaces it with a JSON file of the same parts (see FromJson).
// A Jinja template (the model's own from tokenizer_config.json / chat_template.jinja / GGUF, or
// `--chat-template-file FILE`) replaces the parts altogether (see FromJinja).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "server/jinja/jinja.h"

namespace mamba::server {

struct ChatMessage {
  std::string role;  // "system", "user", "assistant" (others use `other`)
  std::string content;
};

struct ChatTemplate {
  // Per-message formats; "{content}" is replaced by the message text, "{role}" by its role.
  std::string system = "{content}\n\n";
  std::string user = "User: {content}\n\n";
  std::string assistant = "Assistant: {content}\n\n";
  std::string other = "{role}: {content}\n\n";
  std::string generation_prompt = "Assistant:";  // appended after the last message
  std::vector<std::string> stop = {"\nUser:"};   // added to every chat request's stop strings

  // Reads a JSON object with any of the keys "system", "user", "assistant", "other",
  // "generation_prompt" (strings) and "stop" (array of strings); missing keys keep the default.
  // InvalidArgument names `name` and the key for bad JSON or a wrong type.
  static StatusOr<ChatTemplate> FromJson(std::string_view text, const std::string& name);
  // FromJson on the contents of `path` (IoError when unreadable).
  static StatusOr<ChatTemplate> FromFile(const std::string& path);

  // A Jinja chat template as Hugging Face transformers renders it: variables `messages` (list of
  // {role, content}), `add_generation_prompt` (true), `bos_token`, `eos_token`, `tools` and
  // `documents` (none). No stop strings are added. `origin` names it in messages. Syntax errors
  // are InvalidArgument "ORIGIN: line L, column C: ...".
  static StatusOr<ChatTemplate> FromJinja(std::string_view source, const std::string& origin,
                                          std::string bos_token, std::string eos_token);
  // FromJinja on the contents of `path`.
  static StatusOr<ChatTemplate> FromJinjaFile(const std::string& path, std::string bos_token,
                                              std::string eos_token);

  // The prompt for `messages`. A Jinja template can fail (raise_exception("Conversation roles
  // must alternate ..."), a missing field): InvalidArgument with its message.
  StatusOr<std::string> Render(const std::vector<ChatMessage>& messages) const;

  // What renders the prompt: "default", the JSON file, or the Jinja template's origin.
  std::string origin = "default";
  std::shared_ptr<const jinja::Template> jinja;  // set: the parts above are unused
  std::string bos_token, eos_token;              // the Jinja variables of the same names
};

}  // namespace mamba::server
