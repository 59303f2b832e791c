// SPDX-License-Identifier: MIT
// A heap buffer of T aligned to 64 bytes (cache line and widest SIMD vector). Move-only: copying
// activations or states is a cost that must be spelled out (see Clone()).
#pragma once

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "base/check.h"

namespace mamba {

template <class T>
class AlignedBuffer {
 public:
  AlignedBuffer() = default;
  explicit AlignedBuffer(size_t n) { Resize(n); }
  ~AlignedBuffer() { std::free(data_); }
  AlignedBuffer(AlignedBuffer&& o) noexcept
      : data_(std::exchange(o.data_, nullptr)), size_(std::exchange(o.size_, 0)) {}
  AlignedBuffer& operator=(AlignedBuffer&& o) noexcept {
    if (this != &o) {
      std::free(data_);
      data_ = std::exchange(o.data_, nullptr);
      size_ = std::exchange(o.size_, 0);
    }
    return *this;
  }
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;

  // Reallocates to `n` zeroed elements (old contents are discarded).
  void Resize(size_t n) {
    std::free(data_);
    data_ = nullptr;
    size_ = n;
    if (n == 0) return;
    const size_t bytes = (n * sizeof(T) + 63) / 64 * 64;
    data_ = static_cast<T*>(std::aligned_alloc(64, bytes));
    MAMBA_CHECK(data_ != nullptr, "out of memory allocating %zu bytes", bytes);
    std::memset(static_cast<void*>(data_), 0, bytes);
  }
  // Grows to at least `n` elements; contents are unspecified afterwards.
  void EnsureSize(size_t n) {
    if (n > size_) Resize(n);
  }
  void Zero() {
    if (size_) std::memset(static_cast<void*>(data_), 0, size_ * sizeof(T));
  }
  AlignedBuffer Clone() const {
    AlignedBuffer out(size_);
    if (size_) std::memcpy(static_cast<void*>(out.data_), data_, size_ * sizeof(T));
    return out;
  }

  T* data() { return data_; }
  const T* data() const { return data_; }
  size_t size() const { return size_; }
  T& operator[](size_t i) { return data_[i]; }
  const T& operator[](size_t i) const { return data_[i]; }

 private:
  T* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace mamba
