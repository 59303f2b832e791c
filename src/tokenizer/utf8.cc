// SPDX-License-Identifier: MIT
// UTF-8 decoding per the Unicode Standard's table of well-formed byte sequences (Table 3-7).

#include "tokenizer/utf8.h"

namespace mamba::utf8 {
namespace {

// Number of bytes of a sequence that starts with `b`, or 0 if `b` never starts one.
inline int SeqLength(uint8_t b) {
  if (b < 0x80) return 1;
  if (b < 0xC2) return 0;
  if (b < 0xE0) return 2;
  if (b < 0xF0) return 3;
  if (b < 0xF5) return 4;
  return 0;
}

// The allowed range of the second byte after lead byte `b` (Table 3-7).
inline void SecondByteRange(uint8_t b, uint8_t& lo, uint8_t& hi) {
  lo = 0x80;
  hi = 0xBF;
  if (b == 0xE0)
    lo = 0xA0;
  else if (b == 0xED)
    hi = 0x9F;
  else if (b == 0xF0)
    lo = 0x90;
  else if (b == 0xF4)
    hi = 0x8F;
}

}  // namespace

Seq DecodeOne(std::string_view s) {
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  const uint8_t b0 = p[0];
  if (b0 < 0x80) return {SeqKind::kValid, 1, b0};
  const int need = SeqLength(b0);
  if (need == 0) return {SeqKind::kInvalid, 1, 0};
  uint32_t cp = b0 & (0x7F >> need);
  uint8_t lo, hi;
  SecondByteRange(b0, lo, hi);
  for (int i = 1; i < need; ++i) {
    if (static_cast<size_t>(i) >= s.size()) {
      return {SeqKind::kTruncated, static_cast<uint8_t>(i), 0};
    }
    const uint8_t b = p[i];
    if (b < lo || b > hi) return {SeqKind::kInvalid, static_cast<uint8_t>(i), 0};
    cp = (cp << 6) | (b & 0x3F);
    lo = 0x80;
    hi = 0xBF;
  }
  return {SeqKind::kValid, static_cast<uint8_t>(need), cp};
}

bool IsValid(std::string_view s) {
  size_t i = 0;
  const size_t n = s.size();
  while (i < n) {
    // ASCII fast path, 8 bytes at a time.
    while (i + 8 <= n) {
      uint64_t w;
      __builtin_memcpy(&w, s.data() + i, 8);
      if (w & 0x8080808080808080ull) break;
      i += 8;
    }
    if (i >= n) break;
    if (static_cast<uint8_t>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    const Seq seq = DecodeOne(s.substr(i));
    if (seq.kind != SeqKind::kValid) return false;
    i += seq.len;
  }
  return true;
}

void AppendLossy(std::string_view s, std::string& out) {
  if (IsValid(s)) {
    out.append(s);
    return;
  }
  size_t i = 0;
  while (i < s.size()) {
    const Seq seq = DecodeOne(s.substr(i));
    if (seq.kind == SeqKind::kValid) {
      out.append(s.data() + i, seq.len);
    } else {
      out.append("\xEF\xBF\xBD");
    }
    i += seq.len;
  }
}

size_t CompletePrefixLength(std::string_view s) {
  // A truncated sequence is at most 3 bytes long, so only the last 3 lead positions matter.
  const size_t n = s.size();
  const size_t first = n > 3 ? n - 3 : 0;
  for (size_t i = first; i < n; ++i) {
    const uint8_t b = static_cast<uint8_t>(s[i]);
    if (b >= 0x80 && b < 0xC0) continue;  // continuation byte: not a lead
    const Seq seq = DecodeOne(s.substr(i));
    if (seq.kind == SeqKind::kTruncated) return i;
  }
  return n;
}

void AppendCodePoint(uint32_t cp, std::string& out) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

}  // namespace mamba::utf8
