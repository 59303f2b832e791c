// SPDX-License-Identifier: MIT
// A read-only memory map of a whole file. Weights are used in place from the map, never copied,
// so peak RSS stays near the size of the pages actually touched.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "base/status.h"

namespace mamba {

class MappedFile {
 public:
  // Maps `path` read-only. An empty file maps to size 0 with a non-null data() pointer.
  static StatusOr<std::shared_ptr<MappedFile>> Open(const std::string& path);

  // Wraps bytes already in memory (tests, fuzzers); the MappedFile keeps its own copy.
  static std::shared_ptr<MappedFile> FromBytes(std::string name, const void* data, size_t size);

  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  MappedFile() = default;
  std::string path_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  void* map_ = nullptr;  // mmap base, or null
  std::string owned_;    // FromBytes storage
};

}  // namespace mamba
