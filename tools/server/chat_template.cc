// SPDX-License-Identifier: MIT
// ChatTemplate: rendering and the JSON template file.
#include "chat_template.h"

#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>

namespace mamba::server {
namespace {

// `format` with every "{content}" and "{role}" replaced.
std::string Fill(const std::string& format, const ChatMessage& m) {
  std::string out;
  for (size_t i = 0; i < format.size();) {
    if (format.compare(i, 9, "{content}") == 0) {
      out += m.content;
      i += 9;
    } else if (format.compare(i, 6, "{role}") == 0) {
      out += m.role;
      i += 6;
    } else {
      out += format[i++];
    }
  }
  return out;
}

}  // namespace

StatusOr<ChatTemplate> ChatTemplate::FromJson(std::string_view text, const std::string& name) {
  using json = nlohmann::json;
  const json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return InvalidArgumentError("'" + name + "': a chat template must be a JSON object");
  }
  ChatTemplate t;
  for (auto [key, field] : {std::pair<const char*, std::string*>{"system", &t.system},
                            {"user", &t.user},
                            {"assistant", &t.assistant},
                            {"other", &t.other},
                            {"generation_prompt", &t.generation_prompt}}) {
    auto it = j.find(key);
    if (it == j.end()) continue;
    if (!it->is_string()) {
      return InvalidArgumentError("'" + name + "': key '" + key + "' must be a string");
    }
    *field = it->get<std::string>();
  }
  if (auto it = j.find("stop"); it != j.end()) {
    t.stop.clear();
    if (!it->is_array()) {
      return InvalidArgumentError("'" + name + "': key 'stop' must be an array of strings");
    }
    for (const json& s : *it) {
      if (!s.is_string()) {
        return InvalidArgumentError("'" + name + "': key 'stop' must be an array of strings");
      }
      t.stop.push_back(s.get<std::string>());
    }
  }
  return t;
}

StatusOr<ChatTemplate> ChatTemplate::FromFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return IoError("'" + path + "': cannot open the chat template");
  std::ostringstream text;
  text << in.rdbuf();
  return FromJson(text.str(), path);
}

std::string ChatTemplate::Render(const std::vector<ChatMessage>& messages) const {
  std::string out;
  for (const ChatMessage& m : messages) {
    const std::string& format = m.role == "system"      ? system
                                : m.role == "user"      ? user
                                : m.role == "assistant" ? assistant
                                                        : other;
    out += Fill(format, m);
  }
  return out + generation_prompt;
}

}  // namespace mamba::server
