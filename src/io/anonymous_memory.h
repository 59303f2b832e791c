// SPDX-License-Identifier: MIT
// AnonymousMemory: private anonymous memory aligned to 2 MiB and asked for as transparent huge
// pages, for weight bytes the process writes itself (FileAccess::kRead's copy of a file, weights
// regrouped at load), so decode streams them in huge pages.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>

#include "base/status.h"

namespace mamba {

class AnonymousMemory {
 public:
  // `size` bytes (rounded up to whole 2 MiB pages in the mapping), zeroed and writable; an
  // IoError naming `what` and the size when the system refuses them.
  static StatusOr<AnonymousMemory> Allocate(size_t size, const std::string& what);

  AnonymousMemory() = default;
  ~AnonymousMemory();
  AnonymousMemory(AnonymousMemory&& o) noexcept
      : data_(std::exchange(o.data_, nullptr)),
        size_(std::exchange(o.size_, 0)),
        map_size_(std::exchange(o.map_size_, 0)) {}
  AnonymousMemory& operator=(AnonymousMemory&& o) noexcept;
  AnonymousMemory(const AnonymousMemory&) = delete;
  AnonymousMemory& operator=(const AnonymousMemory&) = delete;

  uint8_t* data() const { return data_; }  // 2 MiB aligned; null when empty
  size_t size() const { return size_; }

  // Makes the memory read-only from now on (a stray write faults instead of corrupting weights).
  void MakeReadOnly();

 private:
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
  size_t map_size_ = 0;
};

}  // namespace mamba
