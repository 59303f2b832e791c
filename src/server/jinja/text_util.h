// SPDX-License-Identifier: MIT
// Python str methods on UTF-8 strings for the Jinja built-ins: strip, case mapping (utf8proc's
// simple mappings), split, replace.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "server/jinja/value.h"

namespace mamba::jinja {

// str.strip/lstrip/rstrip: `chars` absent = whitespace.
std::string Strip(const std::string& s, const std::optional<std::string>& chars, bool left,
                  bool right);

enum class CaseMode { kUpper, kLower, kTitle, kCapitalize };
std::string MapCase(const std::string& s, CaseMode mode);

// str.split / str.rsplit (sep absent = runs of whitespace); a JSON array of strings.
Json Split(const std::string& s, const std::optional<std::string>& sep, int64_t maxsplit,
           bool from_right);
// str.replace(old, new, count) (count < 0 = all).
std::string Replace(const std::string& s, const std::string& from, const std::string& to,
                    int64_t count);
// The code point index of byte offset `byte` in `s`.
int64_t CodePointIndex(const std::string& s, size_t byte);

}  // namespace mamba::jinja
