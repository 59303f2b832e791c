// SPDX-License-Identifier: MIT
// Minimal read-only ZIP archive reader over a MappedFile (enough for torch.save checkpoints):
// End Of Central Directory (with ZIP64), central directory and local headers, stored entries
// only. Layer: io. Entry data is returned as views into the mapping, never copied.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "io/mapped_file.h"

namespace mamba {

struct ZipEntry {
  std::string name;
  uint16_t method = 0;           // 0 = stored; anything else is rejected by Data()
  uint16_t flags = 0;            // general purpose bit flags (bit 0 = encrypted)
  uint64_t compressed_size = 0;  // bytes of entry data in the archive
  uint64_t size = 0;             // uncompressed bytes
  uint64_t data_offset = 0;      // file offset of the entry data (after the local header)
};

class ZipReader {
 public:
  // Parses the archive in `file`: finds the End Of Central Directory record (searching back over
  // at most a 64 KiB comment), follows a ZIP64 locator when present, reads every central
  // directory entry and its local header. Every offset and size is bounds-checked against the
  // file; any inconsistency (bad signature, entry past end of file, truncated directory,
  // duplicate entry names, multi-disk archives) is a DataLoss/InvalidArgument error naming the
  // file and entry. CRC-32 is not verified (that would read every byte of every weight).
  static StatusOr<ZipReader> Open(std::shared_ptr<MappedFile> file);

  // All entries, in central-directory order.
  const std::vector<ZipEntry>& entries() const { return entries_; }

  // Returns the entry called `name`, or nullptr.
  const ZipEntry* Find(std::string_view name) const;

  // Returns the bytes of a stored entry (a view into the mapping, valid while file() lives).
  // Compressed or encrypted entries: Unimplemented, naming the file, entry and method.
  StatusOr<std::string_view> Data(const ZipEntry& entry) const;

  const std::shared_ptr<MappedFile>& file() const { return file_; }

 private:
  std::shared_ptr<MappedFile> file_;
  std::vector<ZipEntry> entries_;
  std::map<std::string, size_t, std::less<>> by_name_;
};

}  // namespace mamba
