// SPDX-License-Identifier: MIT
// Tokenizer: a Hugging Face tokenizer.json (byte-level BPE, as GPT-NeoX-20B and so every Mamba
// checkpoint uses) loaded into an immutable object whose Encode/Decode give exactly the ids and
// text of the Hugging Face `tokenizers` library. Layer: tokenizer (links base, io).
//
//   MAMBA_ASSIGN_OR_RETURN(Tokenizer tok, Tokenizer::FromFile(dir + "/tokenizer.json"));
//   std::vector<int32_t> ids = tok.Encode("Hello world");  // {12092, 1533}
//   std::string text = tok.Decode(ids);                    // "Hello world"
//
// Supported tokenizer.json components (anything else is an Unimplemented error that names it):
// model BPE (no dropout, byte_fallback, continuing_subword_prefix or end_of_word_suffix; merges as
// "a b" strings or ["a","b"] pairs), added_tokens (all flags), normalizer null/NFC/Sequence of
// NFC, pre_tokenizer ByteLevel, decoder ByteLevel, post_processor null/ByteLevel, truncation
// and padding null.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace mamba {

class Tokenizer {
 public:
  // Reads and parses the tokenizer.json at `path`. Errors name the file and the field at fault.
  static StatusOr<Tokenizer> FromFile(const std::string& path);
  // Parses tokenizer.json text; `name` is used in error messages only.
  static StatusOr<Tokenizer> FromJson(std::string_view json_text, const std::string& name);

  // Move-only (share one through a pointer or reference; it is immutable). A moved-from
  // Tokenizer may only be destroyed or assigned to.
  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;
  ~Tokenizer();

  // Returns the ids of `text`, as HF `encode(text, add_special_tokens=False).ids`: added tokens
  // are matched first (special ones anywhere in the raw text), the rest is NFC-normalized
  // (Unicode 9.0, like HF), split by the GPT-2 pattern and BPE-merged. No BOS/EOS is added.
  // `text` should be UTF-8; bytes that are not well-formed UTF-8 are still encoded as their
  // byte tokens (bytes that have no token, C0 C1 F5..FF, as the tokens of U+FFFD), so that
  // Decode(Encode(b)) is the lossy UTF-8 decoding of b. Thread-safe.
  std::vector<int32_t> Encode(std::string_view text) const;
  // Appends the ids of `text` to `ids`; otherwise as Encode.
  void EncodeAppend(std::string_view text, std::vector<int32_t>& ids) const;

  // Returns HF `decode(ids, skip_special_tokens)`: the tokens' bytes joined, then decoded as
  // UTF-8 with each invalid or incomplete sequence replaced by U+FFFD. Ids that are not in the
  // vocabulary (negative, gaps, or >= vocab_size(), e.g. a model's padded rows) decode to
  // nothing. With `skip_special`, special added tokens (GPT-NeoX: ids 0 and 1) are dropped.
  // Thread-safe.
  std::string Decode(std::span<const int32_t> ids, bool skip_special = false) const;

  // One more than the largest id of the model vocabulary and the added tokens (GPT-NeoX:
  // 50277). Ids below it may still be unknown when the vocabulary has gaps.
  int32_t vocab_size() const;
  // Returns the id of a token given as written in tokenizer.json (an added token's content, or
  // a model token in the byte-level alphabet such as "Ġworld"), or nullopt.
  std::optional<int32_t> TokenId(std::string_view token) const;
  // Returns the token text of `id` as written in tokenizer.json, or "" if `id` is unknown.
  std::string_view TokenText(int32_t id) const;
  // Returns the bytes `id` decodes to (maybe not UTF-8 on its own), or "" if `id` is unknown.
  std::string_view TokenBytes(int32_t id) const;
  bool IsKnown(int32_t id) const;
  // True for added tokens marked special (GPT-NeoX: <|endoftext|> = 0, <|padding|> = 1).
  bool IsSpecial(int32_t id) const;

  struct Impl;

 private:
  friend class TokenizerTestPeer;
  explicit Tokenizer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Turns token ids into text one id at a time for streaming generation. Push returns only text
// that is complete UTF-8: bytes of a multi-byte character split across tokens are held until the
// character is complete (or can no longer be). The concatenation of all Push results and Flush
// equals Tokenizer::Decode of the same ids. Holds a reference: the Tokenizer must outlive it.
// Not thread-safe (one per sequence).
class StreamDecoder {
 public:
  explicit StreamDecoder(const Tokenizer& tokenizer, bool skip_special = false)
      : tokenizer_(&tokenizer), skip_special_(skip_special) {}

  // Adds `id` and returns the text that became complete (often the token's text, maybe "").
  std::string Push(int32_t id);
  // Returns what is still held, lossily decoded (U+FFFD for an incomplete character), and
  // starts over.
  std::string Flush();
  // Drops what is held and starts over.
  void Reset() { pending_.clear(); }
  // True when bytes are being held back.
  bool has_pending() const { return !pending_.empty(); }

 private:
  const Tokenizer* tokenizer_;
  bool skip_special_;
  std::string pending_;
};

}  // namespace mamba
