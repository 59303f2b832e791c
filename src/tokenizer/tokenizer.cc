// SPDX-License-Identifier: MIT
// Encode and decode: the Hugging Face pipeline (added tokens -> NFC -> normalized added tokens ->
// ByteLevel pre-tokenizer -> BPE; ByteLevel decoder) over the tables that tokenizer_json.cc
// builds, and the streaming decoder.

#include <utility>

#include "tokenizer/normalize.h"
#include "tokenizer/pretokenize.h"
#include "tokenizer/tokenizer_impl.h"
#include "tokenizer/utf8.h"

namespace mamba {

Tokenizer::Tokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;
Tokenizer::~Tokenizer() = default;

std::vector<int32_t> Tokenizer::Encode(std::string_view text) const {
  std::vector<int32_t> ids;
  ids.reserve(text.size() / 3 + 4);
  EncodeAppend(text, ids);
  return ids;
}

void Tokenizer::EncodeAppend(std::string_view text, std::vector<int32_t>& ids) const {
  if (text.empty()) return;
  if (impl_->raw_added.empty()) {
    impl_->EncodeText(text, ids);
    return;
  }
  std::vector<Segment> segments;
  impl_->raw_added.Split(text, segments);
  for (const Segment& s : segments) {
    if (s.id >= 0) {
      ids.push_back(s.id);
    } else {
      impl_->EncodeText(text.substr(s.begin, s.end - s.begin), ids);
    }
  }
}

void Tokenizer::Impl::EncodeText(std::string_view text, std::vector<int32_t>& ids) const {
  std::string owned;
  std::string_view s = text;
  if (any_replace_byte) {
    size_t i = 0;
    while (i < s.size() && !replace_byte[static_cast<uint8_t>(s[i])]) ++i;
    if (i < s.size()) {
      owned.reserve(s.size() + 8);
      for (const char c : s) {
        if (replace_byte[static_cast<uint8_t>(c)]) {
          owned.append("\xEF\xBF\xBD");
        } else {
          owned.push_back(c);
        }
      }
      s = owned;
    }
  }
  std::string normalized;
  if (nfc && NormalizeNfc(s, normalized)) s = normalized;
  if (normalized_added.empty()) {
    EncodeWords(s, ids);
    return;
  }
  std::vector<Segment> segments;
  normalized_added.Split(s, segments);
  for (const Segment& seg : segments) {
    if (seg.id >= 0) {
      ids.push_back(seg.id);
    } else {
      EncodeWords(s.substr(seg.begin, seg.end - seg.begin), ids);
    }
  }
}

void Tokenizer::Impl::EncodeWords(std::string_view text, std::vector<int32_t>& ids) const {
  std::string prefixed;
  if (add_prefix_space && !text.empty() && text[0] != ' ') {
    prefixed.reserve(text.size() + 1);
    prefixed.push_back(' ');
    prefixed.append(text);
    text = prefixed;
  }
  if (!use_regex) {
    bpe.Tokenize(text, ids);
    return;
  }
  SplitGpt2(text, [&](std::string_view piece) { bpe.Tokenize(piece, ids); });
}

std::string Tokenizer::Decode(std::span<const int32_t> ids, bool skip_special) const {
  std::string joined;
  for (const int32_t id : ids) {
    if (!impl_->Known(id)) continue;
    if (skip_special && (impl_->flags[static_cast<size_t>(id)] & Impl::kSpecial)) continue;
    joined.append(impl_->bytes.Get(static_cast<size_t>(id)));
  }
  if (utf8::IsValid(joined)) return joined;
  std::string text;
  text.reserve(joined.size() + 8);
  utf8::AppendLossy(joined, text);
  return text;
}

int32_t Tokenizer::vocab_size() const { return impl_->vocab_size; }

std::optional<int32_t> Tokenizer::TokenId(std::string_view token) const {
  const int32_t id = impl_->text_to_id.Find(token);
  if (id < 0) return std::nullopt;
  return id;
}

std::string_view Tokenizer::TokenText(int32_t id) const {
  return impl_->Known(id) ? impl_->texts.Get(static_cast<size_t>(id)) : std::string_view();
}

std::string_view Tokenizer::TokenBytes(int32_t id) const {
  return impl_->Known(id) ? impl_->bytes.Get(static_cast<size_t>(id)) : std::string_view();
}

bool Tokenizer::IsKnown(int32_t id) const { return impl_->Known(id); }

bool Tokenizer::IsSpecial(int32_t id) const {
  return impl_->Known(id) && (impl_->flags[static_cast<size_t>(id)] & Impl::kSpecial);
}

std::string StreamDecoder::Push(int32_t id) {
  if (!tokenizer_->IsKnown(id)) return std::string();
  if (skip_special_ && tokenizer_->IsSpecial(id)) return std::string();
  pending_.append(tokenizer_->TokenBytes(id));
  const size_t complete = utf8::CompletePrefixLength(pending_);
  std::string out;
  if (complete == 0) return out;
  utf8::AppendLossy(std::string_view(pending_).substr(0, complete), out);
  pending_.erase(0, complete);
  return out;
}

std::string StreamDecoder::Flush() {
  std::string out;
  utf8::AppendLossy(pending_, out);
  pending_.clear();
  return out;
}

}  // namespace mamba
