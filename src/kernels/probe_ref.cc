// SPDX-License-Identifier: MIT
// Scalar twin of ReadSumU32.
#include <cstring>

#include "kernels/probe.h"

namespace mamba {

uint32_t ReadSumU32Ref(const void* data, size_t bytes) {
  const unsigned char* p = static_cast<const unsigned char*>(data);
  uint32_t sum = 0;
  for (size_t i = 0; i + 4 <= bytes; i += 4) {
    uint32_t w;
    std::memcpy(&w, p + i, 4);
    sum += w;
  }
  return sum;
}

}  // namespace mamba
