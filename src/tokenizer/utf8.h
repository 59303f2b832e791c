// SPDX-License-Identifier: MIT
// UTF-8 helpers for the tokenizer: one-sequence decoding with the Unicode "maximal subpart" rule,
// lossy decoding (as Rust's String::from_utf8_lossy), and the complete-prefix test that streaming
// detokenization uses. Layer: tokenizer (internal, but safe to use from tests).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace mamba::utf8 {

enum class SeqKind : uint8_t {
  kValid,      // a well-formed sequence of `len` bytes encoding `cp`
  kInvalid,    // `len` bytes (>= 1) form a maximal invalid subpart; a bad byte follows or it is
               // a byte that never starts a sequence
  kTruncated,  // the input ends after `len` bytes that are a valid prefix of a sequence
};

struct Seq {
  SeqKind kind;
  uint8_t len;  // 1..4
  uint32_t cp;  // meaningful for kValid only
};

// Decodes the sequence at the start of `s` (which must be non-empty). Never reads past s.size().
Seq DecodeOne(std::string_view s);

// Returns true when `s` is entirely well-formed UTF-8.
bool IsValid(std::string_view s);

// Appends `s` to `out`, each maximal invalid subpart and a truncated tail replaced by one U+FFFD,
// exactly like Rust's String::from_utf8_lossy (which Hugging Face's ByteLevel decoder uses).
void AppendLossy(std::string_view s, std::string& out);

// Returns the length of the longest prefix of `s` that ends neither inside nor at the start of a
// truncated-but-so-far-valid final sequence: the bytes after it could still become a character.
size_t CompletePrefixLength(std::string_view s);

// Appends the UTF-8 encoding of `cp` (assumed a Unicode scalar value).
void AppendCodePoint(uint32_t cp, std::string& out);

}  // namespace mamba::utf8
