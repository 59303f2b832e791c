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
    const DTypeInfo& info = GetDTypeInfo(t->dtype);
    MAMBA_CHECK(t->numel() % info.block_size == 0 &&
                    static_cast<size_t>(t->numel() / info.block_size) * info.block_bytes ==
                        t->nbytes,
                "tensor '%s' nbytes does not match its shape", name.c_str());
    for (size_t i = 0; i < t->nbytes; ++i) sum += t->data[i];
  }
  return sum;
}

// The common body of the reader fuzzers: a successful read must give views that stay inside
// their file (every byte is touched); a failure must carry a message.
inline void CheckReadResult(const StatusOr<TensorSet>& set) {
  if (set.ok()) {
    volatile uint64_t sink = TouchAllTensors(*set);
    (void)sink;
  } else {
    MAMBA_CHECK(!set.status().message().empty(), "error without a message");
  }
}

}  // namespace mamba::fuzz
