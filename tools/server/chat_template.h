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
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

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

  // The prompt for `messages`.
  std::string Render(const std::vector<ChatMessage>& messages) const;
};

}  // namespace mamba::server
