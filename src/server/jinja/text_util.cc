// SPDX-License-Identifier: MIT
// Python string helpers over code points.
#include "server/jinja/text_util.h"

#include <utf8proc.h>

#include <algorithm>

namespace mamba::jinja {

std::string Strip(const std::string& s, const std::optional<std::string>& chars, bool left,
                  bool right) {
  const std::vector<uint32_t> cps = DecodeUtf8(s);
  std::vector<uint32_t> set;
  if (chars) set = DecodeUtf8(*chars);
  auto strip = [&](uint32_t cp) {
    return chars ? std::find(set.begin(), set.end(), cp) != set.end() : IsPySpace(cp);
  };
  size_t b = 0, e = cps.size();
  while (left && b < e && strip(cps[b])) ++b;
  while (right && e > b && strip(cps[e - 1])) --e;
  return EncodeUtf8(std::vector<uint32_t>(cps.begin() + b, cps.begin() + e));
}

std::string MapCase(const std::string& s, CaseMode mode) {
  std::vector<uint32_t> cps = DecodeUtf8(s);
  bool prev_cased = false;
  for (size_t i = 0; i < cps.size(); ++i) {
    const uint32_t cp = cps[i];
    if (cp >= 0xDC80 && cp <= 0xDCFF) continue;  // a raw invalid byte
    const auto c = static_cast<utf8proc_int32_t>(cp);
    switch (mode) {
      case CaseMode::kUpper: cps[i] = static_cast<uint32_t>(utf8proc_toupper(c)); break;
      case CaseMode::kLower: cps[i] = static_cast<uint32_t>(utf8proc_tolower(c)); break;
      case CaseMode::kCapitalize:
        cps[i] = static_cast<uint32_t>(i == 0 ? utf8proc_totitle(c) : utf8proc_tolower(c));
        break;
      case CaseMode::kTitle: {
        cps[i] = static_cast<uint32_t>(prev_cased ? utf8proc_tolower(c) : utf8proc_totitle(c));
        const utf8proc_category_t cat = utf8proc_category(c);
        prev_cased = cat == UTF8PROC_CATEGORY_LU || cat == UTF8PROC_CATEGORY_LL ||
                     cat == UTF8PROC_CATEGORY_LT;
        break;
      }
    }
  }
  return EncodeUtf8(cps);
}

Json Split(const std::string& s, const std::optional<std::string>& sep, int64_t maxsplit,
           bool from_right) {
  std::vector<std::string> parts;
  if (sep) {
    if (!from_right) {
      size_t start = 0;
      for (size_t at = s.find(*sep); at != std::string::npos && (maxsplit < 0 || static_cast<int64_t>(parts.size()) < maxsplit);
           at = s.find(*sep, start)) {
        parts.push_back(s.substr(start, at - start));
        start = at + sep->size();
      }
      parts.push_back(s.substr(start));
    } else {
      size_t end = s.size();
      std::vector<std::string> rev;
      while (maxsplit < 0 || static_cast<int64_t>(rev.size()) < maxsplit) {
        if (end < sep->size()) break;
        const size_t at = s.rfind(*sep, end - sep->size());
        if (at == std::string::npos) break;
        rev.push_back(s.substr(at + sep->size(), end - at - sep->size()));
        end = at;
      }
      rev.push_back(s.substr(0, end));
      parts.assign(rev.rbegin(), rev.rend());
    }
  } else {
    const std::vector<uint32_t> cps = DecodeUtf8(s);
    std::vector<std::pair<size_t, size_t>> words;  // code point ranges
    for (size_t i = 0; i < cps.size();) {
      while (i < cps.size() && IsPySpace(cps[i])) ++i;
      if (i == cps.size()) break;
      size_t j = i;
      while (j < cps.size() && !IsPySpace(cps[j])) ++j;
      words.emplace_back(i, j);
      i = j;
    }
    auto text = [&](size_t b, size_t e) {
      return EncodeUtf8(std::vector<uint32_t>(cps.begin() + b, cps.begin() + e));
    };
    const auto n = static_cast<int64_t>(words.size());
    if (maxsplit < 0 || n <= maxsplit + 0 || maxsplit >= n - 1) {
      for (auto [b, e] : words) parts.push_back(text(b, e));
    } else if (!from_right) {
      for (int64_t k = 0; k < maxsplit; ++k) parts.push_back(text(words[k].first, words[k].second));
      size_t rest_end = cps.size();
      while (rest_end > words[maxsplit].first && IsPySpace(cps[rest_end - 1])) --rest_end;
      parts.push_back(text(words[maxsplit].first, rest_end));
    } else {
      const size_t cut = static_cast<size_t>(n - maxsplit);
      size_t rest_begin = 0;
      while (rest_begin < cps.size() && IsPySpace(cps[rest_begin])) ++rest_begin;
      parts.push_back(text(rest_begin, words[cut - 1].second));
      for (size_t k = cut; k < words.size(); ++k) parts.push_back(text(words[k].first, words[k].second));
    }
  }
  Json out = Json::array();
  for (std::string& p : parts) out.push_back(std::move(p));
  return out;
}

std::string Replace(const std::string& s, const std::string& from, const std::string& to,
                    int64_t count) {
  std::string out;
  if (from.empty()) {  // Python inserts `to` around every code point
    const std::vector<uint32_t> cps = DecodeUtf8(s);
    int64_t done = 0;
    for (uint32_t cp : cps) {
      if (count < 0 || done < count) {
        out += to;
        ++done;
      }
      AppendUtf8(&out, cp);
    }
    if (count < 0 || done < count) out += to;
    return out;
  }
  size_t start = 0;
  int64_t done = 0;
  for (size_t at = s.find(from); at != std::string::npos && (count < 0 || done < count);
       at = s.find(from, start)) {
    out.append(s, start, at - start);
    out += to;
    start = at + from.size();
    ++done;
  }
  out.append(s, start, std::string::npos);
  return out;
}

int64_t CodePointIndex(const std::string& s, size_t byte) {
  return static_cast<int64_t>(DecodeUtf8(std::string_view(s).substr(0, byte)).size());
}

}  // namespace mamba::jinja
