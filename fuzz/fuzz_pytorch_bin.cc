// SPDX-License-Identifier: MIT
// libFuzzer target: arbitrary bytes -> ReadPytorchBin (zip reader + pickle interpreter + storage
// resolution). Every returned tensor view is read in full.
#include <cstddef>
#include <cstdint>

#include "fuzz_util.h"
#include "io/pytorch_bin.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto file = mamba::MappedFile::FromBytes("fuzz.bin", data, size);
  mamba::fuzz::CheckReadResult(mamba::ReadPytorchBin(file));
  return 0;
}
