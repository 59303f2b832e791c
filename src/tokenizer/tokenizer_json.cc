// SPDX-License-Identifier: MIT
// Tokenizer::FromJson: validates the parsed tokenizer.json, rejects components the engine does not
// implement with an error naming them, and builds the encode/decode tables.

#include <algorithm>
#include <exception>
#include <utility>

#include "io/mapped_file.h"
#include "tokenizer/json_sax.h"
#include "tokenizer/normalize.h"
#include "tokenizer/tokenizer_impl.h"
#include "tokenizer/utf8.h"

namespace mamba {
namespace {

using json = nlohmann::json;

constexpr int64_t kMaxTokenId = (1 << 24) - 1;  // far above any real vocabulary

// GPT-2's bytes_to_unicode: printable bytes stand for themselves, the other 68 bytes map to
// U+0100.. in byte order. Returns the byte that code point `cp` stands for, or -1.
struct ByteAlphabet {
  int16_t byte_of[512];
  ByteAlphabet() {
    std::fill(std::begin(byte_of), std::end(byte_of), int16_t{-1});
    int next = 256;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
      byte_of[printable ? b : next++] = static_cast<int16_t>(b);
    }
  }
};

const ByteAlphabet& Alphabet() {
  static const ByteAlphabet alphabet;
  return alphabet;
}

// Maps a token written in the byte-level alphabet to its bytes. Returns false if some character
// is outside the alphabet.
bool AlphabetToBytes(std::string_view token, std::string& out) {
  out.clear();
  const ByteAlphabet& a = Alphabet();
  size_t i = 0;
  while (i < token.size()) {
    const utf8::Seq s = utf8::DecodeOne(token.substr(i));
    if (s.kind != utf8::SeqKind::kValid || s.cp >= 512 || a.byte_of[s.cp] < 0) return false;
    out.push_back(static_cast<char>(a.byte_of[s.cp]));
    i += s.len;
  }
  return true;
}

// HF ByteLevel decoder: the mapped bytes if every character is in the alphabet, else the raw
// UTF-8 of the token.
std::string DecodeBytes(std::string_view token) {
  std::string bytes;
  if (!AlphabetToBytes(token, bytes)) bytes.assign(token);
  return bytes;
}

std::string TypeOf(const json& node) {
  const auto it = node.find("type");
  if (it == node.end() || !it->is_string()) return std::string();
  return it->get<std::string>();
}

class Builder {
 public:
  Builder(const std::string& name, TokenizerJsonParts& parts, Tokenizer::Impl& impl)
      : name_(name), parts_(parts), impl_(impl) {}

  Status Build();

 private:
  Status Error(StatusCode code, const std::string& msg) const {
    return Status(code, name_ + ": " + msg);
  }
  Status Invalid(const std::string& msg) const { return Error(StatusCode::kInvalidArgument, msg); }
  Status Unsupported(const std::string& msg) const {
    return Error(StatusCode::kUnimplemented, msg);
  }
  // Reads an optional boolean field; absent or null gives `fallback`.
  Status GetBool(const json& obj, const char* key, const std::string& where, bool fallback,
                 bool& out) const {
    out = fallback;
    const auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return Status::Ok();
    if (!it->is_boolean()) return Invalid(where + "." + key + ": expected true or false");
    out = it->get<bool>();
    return Status::Ok();
  }

  Status CheckNormalizer(const json& node, const std::string& where);
  Status CheckPreTokenizer(const json& node);
  Status CheckModel(const json& model, int32_t& unk_id_out, BpeModel::Options& options);
  Status ReadAddedTokens(std::vector<AddedToken>& out);

  const std::string& name_;
  TokenizerJsonParts& parts_;
  Tokenizer::Impl& impl_;
};

Status Builder::CheckNormalizer(const json& node, const std::string& where) {
  if (node.is_null()) return Status::Ok();
  if (!node.is_object()) return Invalid(where + ": expected an object or null");
  const std::string type = TypeOf(node);
  if (type == "NFC") {
    impl_.nfc = true;
    return Status::Ok();
  }
  if (type == "Sequence") {
    const auto it = node.find("normalizers");
    if (it == node.end() || !it->is_array()) return Invalid(where + ".normalizers: expected array");
    for (size_t i = 0; i < it->size(); ++i) {
      MAMBA_RETURN_IF_ERROR(
          CheckNormalizer((*it)[i], where + ".normalizers[" + std::to_string(i) + "]"));
    }
    return Status::Ok();
  }
  if (type.empty()) return Invalid(where + ": missing \"type\"");
  return Unsupported(where + ": normalizer type '" + type + "' is not supported (only NFC)");
}

Status Builder::CheckPreTokenizer(const json& node) {
  const json* bl = &node;
  if (node.is_object() && TypeOf(node) == "Sequence") {
    const auto it = node.find("pretokenizers");
    if (it == node.end() || !it->is_array() || it->size() != 1) {
      return Unsupported("pre_tokenizer: only a single ByteLevel pre-tokenizer is supported");
    }
    bl = &(*it)[0];
  }
  if (bl->is_null()) {
    return Unsupported("pre_tokenizer is null; only ByteLevel is supported");
  }
  if (!bl->is_object()) return Invalid("pre_tokenizer: expected an object");
  const std::string type = TypeOf(*bl);
  if (type != "ByteLevel") {
    return Unsupported("pre_tokenizer type '" + type + "' is not supported (only ByteLevel)");
  }
  MAMBA_RETURN_IF_ERROR(
      GetBool(*bl, "add_prefix_space", "pre_tokenizer", true, impl_.add_prefix_space));
  return GetBool(*bl, "use_regex", "pre_tokenizer", true, impl_.use_regex);
}

Status Builder::CheckModel(const json& model, int32_t& unk_id, BpeModel::Options& options) {
  const std::string type = TypeOf(model);
  if (!type.empty() && type != "BPE") {
    return Unsupported("model.type '" + type + "' is not supported (only BPE)");
  }
  if (type.empty() && model.contains("type")) return Invalid("model.type: expected a string");
  if (model.contains("vocab")) return Invalid("model.vocab: expected an object");
  if (model.contains("merges")) return Invalid("model.merges: expected an array");
  if (!parts_.has_vocab) return Invalid("model.vocab is missing");
  if (!parts_.has_merges) return Invalid("model.merges is missing");
  if (const auto it = model.find("dropout"); it != model.end() && !it->is_null()) {
    if (!it->is_number()) return Invalid("model.dropout: expected a number or null");
    if (it->get<double>() != 0.0) return Unsupported("model.dropout is not supported");
  }
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    const auto it = model.find(key);
    if (it == model.end() || it->is_null()) continue;
    if (!it->is_string()) return Invalid(std::string("model.") + key + ": expected a string");
    if (!it->get<std::string>().empty()) {
      return Unsupported(std::string("model.") + key + " is not supported");
    }
  }
  bool byte_fallback = false;
  MAMBA_RETURN_IF_ERROR(GetBool(model, "byte_fallback", "model", false, byte_fallback));
  if (byte_fallback) return Unsupported("model.byte_fallback is not supported");
  MAMBA_RETURN_IF_ERROR(GetBool(model, "fuse_unk", "model", false, options.fuse_unk));
  MAMBA_RETURN_IF_ERROR(GetBool(model, "ignore_merges", "model", false, options.ignore_merges));
  unk_id = -1;
  if (const auto it = model.find("unk_token"); it != model.end() && !it->is_null()) {
    if (!it->is_string()) return Invalid("model.unk_token: expected a string or null");
    const std::string unk = it->get<std::string>();
    for (const auto& [token, id] : parts_.vocab) {
      if (token == unk) unk_id = static_cast<int32_t>(id);
    }
    if (unk_id < 0) return Invalid("model.unk_token '" + unk + "' is not in model.vocab");
  }
  options.unk_id = unk_id;
  return Status::Ok();
}

Status Builder::ReadAddedTokens(std::vector<AddedToken>& out) {
  const json& root = parts_.rest;
  const auto it = root.find("added_tokens");
  if (it == root.end() || it->is_null()) return Status::Ok();
  if (!it->is_array()) return Invalid("added_tokens: expected an array");
  for (size_t i = 0; i < it->size(); ++i) {
    const json& t = (*it)[i];
    const std::string where = "added_tokens[" + std::to_string(i) + "]";
    if (!t.is_object()) return Invalid(where + ": expected an object");
    const auto id = t.find("id");
    if (id == t.end() || !id->is_number_integer() || id->get<int64_t>() < 0 ||
        id->get<int64_t>() > kMaxTokenId) {
      return Invalid(where + ".id: expected an integer in [0, " + std::to_string(kMaxTokenId) +
                     "]");
    }
    const auto content = t.find("content");
    if (content == t.end() || !content->is_string()) {
      return Invalid(where + ".content: expected a string");
    }
    AddedToken token;
    token.id = static_cast<int32_t>(id->get<int64_t>());
    token.content = content->get<std::string>();
    MAMBA_RETURN_IF_ERROR(GetBool(t, "special", where, false, token.special));
    MAMBA_RETURN_IF_ERROR(GetBool(t, "single_word", where, false, token.single_word));
    MAMBA_RETURN_IF_ERROR(GetBool(t, "lstrip", where, false, token.lstrip));
    MAMBA_RETURN_IF_ERROR(GetBool(t, "rstrip", where, false, token.rstrip));
    MAMBA_RETURN_IF_ERROR(GetBool(t, "normalized", where, !token.special, token.normalized));
    out.push_back(std::move(token));
  }
  return Status::Ok();
}

Status Builder::Build() {
  const json& root = parts_.rest;
  if (!root.is_object()) return Invalid("the top level is not a JSON object");
  for (const char* key : {"truncation", "padding"}) {
    const auto it = root.find(key);
    if (it != root.end() && !it->is_null()) {
      return Unsupported(std::string(key) + " is set; truncation and padding are not supported");
    }
  }
  const auto model_it = root.find("model");
  if (model_it == root.end() || !model_it->is_object()) return Invalid("model is missing");
  if (const auto it = root.find("normalizer"); it != root.end()) {
    MAMBA_RETURN_IF_ERROR(CheckNormalizer(*it, "normalizer"));
  }
  const auto pre = root.find("pre_tokenizer");
  MAMBA_RETURN_IF_ERROR(CheckPreTokenizer(pre == root.end() ? json(nullptr) : *pre));
  const auto dec = root.find("decoder");
  if (dec == root.end() || !dec->is_object() || TypeOf(*dec) != "ByteLevel") {
    const std::string type = dec == root.end() || !dec->is_object() ? "null" : TypeOf(*dec);
    return Unsupported("decoder '" + type + "' is not supported (only ByteLevel)");
  }
  if (const auto it = root.find("post_processor"); it != root.end() && !it->is_null()) {
    const std::string type = it->is_object() ? TypeOf(*it) : "?";
    if (type != "ByteLevel") {
      return Unsupported("post_processor '" + type + "' is not supported (only ByteLevel)");
    }
  }
  int32_t unk_id = -1;
  BpeModel::Options options;
  MAMBA_RETURN_IF_ERROR(CheckModel(*model_it, unk_id, options));
  std::vector<AddedToken> added;
  MAMBA_RETURN_IF_ERROR(ReadAddedTokens(added));

  // Model vocabulary: id -> text and bytes.
  int64_t max_id = -1;
  for (const auto& [token, id] : parts_.vocab) {
    if (id > kMaxTokenId) {
      return Invalid("model.vocab[\"" + token + "\"]: id " + std::to_string(id) + " is too large");
    }
    max_id = std::max(max_id, id);
  }
  for (const AddedToken& t : added) max_id = std::max<int64_t>(max_id, t.id);
  const size_t n = static_cast<size_t>(max_id + 1);
  std::vector<std::string> bpe_bytes(n), texts(n), bytes(n);
  impl_.flags.assign(n, 0);
  std::string scratch;
  impl_.text_to_id.Reserve(parts_.vocab.size() + added.size());
  for (auto& [token, id] : parts_.vocab) {
    const size_t i = static_cast<size_t>(id);
    if (AlphabetToBytes(token, scratch)) {
      bpe_bytes[i] = scratch;
      bytes[i] = scratch;
    } else {
      bytes[i] = token;
    }
    impl_.text_to_id.Insert(token, static_cast<int32_t>(id));
    texts[i] = std::move(token);
    impl_.flags[i] = Tokenizer::Impl::kKnown;
  }
  // Merges, by rank.
  std::vector<BpeModel::Merge> merges;
  merges.reserve(parts_.merges.size());
  for (size_t r = 0; r < parts_.merges.size(); ++r) {
    const auto& [a, b] = parts_.merges[r];
    scratch.assign(a).append(b);
    const int32_t left = impl_.text_to_id.Find(a);
    const int32_t right = impl_.text_to_id.Find(b);
    const int32_t merged = impl_.text_to_id.Find(scratch);
    if (left < 0 || right < 0 || merged < 0) {
      const std::string& missing = left < 0 ? a : right < 0 ? b : scratch;
      return Invalid("model.merges[" + std::to_string(r) + "]: '" + missing +
                     "' is not in model.vocab");
    }
    merges.push_back(BpeModel::Merge{left, right, merged});
  }
  impl_.bpe.Build(bpe_bytes, merges, options);

  // Added tokens override the model's entries for decoding and lookup.
  std::vector<AddedToken> raw, normalized;
  // A normalized token is matched, and (as HF does) decoded, in its normalized form.
  for (AddedToken& t : added) {
    const size_t i = static_cast<size_t>(t.id);
    impl_.text_to_id.Insert(t.content, t.id);
    std::string nfc;
    if (t.normalized && impl_.nfc && NormalizeNfc(t.content, nfc)) {
      t.content = std::move(nfc);
      impl_.text_to_id.Insert(t.content, t.id);
    }
    texts[i] = t.content;
    bytes[i] = DecodeBytes(t.content);
    impl_.flags[i] = Tokenizer::Impl::kKnown | (t.special ? Tokenizer::Impl::kSpecial : 0);
    (t.normalized ? normalized : raw).push_back(std::move(t));
  }
  impl_.raw_added = AddedTokenMatcher(std::move(raw));
  impl_.normalized_added = AddedTokenMatcher(std::move(normalized));

  // Bytes that cannot occur in UTF-8 and have no token become U+FFFD (if it is encodable).
  for (int b : {0xC0, 0xC1, 0xF5, 0xF6, 0xF7, 0xF8, 0xF9, 0xFA, 0xFB, 0xFC, 0xFD, 0xFE, 0xFF}) {
    const char c = static_cast<char>(b);
    if (impl_.bpe.FindBytes(std::string_view(&c, 1)) < 0) {
      impl_.replace_byte[b] = true;
      impl_.any_replace_byte = true;
    }
  }
  impl_.vocab_size = static_cast<int32_t>(n);
  impl_.texts.Assign(texts);
  impl_.bytes.Assign(bytes);
  return Status::Ok();
}

}  // namespace

StatusOr<Tokenizer> Tokenizer::FromJson(std::string_view json_text, const std::string& name) {
  MAMBA_ASSIGN_OR_RETURN(TokenizerJsonParts parts, ParseTokenizerJson(json_text, name));
  auto impl = std::make_unique<Impl>();
  impl->name = name;
  Builder builder(name, parts, *impl);
  Status status;
  try {
    status = builder.Build();
  } catch (const std::exception& e) {  // nlohmann type errors or allocation failure
    status = InvalidArgumentError(name + ": " + e.what());
  }
  MAMBA_RETURN_IF_ERROR(status);
  return Tokenizer(std::move(impl));
}

StatusOr<Tokenizer> Tokenizer::FromFile(const std::string& path) {
  MAMBA_ASSIGN_OR_RETURN(std::shared_ptr<MappedFile> file, MappedFile::Open(path));
  return FromJson(std::string_view(reinterpret_cast<const char*>(file->data()), file->size()),
                  path);
}

}  // namespace mamba
