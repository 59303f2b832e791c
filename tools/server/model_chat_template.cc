// SPDX-License-Identifier: MIT
// FindModelChatTemplate / FindSpecialTokenTexts.
#include "model_chat_template.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace mamba::server {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

std::optional<std::string> ReadText(const fs::path& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return std::nullopt;
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// The chat_template value of a tokenizer_config.json / chat_template.json object.
StatusOr<std::optional<std::string>> TemplateField(const json& j, const std::string& name) {
  auto it = j.find("chat_template");
  if (it == j.end() || it->is_null()) return std::optional<std::string>();
  if (it->is_string()) return std::optional<std::string>(it->get<std::string>());
  if (it->is_array() && !it->empty()) {
    const json* chosen = nullptr;
    for (const json& t : *it) {
      if (!t.is_object() || !t.contains("template") || !t["template"].is_string()) {
        return InvalidArgumentError("'" + name +
                                    "': chat_template entries must be {\"name\", \"template\"}");
      }
      if (chosen == nullptr || t.value("name", "") == "default") {
        if (chosen == nullptr || (*chosen).value("name", "") != "default") chosen = &t;
      }
    }
    return std::optional<std::string>((*chosen)["template"].get<std::string>());
  }
  return InvalidArgumentError("'" + name +
                              "': chat_template must be a string or a list of templates");
}

StatusOr<json> ReadJsonObject(const fs::path& path, bool* found) {
  *found = false;
  auto text = ReadText(path);
  if (!text) return json::object();
  *found = true;
  json j = json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return InvalidArgumentError("'" + path.string() + "': not a JSON object");
  }
  return j;
}

std::optional<std::string> TokenField(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end()) return std::nullopt;
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object() && it->contains("content") && (*it)["content"].is_string()) {
    return (*it)["content"].get<std::string>();
  }
  return std::nullopt;
}

std::string IdText(const Tokenizer& tokenizer, std::optional<int64_t> id) {
  if (!id || *id < 0 || *id > INT32_MAX) return "";
  return std::string(tokenizer.TokenText(static_cast<int32_t>(*id)));
}

}  // namespace

StatusOr<std::optional<ModelChatTemplate>> FindModelChatTemplate(const std::string& model_dir,
                                                                 const GgufFile* gguf) {
  const fs::path dir(model_dir);
  if (auto text = ReadText(dir / "chat_template.jinja")) {
    return std::optional<ModelChatTemplate>(
        ModelChatTemplate{*text, "'" + (dir / "chat_template.jinja").string() + "'"});
  }
  for (const char* file : {"tokenizer_config.json", "chat_template.json"}) {
    const fs::path path = dir / file;
    bool found = false;
    auto j = ReadJsonObject(path, &found);
    if (!j.ok()) return j.status();
    if (!found) continue;
    auto t = TemplateField(*j, path.string());
    if (!t.ok()) return t.status();
    if (*t) {
      return std::optional<ModelChatTemplate>(
          ModelChatTemplate{**t, "'" + path.string() + "' chat_template"});
    }
  }
  if (gguf != nullptr && gguf->Has("tokenizer.chat_template")) {
    auto s = gguf->GetString("tokenizer.chat_template");
    if (!s.ok()) return s.status();
    return std::optional<ModelChatTemplate>(
        ModelChatTemplate{*s, "the GGUF's tokenizer.chat_template"});
  }
  return std::optional<ModelChatTemplate>();
}

SpecialTokenTexts FindSpecialTokenTexts(const std::string& model_dir, const GgufFile* gguf,
                                        const Tokenizer& tokenizer, const GenerationTokenIds& ids) {
  std::optional<int64_t> bos_id = ids.bos, eos_id;
  if (!ids.eos.empty()) eos_id = ids.eos.front();
  if (gguf != nullptr) {
    if (auto v = gguf->GetUInt("tokenizer.ggml.bos_token_id"); v.ok()) bos_id = static_cast<int64_t>(*v);
    if (auto v = gguf->GetUInt("tokenizer.ggml.eos_token_id"); v.ok()) eos_id = static_cast<int64_t>(*v);
  }
  SpecialTokenTexts out{IdText(tokenizer, bos_id), IdText(tokenizer, eos_id)};
  bool found = false;
  auto cfg = ReadJsonObject(fs::path(model_dir) / "tokenizer_config.json", &found);
  if (cfg.ok() && found) {
    if (auto s = TokenField(*cfg, "bos_token")) out.bos = *s;
    if (auto s = TokenField(*cfg, "eos_token")) out.eos = *s;
  }
  return out;
}

}  // namespace mamba::server
