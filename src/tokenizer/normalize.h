// SPDX-License-Identifier: MIT
// Unicode normalization for the tokenizer: NFC with Unicode 9.0 semantics, which is what Hugging
// Face tokenizers applies (its unicode-normalization-alignments crate carries 9.0 tables). The
// character data comes from utf8proc; characters assigned after 9.0 are treated as 9.0 treats
// them: unassigned, so inert starters that never decompose, compose or reorder.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace mamba {

// Returns true when `cp` was assigned in Unicode 9.0.
bool IsUnicode9Assigned(uint32_t cp);

// Returns true when `cp` is a Unicode 9.0 character with canonical combining class != 0 or
// NFC_Quick_Check != Yes; text without any such character is already in NFC.
bool IsNfcUnsafe(uint32_t cp);

// Normalizes `text` to NFC (Unicode 9.0) and returns true, storing the result in `out`; returns
// false, leaving `out` untouched, when `text` is already in NFC (the common case, found without
// copying). Bytes that are not well-formed UTF-8 pass through unchanged and act as boundaries
// that nothing composes or reorders across.
bool NormalizeNfc(std::string_view text, std::string& out);

}  // namespace mamba
