// SPDX-License-Identifier: MIT
// Hand-written matcher for the GPT-2 split pattern. At each position the alternatives are tried in
// the pattern's order; the only backtracking in the pattern is \s+(?!\S), which gives the last
// whitespace character of a run back when a non-space follows, and is done explicitly.

#include "tokenizer/pretokenize.h"

#include <utf8proc.h>

#include <algorithm>
#include <array>
#include <iterator>

#include "tokenizer/utf8.h"

namespace mamba {
namespace {

constexpr std::array<CharClass, 128> MakeAsciiClasses() {
  std::array<CharClass, 128> t{};
  for (int c = 0; c < 128; ++c) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
      t[c] = CharClass::kLetter;
    } else if (c >= '0' && c <= '9') {
      t[c] = CharClass::kNumber;
    } else if (c == ' ' || (c >= '\t' && c <= '\r')) {
      t[c] = CharClass::kSpace;
    } else {
      t[c] = CharClass::kOther;
    }
  }
  return t;
}
constexpr std::array<CharClass, 128> kAsciiClasses = MakeAsciiClasses();

struct ClassOverride {
  uint32_t first;
  uint32_t last;
  CharClass cls;
};
#include "tokenizer/regex_class_data.inc"

// HF's class where it differs from utf8proc's (see gen_regex_classes.sh), else `fallback`.
CharClass Override(uint32_t cp, CharClass fallback) {
  const auto* end = std::end(kClassOverrides);
  const auto* it = std::upper_bound(std::begin(kClassOverrides), end, cp,
                                    [](uint32_t v, const ClassOverride& o) { return v < o.first; });
  if (it == std::begin(kClassOverrides)) return fallback;
  --it;
  return cp <= it->last ? it->cls : fallback;
}

// The class of every BMP code point, filled once from utf8proc.
struct BmpClasses {
  std::array<CharClass, 65536> cls;
  BmpClasses() {
    for (uint32_t cp = 0; cp < 65536; ++cp) cls[cp] = ClassifySlow(cp);
  }
  static CharClass ClassifySlow(uint32_t cp) { return Override(cp, ClassifyUtf8proc(cp)); }
  static CharClass ClassifyUtf8proc(uint32_t cp) {
    switch (cp) {  // White_Space, as Oniguruma's and Rust's \s
      case 0x09:
      case 0x0A:
      case 0x0B:
      case 0x0C:
      case 0x0D:
      case 0x20:
      case 0x85:
      case 0xA0:
      case 0x1680:
      case 0x2028:
      case 0x2029:
      case 0x202F:
      case 0x205F:
      case 0x3000:
        return CharClass::kSpace;
      default:
        break;
    }
    if (cp >= 0x2000 && cp <= 0x200A) return CharClass::kSpace;
    if (cp >= 0xD800 && cp <= 0xDFFF) return CharClass::kOther;  // not scalar values
    switch (utf8proc_get_property(static_cast<utf8proc_int32_t>(cp))->category) {
      case UTF8PROC_CATEGORY_LU:
      case UTF8PROC_CATEGORY_LL:
      case UTF8PROC_CATEGORY_LT:
      case UTF8PROC_CATEGORY_LM:
      case UTF8PROC_CATEGORY_LO:
        return CharClass::kLetter;
      case UTF8PROC_CATEGORY_ND:
      case UTF8PROC_CATEGORY_NL:
      case UTF8PROC_CATEGORY_NO:
        return CharClass::kNumber;
      default:
        return CharClass::kOther;
    }
  }
};

const BmpClasses& Bmp() {
  static const BmpClasses* table = new BmpClasses();
  return *table;
}

struct CharInfo {
  CharClass cls;
  uint32_t len;
};

// Class and byte length of the character at p[0], with n >= 1 bytes available.
inline CharInfo CharAt(const uint8_t* p, size_t n) {
  if (p[0] < 0x80) return {kAsciiClasses[p[0]], 1};
  const utf8::Seq seq = utf8::DecodeOne(std::string_view(reinterpret_cast<const char*>(p), n));
  if (seq.kind != utf8::SeqKind::kValid) return {CharClass::kOther, seq.len};
  return {ClassifyCodePoint(seq.cp), seq.len};
}

}  // namespace

CharClass ClassifyCodePoint(uint32_t cp) {
  if (cp < 128) return kAsciiClasses[cp];
  if (cp < 65536) return Bmp().cls[cp];
  return BmpClasses::ClassifySlow(cp);
}

size_t Gpt2PieceEnd(std::string_view text, size_t pos) {
  const auto* p = reinterpret_cast<const uint8_t*>(text.data());
  const size_t n = text.size();
  const uint8_t c = p[pos];

  // 's|'t|'re|'ve|'m|'ll|'d
  if (c == '\'' && pos + 1 < n) {
    const uint8_t d = p[pos + 1];
    if (d == 's' || d == 't' || d == 'm' || d == 'd') return pos + 2;
    if (pos + 2 < n) {
      const uint8_t e = p[pos + 2];
      if ((d == 'r' && e == 'e') || (d == 'v' && e == 'e') || (d == 'l' && e == 'l')) {
        return pos + 3;
      }
    }
  }

  // ' ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+': an optional U+0020, then a run of one class.
  CharInfo first = CharAt(p + pos, n - pos);
  size_t run = pos;
  if (c == ' ' && pos + 1 < n) {
    const CharInfo next = CharAt(p + pos + 1, n - pos - 1);
    if (next.cls != CharClass::kSpace) {
      first = next;
      run = pos + 1;
    }
  }
  if (first.cls != CharClass::kSpace) {
    const CharClass cls = first.cls;
    size_t end = run + first.len;
    while (end < n) {
      if (p[end] < 0x80) {
        if (kAsciiClasses[p[end]] != cls) break;
        ++end;
        continue;
      }
      const CharInfo next = CharAt(p + end, n - end);
      if (next.cls != cls) break;
      end += next.len;
    }
    return end;
  }

  // '\s+(?!\S)|\s+': the whole whitespace run if it ends the text; otherwise the run without its
  // last character, unless that would leave nothing (a single whitespace character).
  size_t end = pos + first.len;
  size_t last = pos;
  while (end < n) {
    const CharInfo next = CharAt(p + end, n - end);
    if (next.cls != CharClass::kSpace) break;
    last = end;
    end += next.len;
  }
  if (end == n || last == pos) return end;
  return last;
}

}  // namespace mamba
