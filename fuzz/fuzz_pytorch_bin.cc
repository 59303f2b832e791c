// SPDX-License-Identifier: MIT
// libFuzzer target: arbitrary bytes -> ReadPytorchBin (zip reader + pickle interpreter + storage
// resolution). Every returned tensor view is read in full.
#include <cstddef>
#include <cstdint>

#include "fuzz_util.h"
#include "io/pytorch_bin.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto file = mamba::MappedFile::FromBytes("fuzz.bin", data, size);
  mamba::StatusOr<mamba::TensorSet> set = mamba::ReadPytorchBin(file);
  if (set.ok()) {
    volatile uint64_t sink = mamba::fuzz::TouchAllTensors(*set);
    (void)sink;
  } else {
    MAMBA_CHECK(!set.status().message().empty(), "error without a message");
  }
  return 0;
}
