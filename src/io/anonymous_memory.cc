// SPDX-License-Identifier: MIT
#include "io/anonymous_memory.h"

#include <sys/mman.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace mamba {

namespace {
constexpr size_t kHugePage = size_t{2} << 20;
}  // namespace

StatusOr<AnonymousMemory> AnonymousMemory::Allocate(size_t size, const std::string& what) {
  AnonymousMemory m;
  if (size == 0) return m;
  // Over-map by one huge page and trim, so the start is 2 MiB aligned.
  const size_t len = (size + kHugePage - 1) / kHugePage * kHugePage;
  void* raw =
      ::mmap(nullptr, len + kHugePage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) {
    return IoError(what + ": cannot allocate " + std::to_string(size) +
                   " bytes: " + std::strerror(errno));
  }
  const auto raw_addr = reinterpret_cast<uintptr_t>(raw);
  const uintptr_t base = (raw_addr + kHugePage - 1) / kHugePage * kHugePage;
  if (base > raw_addr) ::munmap(raw, base - raw_addr);
  const size_t tail = raw_addr + len + kHugePage - (base + len);
  if (tail > 0) ::munmap(reinterpret_cast<void*>(base + len), tail);
#ifdef MADV_HUGEPAGE
  (void)::madvise(reinterpret_cast<void*>(base), len, MADV_HUGEPAGE);  // advisory
#endif
  m.data_ = reinterpret_cast<uint8_t*>(base);
  m.size_ = size;
  m.map_size_ = len;
  return m;
}

AnonymousMemory::~AnonymousMemory() {
  if (data_ != nullptr) ::munmap(data_, map_size_);
}

AnonymousMemory& AnonymousMemory::operator=(AnonymousMemory&& o) noexcept {
  if (this != &o) {
    if (data_ != nullptr) ::munmap(data_, map_size_);
    data_ = std::exchange(o.data_, nullptr);
    size_ = std::exchange(o.size_, 0);
    map_size_ = std::exchange(o.map_size_, 0);
  }
  return *this;
}

void AnonymousMemory::MakeReadOnly() {
  if (data_ != nullptr) (void)::mprotect(data_, map_size_, PROT_READ);
}

}  // namespace mamba
