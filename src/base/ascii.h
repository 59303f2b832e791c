// SPDX-License-Identifier: MIT
// ASCII-only case folding for identifiers, type names and HTTP header names (not for text:
// Unicode case mapping is utf8proc's job).
#pragma once

#include <string>
#include <string_view>

namespace mamba {

// `s` with 'A'-'Z' mapped to 'a'-'z'; every other byte unchanged.
inline std::string AsciiLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

}  // namespace mamba
