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
#pragma once

#include <string>
#include <vector>

namespace mamba::server {

struct ChatMessage {
  std::string role;  // "system", "user", "assistant" (others are rendered with their name)
  std::string content;
};

// Renders `messages` with the default template.
std::string RenderDefaultChat(const std::vector<ChatMessage>& messages);

// Stop strings the default template adds to every chat request.
std::vector<std::string> DefaultChatStops();

}  // namespace mamba::server
