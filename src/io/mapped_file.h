// SPDX-License-Identifier: MIT
// A read-only image of a whole file in memory: by default a memory map, whose weights are used in
// place and never copied, so peak RSS stays near the size of the pages actually touched; or,
// with FileAccess::kRead, a copy in anonymous memory (llama.cpp's --no-mmap).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "base/status.h"
#include "io/anonymous_memory.h"

namespace mamba {

// How a weights file gets into memory.
enum class FileAccess {
  // mmap of the file: loads in no time and shares the page cache with other processes; the
  // weights stream as fast as the page cache's folios allow (2 MiB folios: full speed; a file
  // cached in 4 KiB pages streams ~30 % slower here).
  kMap,
  // read(2) into private anonymous memory asked for as transparent huge pages: load costs one
  // copy of the file (and, while the page cache keeps the file, its memory twice over), but the
  // weights stream at the speed of anonymous huge pages, whatever state the page cache is in.
  kRead,
};

class MappedFile {
 public:
  // Maps (or, with kRead, reads) `path` read-only. An empty file gives size 0 with a non-null
  // data() pointer. A file that shrinks while it is read is an IoError.
  static StatusOr<std::shared_ptr<MappedFile>> Open(const std::string& path,
                                                    FileAccess access = FileAccess::kMap);

  // Wraps bytes already in memory (tests, fuzzers); the MappedFile keeps its own copy.
  static std::shared_ptr<MappedFile> FromBytes(std::string name, const void* data, size_t size);

  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }

  // The caller promises that nothing reads [p, p + n) (inside data()) again, e.g. weights the
  // loader copied elsewhere: the memory of the whole pages inside the range is given back to the
  // system and those pages are made inaccessible, so a stray read faults instead of seeing
  // zeros. Bytes sharing a page with the rest of the file stay. Nothing for FromBytes files.
  void Release(const void* p, size_t n);

 private:
  MappedFile() = default;
  std::string path_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  void* map_ = nullptr;   // mmap base of the file, or null
  size_t map_size_ = 0;   // bytes mapped at map_
  AnonymousMemory copy_;  // FileAccess::kRead's copy
  std::string owned_;     // FromBytes storage
};

// Writes the file's dirty pages back and asks the kernel to drop it from the page cache
// (fdatasync + posix_fadvise DONTNEED; advisory, and a no-op where the system has neither). A
// file just written sits in the cache in whatever page sizes the writes left; dropped, its next
// MappedFile::Open faults it back in through the huge-page mapping, in 2 MiB folios where the
// file system supports them, which decode streams faster (docs/PERFORMANCE.md, "Page cache").
Status DropFromPageCache(const std::string& path);

}  // namespace mamba
