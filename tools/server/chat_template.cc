// SPDX-License-Identifier: MIT
// The default chat template (see chat_template.h).
#include "chat_template.h"

#include <cctype>

namespace mamba::server {

std::string RenderDefaultChat(const std::vector<ChatMessage>& messages) {
  std::string out;
  for (const ChatMessage& m : messages) {
    if (m.role == "system") {
      out += m.content;
    } else if (m.role == "user") {
      out += "User: " + m.content;
    } else if (m.role == "assistant") {
      out += "Assistant: " + m.content;
    } else {
      std::string name = m.role;
      if (!name.empty())
        name[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(name[0])));
      out += name + ": " + m.content;
    }
    out += "\n\n";
  }
  out += "Assistant:";
  return out;
}

std::vector<std::string> DefaultChatStops() { return {"\nUser:"}; }

}  // namespace mamba::server
