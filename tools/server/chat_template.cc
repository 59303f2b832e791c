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
  t.origin = name;
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

StatusOr<ChatTemplate> ChatTemplate::FromJinja(std::string_view source, const std::string& origin,
                                               std::string bos_token, std::string eos_token) {
  auto parsed = jinja::Template::Parse(source);
  if (!parsed.ok()) return InvalidArgumentError(origin + ": " + parsed.status().message());
  ChatTemplate t;
  t.origin = origin;
  t.jinja = std::make_shared<const jinja::Template>(std::move(parsed).value());
  t.bos_token = std::move(bos_token);
  t.eos_token = std::move(eos_token);
  t.stop.clear();
  return t;
}

StatusOr<ChatTemplate> ChatTemplate::FromJinjaFile(const std::string& path, std::string bos_token,
                                                   std::string eos_token) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return IoError("'" + path + "': cannot open the chat template");
  std::ostringstream text;
  text << in.rdbuf();
  return FromJinja(text.str(), "'" + path + "'", std::move(bos_token), std::move(eos_token));
}

StatusOr<std::string> ChatTemplate::Render(const std::vector<ChatMessage>& messages) const {
  if (jinja) {
    jinja::Json list = jinja::Json::array();
    for (const ChatMessage& m : messages) list.push_back({{"role", m.role}, {"content", m.content}});
    const jinja::Json context = {{"messages", std::move(list)},
                                 {"tools", nullptr},
                                 {"documents", nullptr},
                                 {"add_generation_prompt", true},
                                 {"bos_token", bos_token},
                                 {"eos_token", eos_token}};
    auto out = jinja->Render(context);
    if (!out.ok()) return InvalidArgumentError("chat template: " + out.status().message());
    return out;
  }
  std::string out;
  for (const ChatMessage& m : messages) {
    const std::string& format = m.role == "system"      ? system
                                : m.role == "user"      ? user
                                : m.role == "assistant" ? assistant
                                                        : other;
    out += Fill(format, m);
  }
  return StatusOr<std::string>(out + generation_prompt);
}

}  // namespace mamba::server
