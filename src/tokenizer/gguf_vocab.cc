// SPDX-License-Identifier: MIT
// GGUF tokenizer metadata <-> tokenizer.json (see gguf_vocab.h). The GGUF vocabulary is turned
// into the equivalent tokenizer.json text and parsed by Tokenizer::FromJson, so GGUF and
// tokenizer.json models share one exact implementation.
#include "tokenizer/gguf_vocab.h"

#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "tokenizer/model_files.h"
#include "tokenizer/utf8.h"

namespace mamba {

namespace {

using json = nlohmann::json;

// llama.cpp's llama_token_type values (tokenizer.ggml.token_type).
enum : int64_t {
  kTokenNormal = 1,
  kTokenUnknown = 2,
  kTokenControl = 3,
  kTokenUserDefined = 4,
  kTokenUnused = 5,
  kTokenByte = 6,
};

json AddedToken(int64_t id, const std::string& content, bool special) {
  return json{{"id", id},          {"content", content}, {"single_word", false},
              {"lstrip", false},   {"rstrip", false},    {"normalized", !special},
              {"special", special}};
}

json ByteLevel() {
  return json{{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}};
}

}  // namespace

StatusOr<Tokenizer> TokenizerFromGguf(const GgufFile& g) {
  const std::string q = "'" + g.path() + "'";
  MAMBA_ASSIGN_OR_RETURN(std::string model, g.GetString("tokenizer.ggml.model"));
  if (model != "gpt2") {
    return UnimplementedError(q + ": key 'tokenizer.ggml.model': \"" + model +
                              "\" is not supported (supported: \"gpt2\" byte-level BPE)");
  }
  if (g.Has("tokenizer.ggml.pre")) {
    MAMBA_ASSIGN_OR_RETURN(std::string pre, g.GetString("tokenizer.ggml.pre"));
    if (pre != "gpt-2" && pre != "olmo") {
      return UnimplementedError(q + ": key 'tokenizer.ggml.pre': \"" + pre +
                                "\" is not supported (supported: \"gpt-2\", \"olmo\")");
    }
  }
  MAMBA_ASSIGN_OR_RETURN(const GgufValue* tokens,
                         g.GetArray("tokenizer.ggml.tokens", GgufType::kString));
  const GgufValue* types = nullptr;
  if (g.Has("tokenizer.ggml.token_type")) {
    MAMBA_ASSIGN_OR_RETURN(types, g.GetArray("tokenizer.ggml.token_type", GgufType::kI32));
    if (types->ArraySize() != tokens->ArraySize()) {
      return InvalidArgumentError(
          q + ": key 'tokenizer.ggml.token_type': " + std::to_string(types->ArraySize()) +
          " entries for " + std::to_string(tokens->ArraySize()) + " tokens");
    }
  }
  MAMBA_ASSIGN_OR_RETURN(const GgufValue* merges,
                         g.GetArray("tokenizer.ggml.merges", GgufType::kString));

  json vocab = json::object();
  json added = json::array();
  std::set<std::string> seen;
  for (size_t id = 0; id < tokens->ArraySize(); ++id) {
    const std::string text(tokens->StringAt(id));
    if (!utf8::IsValid(text)) {
      return InvalidArgumentError(q + ": key 'tokenizer.ggml.tokens'[" + std::to_string(id) +
                                  "]: not valid UTF-8");
    }
    const int64_t type = types != nullptr ? types->Element(id).i : kTokenNormal;
    if (type == kTokenUnused) continue;
    if (type < kTokenNormal || type > kTokenByte) {
      return InvalidArgumentError(q + ": key 'tokenizer.ggml.token_type'[" + std::to_string(id) +
                                  "]: unknown token type " + std::to_string(type));
    }
    const int64_t i = static_cast<int64_t>(id);
    if (type == kTokenControl || type == kTokenUserDefined) {
      added.push_back(AddedToken(i, text, type == kTokenControl));
      if (type == kTokenUserDefined) continue;  // raw text, not in the byte-level alphabet
    }
    if (!seen.insert(text).second) {
      return InvalidArgumentError(q + ": key 'tokenizer.ggml.tokens'[" + std::to_string(id) +
                                  "]: duplicate token");
    }
    vocab[text] = i;
  }
  json merge_list = json::array();
  for (size_t r = 0; r < merges->ArraySize(); ++r) {
    const std::string m(merges->StringAt(r));
    if (!utf8::IsValid(m)) {
      return InvalidArgumentError(q + ": key 'tokenizer.ggml.merges'[" + std::to_string(r) +
                                  "]: not valid UTF-8");
    }
    merge_list.push_back(m);
  }
  json doc = {
      {"version", "1.0"},
      {"truncation", nullptr},
      {"padding", nullptr},
      {"added_tokens", std::move(added)},
      {"normalizer", {{"type", "NFC"}}},
      {"pre_tokenizer", ByteLevel()},
      {"post_processor", ByteLevel()},
      {"decoder", ByteLevel()},
      {"model",
       {{"type", "BPE"},
        {"dropout", nullptr},
        {"unk_token", nullptr},
        {"continuing_subword_prefix", nullptr},
        {"end_of_word_suffix", nullptr},
        {"fuse_unk", false},
        {"vocab", std::move(vocab)},
        {"merges", std::move(merge_list)}}},
  };
  return Tokenizer::FromJson(doc.dump(), g.path() + " (tokenizer.ggml.*)");
}

StatusOr<std::vector<std::pair<std::string, GgufValue>>> GgufTokenizerMetadata(
    std::string_view text, const std::string& name, int64_t vocab_padded) {
  const json doc = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object())
    return InvalidArgumentError(name + ": not valid JSON");
  const auto model = doc.find("model");
  if (model == doc.end() || !model->is_object() || !model->contains("vocab") ||
      !(*model)["vocab"].is_object() || !model->contains("merges") ||
      !(*model)["merges"].is_array()) {
    return InvalidArgumentError(name + ": model.vocab / model.merges missing");
  }
  std::vector<std::string> tokens;
  std::vector<int32_t> types;
  auto put = [&](int64_t id, const std::string& t, int32_t type) -> Status {
    if (id < 0 || id >= (1 << 24)) return InvalidArgumentError(name + ": bad token id");
    if (static_cast<size_t>(id) >= tokens.size()) {
      tokens.resize(static_cast<size_t>(id) + 1);
      types.resize(static_cast<size_t>(id) + 1, 0);
    }
    tokens[id] = t;
    types[id] = type;
    return Status::Ok();
  };
  for (const auto& [t, id] : (*model)["vocab"].items()) {
    if (!id.is_number_integer()) return InvalidArgumentError(name + ": model.vocab: bad id");
    MAMBA_RETURN_IF_ERROR(put(id.get<int64_t>(), t, kTokenNormal));
  }
  if (doc.contains("added_tokens") && doc["added_tokens"].is_array()) {
    for (const json& a : doc["added_tokens"]) {
      if (!a.is_object() || !a.contains("id") || !a["id"].is_number_integer() ||
          !a.contains("content") || !a["content"].is_string()) {
        return InvalidArgumentError(name + ": added_tokens: bad entry");
      }
      const bool special = a.value("special", false);
      MAMBA_RETURN_IF_ERROR(put(a["id"].get<int64_t>(), a["content"].get<std::string>(),
                                special ? kTokenControl : kTokenUserDefined));
    }
  }
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (types[i] == 0) {  // a gap in the ids
      tokens[i] = "[PAD" + std::to_string(i) + "]";
      types[i] = kTokenUnused;
    }
  }
  for (int64_t i = static_cast<int64_t>(tokens.size()); i < vocab_padded; ++i) {
    tokens.push_back("[PAD" + std::to_string(i) + "]");
    types.push_back(kTokenUnused);
  }
  std::vector<std::string> merges;
  for (const json& m : (*model)["merges"]) {
    if (m.is_string()) {
      merges.push_back(m.get<std::string>());
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
      merges.push_back(m[0].get<std::string>() + " " + m[1].get<std::string>());
    } else {
      return InvalidArgumentError(name + ": model.merges: bad entry");
    }
  }
  return std::vector<std::pair<std::string, GgufValue>>{
      {"tokenizer.ggml.model", GgufValue::String("gpt2")},
      {"tokenizer.ggml.pre", GgufValue::String("olmo")},
      {"tokenizer.ggml.tokens", GgufValue::StringArray(tokens)},
      {"tokenizer.ggml.token_type", GgufValue::I32Array(types)},
      {"tokenizer.ggml.merges", GgufValue::StringArray(merges)},
  };
}

StatusOr<Tokenizer> LoadTokenizerForModel(const std::string& model_path,
                                          const std::string& override_path, const GgufFile* gguf) {
  StatusOr<std::string> file = FindTokenizerFile(model_path, override_path);
  if (file.ok()) return Tokenizer::FromFile(*file);
  if (!override_path.empty() || gguf == nullptr) return file.status();
  return TokenizerFromGguf(*gguf);
}

}  // namespace mamba
