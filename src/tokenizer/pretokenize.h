// SPDX-License-Identifier: MIT
// The GPT-2 split pattern of the ByteLevel pre-tokenizer, hand-written instead of run through a
// regex engine:
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// with Oniguruma's semantics (what Hugging Face tokenizers uses): \p{L} and \p{N} are the general
// categories L* and N*, \s is the Unicode White_Space property. Character data comes from
// utf8proc (Unicode 15.0), corrected to HF's Unicode 16.0 by a generated table
// (regex_class_data.inc, gen_regex_classes.sh). Bytes that are not well-formed UTF-8 count as
// [^\s\p{L}\p{N}] (like U+FFFD would).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace mamba {

enum class CharClass : uint8_t { kLetter, kNumber, kSpace, kOther };

// Returns the class of code point `cp` as the split pattern sees it.
CharClass ClassifyCodePoint(uint32_t cp);

// Returns the end (exclusive byte offset) of the piece of `text` that the pattern matches at
// `pos`, which must be < text.size(). Pieces tile the text: the next one starts where this ends.
size_t Gpt2PieceEnd(std::string_view text, size_t pos);

// Calls fn(piece) for each piece of `text` in order.
template <class Fn>
void SplitGpt2(std::string_view text, Fn&& fn) {
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t end = Gpt2PieceEnd(text, pos);
    fn(text.substr(pos, end - pos));
    pos = end;
  }
}

}  // namespace mamba
