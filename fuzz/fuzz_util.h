// SPDX-License-Identifier: MIT
// Shared helper for the fuzz targets: reads every byte of every tensor a reader returned, so
// AddressSanitizer reports any view that points outside its buffer.
#pragma once

#include <cstdint>

#include "io/tensor_view.h"

namespace mamba::fuzz {

// Returns a checksum of all tensor bytes (the value is irrelevant; the reads are the point).
inline uint64_t TouchAllTensors(const TensorSet& set) {
  uint64_t sum = 0;
  for (const std::string& name : set.Names()) {
    const TensorView* t = set.Find(name);
    MAMBA_CHECK(t != nullptr && t->file != nullptr, "tensor '%s' has no file", name.c_str());
    MAMBA_CHECK(
        t->data >= t->file->data() && t->data + t->nbytes <= t->file->data() + t->file->size(),
        "tensor '%s' points outside its file", name.c_str());
    MAMBA_CHECK(static_cast<size_t>(t->numel()) * GetDTypeInfo(t->dtype).block_bytes == t->nbytes,
                "tensor '%s' nbytes does not match its shape", name.c_str());
    for (size_t i = 0; i < t->nbytes; ++i) sum += t->data[i];
  }
  return sum;
}

}  // namespace mamba::fuzz
