// SPDX-License-Identifier: MIT
// libFuzzer target: arbitrary bytes -> ParseModelConfig (both config.json dialects).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "model/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto config = mamba::ParseModelConfig(text, "config.json");
  if (!config.ok()) {
    MAMBA_CHECK(!config.status().message().empty(), "error without a message");
  }
  return 0;
}
