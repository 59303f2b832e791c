// SPDX-License-Identifier: MIT
// A byte trie over the added tokens; a scan that tries the trie at each position whose byte can
// start a token gives the leftmost-longest matches.

#include "tokenizer/added_tokens.h"

#include "tokenizer/pretokenize.h"
#include "tokenizer/utf8.h"

namespace mamba {
namespace {

// Rust's char::is_whitespace (the White_Space property) for the character ending at / starting
// at a byte offset; invalid bytes are not whitespace.
bool IsWhitespaceAt(std::string_view text, size_t pos, size_t& len) {
  const utf8::Seq s = utf8::DecodeOne(text.substr(pos));
  len = s.len;
  return s.kind == utf8::SeqKind::kValid && ClassifyCodePoint(s.cp) == CharClass::kSpace;
}

// Start of the character that ends at `end` (> 0).
size_t PrevCharStart(std::string_view text, size_t end) {
  size_t i = end - 1;
  while (i > 0 && end - i < 4 && (static_cast<uint8_t>(text[i]) & 0xC0) == 0x80) --i;
  const utf8::Seq s = utf8::DecodeOne(text.substr(i));
  return s.kind == utf8::SeqKind::kValid && i + s.len == end ? i : end - 1;
}

// Rust's char::is_alphanumeric (letters and numbers) or '_' for the character at `pos`: the
// "word" test of AddedToken::single_word.
bool IsWordCharAt(std::string_view text, size_t pos) {
  const utf8::Seq s = utf8::DecodeOne(text.substr(pos));
  if (s.kind != utf8::SeqKind::kValid) return false;
  if (s.cp == '_') return true;
  const CharClass c = ClassifyCodePoint(s.cp);
  return c == CharClass::kLetter || c == CharClass::kNumber;
}

}  // namespace

AddedTokenMatcher::AddedTokenMatcher(std::vector<AddedToken> tokens) {
  nodes_.emplace_back();
  for (AddedToken& t : tokens) {
    if (t.content.empty()) continue;
    const int32_t index = static_cast<int32_t>(tokens_.size());
    int32_t node = 0;
    for (const char c : t.content) {
      const uint8_t b = static_cast<uint8_t>(c);
      int32_t child = Child(node, b);
      if (child < 0) {
        child = static_cast<int32_t>(nodes_.size());
        nodes_[node].edges.emplace_back(b, child);
        nodes_.emplace_back();
      }
      node = child;
    }
    if (nodes_[node].token < 0) nodes_[node].token = index;  // first of equal contents wins
    first_byte_[static_cast<uint8_t>(t.content[0])] = true;
    tokens_.push_back(std::move(t));
  }
}

int32_t AddedTokenMatcher::Child(int32_t node, uint8_t byte) const {
  for (const auto& [b, child] : nodes_[node].edges) {
    if (b == byte) return child;
  }
  return -1;
}

int32_t AddedTokenMatcher::LongestAt(std::string_view text, size_t pos, size_t& len) const {
  int32_t node = 0;
  int32_t best = -1;
  for (size_t i = pos; i < text.size(); ++i) {
    node = Child(node, static_cast<uint8_t>(text[i]));
    if (node < 0) break;
    if (nodes_[node].token >= 0) {
      best = nodes_[node].token;
      len = i + 1 - pos;
    }
  }
  return best;
}

void AddedTokenMatcher::Split(std::string_view text, std::vector<Segment>& out) const {
  const size_t n = text.size();
  size_t emitted = 0;  // text[0, emitted) is covered by segments
  size_t pos = 0;      // where the scan for the next match starts
  while (pos < n) {
    if (!first_byte_[static_cast<uint8_t>(text[pos])]) {
      ++pos;
      continue;
    }
    size_t len = 0;
    const int32_t index = LongestAt(text, pos, len);
    if (index < 0) {
      ++pos;
      continue;
    }
    const AddedToken& token = tokens_[index];
    size_t start = pos;
    size_t stop = pos + len;
    pos = stop;  // the automaton resumes after the match, even when the match is rejected
    if (token.single_word) {
      const bool space_before = start == 0 || !IsWordCharAt(text, PrevCharStart(text, start));
      const bool space_after = stop == n || !IsWordCharAt(text, stop);
      if (!space_before || !space_after) continue;
    }
    if (start < emitted) continue;  // inside whitespace an earlier rstrip token absorbed
    if (token.lstrip) {
      size_t s = start;
      while (s > emitted) {
        const size_t prev = PrevCharStart(text, s);
        size_t l;
        if (!IsWhitespaceAt(text, prev, l)) break;
        s = prev;
      }
      start = s;
    }
    if (token.rstrip) {
      size_t l;
      while (stop < n && IsWhitespaceAt(text, stop, l)) stop += l;
    }
    if (emitted < start) out.push_back(Segment{emitted, start, -1});
    out.push_back(Segment{start, stop, token.id});
    emitted = stop;
  }
  if (emitted < n) out.push_back(Segment{emitted, n, -1});
}

}  // namespace mamba
