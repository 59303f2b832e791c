// SPDX-License-Identifier: MIT
// libFuzzer target: arbitrary bytes -> ReadSafetensors. Must never crash, leak or read out of
// bounds; every returned tensor view is read in full.
#include <cstddef>
#include <cstdint>

#include "fuzz_util.h"
#include "io/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto file = mamba::MappedFile::FromBytes("fuzz.safetensors", data, size);
  mamba::fuzz::CheckReadResult(mamba::ReadSafetensors(file));
  return 0;
}
