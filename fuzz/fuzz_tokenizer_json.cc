// SPDX-License-Identifier: MIT
// libFuzzer target: arbitrary bytes -> Tokenizer::FromJson; when they parse, encode and decode a
// fixed sample with the result (exercises vocab/merges/added-token tables built from the input).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "tokenizer/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto tok = mamba::Tokenizer::FromJson(text, "tokenizer.json");
  if (!tok.ok()) {
    MAMBA_CHECK(!tok.status().message().empty(), "error without a message");
    return 0;
  }
  const std::vector<int32_t> ids = tok->Encode("Hello, world! <|endoftext|> caf\xc3\xa9 \xff  12345");
  const std::string decoded = tok->Decode(ids);
  mamba::StreamDecoder stream(*tok);
  std::string streamed;
  for (int32_t id : ids) streamed += stream.Push(id);
  streamed += stream.Flush();
  MAMBA_CHECK(streamed == decoded, "streamed decode differs from Decode");
  return 0;
}
