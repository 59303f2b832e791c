// SPDX-License-Identifier: MIT
// The inside of Tokenizer, shared by tokenizer.cc (encode/decode) and tokenizer_json.cc (load).
// Layer: tokenizer (internal).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/added_tokens.h"
#include "tokenizer/bpe.h"
#include "tokenizer/flat_maps.h"
#include "tokenizer/tokenizer.h"

namespace mamba {

// Strings indexed by token id, packed in one buffer.
class PackedStrings {
 public:
  void Assign(const std::vector<std::string>& strings) {
    offsets_.assign(1, 0);
    data_.clear();
    for (const std::string& s : strings) {
      data_.append(s);
      offsets_.push_back(static_cast<uint32_t>(data_.size()));
    }
  }
  std::string_view Get(size_t i) const {
    return std::string_view(data_).substr(offsets_[i], offsets_[i + 1] - offsets_[i]);
  }

 private:
  std::string data_;
  std::vector<uint32_t> offsets_;
};

struct Tokenizer::Impl {
  enum TokenFlags : uint8_t { kKnown = 1, kSpecial = 2 };

  std::string name;  // for messages
  BpeModel bpe;
  AddedTokenMatcher raw_added;         // added tokens with normalized=false
  AddedTokenMatcher normalized_added;  // normalized=true, contents normalized
  bool nfc = false;
  bool add_prefix_space = false;
  bool use_regex = true;
  // Bytes that never occur in well-formed UTF-8 and have no token: replaced by U+FFFD.
  bool replace_byte[256] = {};
  bool any_replace_byte = false;

  int32_t vocab_size = 0;
  std::vector<uint8_t> flags;  // [vocab_size]
  PackedStrings texts;         // [vocab_size] token as written in tokenizer.json
  PackedStrings bytes;         // [vocab_size] bytes the token decodes to
  StringIdMap text_to_id;

  bool Known(int32_t id) const {
    return id >= 0 && id < vocab_size && (flags[static_cast<size_t>(id)] & kKnown);
  }

  // Encodes one piece of text that contains no non-normalized added token.
  void EncodeText(std::string_view text, std::vector<int32_t>& ids) const;
  // Pre-tokenizes and BPE-merges normalized text without added tokens.
  void EncodeWords(std::string_view text, std::vector<int32_t>& ids) const;
};

}  // namespace mamba
