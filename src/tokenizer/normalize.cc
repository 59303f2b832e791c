// SPDX-License-Identifier: MIT
// NFC with Unicode 9.0 semantics. The fast path is a quick check against a table of the 9.0
// characters that can change under NFC; only the short spans around them (from the last safe
// starter before to the next safe character after) are normalized, with utf8proc's character
// data. A span never contains a character assigned after 9.0 except possibly as its first
// character, which is then copied verbatim, so utf8proc's newer data cannot compose, decompose or
// reorder anything 9.0 would not.

#include "tokenizer/normalize.h"

#include <utf8proc.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <iterator>
#include <vector>

#include "tokenizer/utf8.h"

namespace mamba {
namespace {

struct CodePointRange {
  uint32_t first;
  uint32_t last;
};

#include "tokenizer/unicode9_data.inc"

template <size_t N>
bool InRanges(const CodePointRange (&ranges)[N], uint32_t cp) {
  const auto* it =
      std::upper_bound(std::begin(ranges), std::end(ranges), cp,
                       [](uint32_t v, const CodePointRange& r) { return v < r.first; });
  if (it == std::begin(ranges)) return false;
  --it;
  return cp <= it->last;
}

// One bit per BMP code point: IsNfcUnsafe, precomputed for the hot path.
struct BmpUnsafeBits {
  std::array<uint64_t, 65536 / 64> bits{};
  BmpUnsafeBits() {
    for (const CodePointRange& r : kUnicode9NfcUnsafe) {
      for (uint32_t cp = r.first; cp <= r.last && cp < 65536; ++cp) {
        bits[cp >> 6] |= uint64_t{1} << (cp & 63);
      }
    }
  }
};

const BmpUnsafeBits& BmpBits() {
  static const BmpUnsafeBits* bits = new BmpUnsafeBits();
  return *bits;
}

inline bool Unsafe(uint32_t cp) {
  if (cp < 0x300) return false;
  if (cp < 65536) return (BmpBits().bits[cp >> 6] >> (cp & 63)) & 1;
  return InRanges(kUnicode9NfcUnsafe, cp);
}

inline int CombiningClass(int32_t cp) { return utf8proc_get_property(cp)->combining_class; }

// Appends the NFC form of `span` (well-formed UTF-8 of Unicode 9.0 characters, except maybe the
// first) to `out`. Decomposition and composition use utf8proc's per-character data; the canonical
// ordering is a stable sort per run of marks, because utf8proc's own ordering is quadratic in the
// run length (a 40,000-mark "Zalgo" run took seconds).
void NormalizeSpan(std::string_view span, std::string& out) {
  const utf8::Seq first = utf8::DecodeOne(span);
  if (!IsUnicode9Assigned(first.cp)) {
    out.append(span.substr(0, first.len));
    span.remove_prefix(first.len);
  }
  thread_local std::vector<int32_t> cps;
  cps.clear();
  while (!span.empty()) {
    const utf8::Seq s = utf8::DecodeOne(span);
    span.remove_prefix(s.len);
    int32_t decomposed[8];
    int boundclass = 0;
    const utf8proc_ssize_t n = utf8proc_decompose_char(static_cast<int32_t>(s.cp), decomposed, 8,
                                                       UTF8PROC_DECOMPOSE, &boundclass);
    if (n < 0 || n > 8) {
      cps.push_back(static_cast<int32_t>(s.cp));  // unreachable: keep the character
    } else {
      cps.insert(cps.end(), decomposed, decomposed + n);
    }
  }
  for (size_t i = 0; i < cps.size();) {
    if (CombiningClass(cps[i]) == 0) {
      ++i;
      continue;
    }
    size_t j = i + 1;
    while (j < cps.size() && CombiningClass(cps[j]) != 0) ++j;
    if (j - i > 1) {
      std::stable_sort(cps.begin() + static_cast<std::ptrdiff_t>(i),
                       cps.begin() + static_cast<std::ptrdiff_t>(j),
                       [](int32_t a, int32_t b) { return CombiningClass(a) < CombiningClass(b); });
    }
    i = j;
  }
  const utf8proc_ssize_t n =
      utf8proc_normalize_utf32(cps.data(), static_cast<utf8proc_ssize_t>(cps.size()),
                               static_cast<utf8proc_option_t>(UTF8PROC_COMPOSE | UTF8PROC_STABLE));
  const size_t count = n < 0 ? cps.size() : static_cast<size_t>(n);
  for (size_t i = 0; i < count; ++i) utf8::AppendCodePoint(static_cast<uint32_t>(cps[i]), out);
}

}  // namespace

bool IsUnicode9Assigned(uint32_t cp) { return InRanges(kUnicode9Assigned, cp); }

bool IsNfcUnsafe(uint32_t cp) { return Unsafe(cp); }

bool NormalizeNfc(std::string_view text, std::string& out) {
  const size_t n = text.size();
  const auto* p = reinterpret_cast<const uint8_t*>(text.data());
  // Every character below U+0300 is safe, and their encodings use only bytes below 0xCC.
  size_t i = 0;
  while (i < n && p[i] < 0xCC) ++i;
  if (i == n) return false;

  std::string result;
  size_t copied = 0;            // text[0, copied) is already in `result`
  size_t last_safe = 0;         // start of the last safe character seen (a starter)
  bool have_last_safe = false;  // ... and it directly precedes position i
  // Resume just after the last ASCII byte before i: that byte is a complete safe character.
  while (i > 0 && p[i - 1] >= 0x80) --i;
  if (i > 0) {
    last_safe = i - 1;
    have_last_safe = true;
  }
  bool changed = false;
  while (i < n) {
    if (p[i] < 0x80) {
      last_safe = i++;
      have_last_safe = true;
      continue;
    }
    if (p[i] < 0xCC) {  // characters below U+0300 are safe
      const utf8::Seq s = utf8::DecodeOne(text.substr(i));
      if (s.kind == utf8::SeqKind::kValid) {
        last_safe = i;
        have_last_safe = true;
      } else {
        have_last_safe = false;
      }
      i += s.len;
      continue;
    }
    const utf8::Seq s = utf8::DecodeOne(text.substr(i));
    if (s.kind != utf8::SeqKind::kValid) {
      have_last_safe = false;
      i += s.len;
      continue;
    }
    if (!Unsafe(s.cp)) {
      last_safe = i;
      have_last_safe = true;
      i += s.len;
      continue;
    }
    // An unsafe run starts at i. The span runs from the last safe starter (if it directly
    // precedes the run) to the next safe character or invalid byte.
    const size_t span_start = have_last_safe ? last_safe : i;
    size_t end = i + s.len;
    while (end < n) {
      const utf8::Seq t = utf8::DecodeOne(text.substr(end));
      if (t.kind != utf8::SeqKind::kValid || !Unsafe(t.cp)) break;
      end += t.len;
    }
    const std::string_view span = text.substr(span_start, end - span_start);
    result.append(text.substr(copied, span_start - copied));
    const size_t before = result.size();
    NormalizeSpan(span, result);
    if (!changed && std::string_view(result).substr(before) != span) changed = true;
    copied = end;
    have_last_safe = false;
    i = end;
  }
  if (!changed) return false;
  result.append(text.substr(copied));
  out = std::move(result);
  return true;
}

}  // namespace mamba
