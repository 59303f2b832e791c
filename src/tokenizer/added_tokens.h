// SPDX-License-Identifier: MIT
// Splits text on added tokens the way Hugging Face's AddedVocabulary does: leftmost-longest,
// non-overlapping matches (Aho-Corasick LeftmostLongest semantics), with the single_word, lstrip
// and rstrip rules applied to each match. Immutable after construction; thread-safe to use.
// Layer: tokenizer (internal).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mamba {

struct AddedToken {
  int32_t id = -1;
  std::string content;
  bool single_word = false;
  bool lstrip = false;
  bool rstrip = false;
  bool normalized = false;
  bool special = false;
};

// One piece of a split: bytes [begin, end) of the input; `id` >= 0 when the piece is an added
// token, -1 when it is ordinary text.
struct Segment {
  size_t begin;
  size_t end;
  int32_t id;
};

class AddedTokenMatcher {
 public:
  AddedTokenMatcher() = default;
  // Matches the given tokens (empty contents are ignored).
  explicit AddedTokenMatcher(std::vector<AddedToken> tokens);

  bool empty() const { return tokens_.empty(); }

  // Appends the segments of `text` to `out`. Ordinary-text segments are never empty; the
  // segments cover `text` except for whitespace that lstrip/rstrip tokens absorb.
  void Split(std::string_view text, std::vector<Segment>& out) const;

 private:
  struct Node {
    int32_t token = -1;                              // index into tokens_ when a token ends here
    std::vector<std::pair<uint8_t, int32_t>> edges;  // byte -> node index
  };
  int32_t Child(int32_t node, uint8_t byte) const;
  // Returns the token index of the longest match starting at `pos`, or -1; sets `len`.
  int32_t LongestAt(std::string_view text, size_t pos, size_t& len) const;

  std::vector<AddedToken> tokens_;
  std::vector<Node> nodes_;
  bool first_byte_[256] = {};
};

}  // namespace mamba
