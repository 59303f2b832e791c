// SPDX-License-Identifier: MIT
// libFuzzer target: arbitrary bytes -> the torch state-dict pickle interpreter.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "io/pickle.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto records = mamba::ParseTorchPickle(bytes, "fuzz.pkl");
  if (records.ok()) {
    for (const mamba::TorchTensorRecord& r : *records) {
      MAMBA_CHECK(r.shape.size() == r.stride.size(), "shape/stride rank mismatch");
      MAMBA_CHECK(r.storage_offset >= 0 && r.storage_numel >= 0, "negative offset or numel");
    }
  }
  return 0;
}
