// SPDX-License-Identifier: MIT
// ZIP reader: EOCD / ZIP64 / central directory / local header parsing, every read bounds-checked.
#include "io/zip_reader.h"

#include <algorithm>
#include <utility>

namespace mamba {
namespace {

constexpr uint32_t kLocalHeaderSig = 0x04034b50;
constexpr uint32_t kCentralHeaderSig = 0x02014b50;
constexpr uint32_t kEocdSig = 0x06054b50;
constexpr uint32_t kZip64EocdSig = 0x06064b50;
constexpr uint32_t kZip64LocatorSig = 0x07064b50;
constexpr uint64_t kEocdBytes = 22;
constexpr uint64_t kZip64LocatorBytes = 20;
constexpr uint64_t kZip64EocdBytes = 56;
constexpr uint64_t kCentralHeaderBytes = 46;
constexpr uint64_t kLocalHeaderBytes = 30;
constexpr uint64_t kMaxCommentBytes = 0xFFFF;
constexpr uint16_t kZip64ExtraId = 0x0001;

uint16_t U16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
uint32_t U32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) |
         (static_cast<uint32_t>(p[2]) << 16) | (static_cast<uint32_t>(p[3]) << 24);
}
uint64_t U64(const uint8_t* p) { return U32(p) | (static_cast<uint64_t>(U32(p + 4)) << 32); }

// True when [offset, offset + len) lies inside [0, limit), without overflow.
bool InRange(uint64_t offset, uint64_t len, uint64_t limit) {
  return offset <= limit && len <= limit - offset;
}

std::string MethodName(uint16_t method) {
  switch (method) {
    case 8:
      return "8 (deflate)";
    case 12:
      return "12 (bzip2)";
    case 14:
      return "14 (lzma)";
    case 93:
      return "93 (zstd)";
    default:
      return std::to_string(method);
  }
}

struct Directory {
  uint64_t entries = 0;
  uint64_t offset = 0;
  uint64_t size = 0;
  uint64_t end_limit = 0;  // the central directory must end at or before this offset
};

StatusOr<Directory> FindDirectory(const MappedFile& file) {
  const std::string& name = file.path();
  const uint8_t* data = file.data();
  const uint64_t size = file.size();
  if (size < kEocdBytes) {
    return DataLossError(name + ": " + std::to_string(size) +
                         " bytes is too short for a zip archive (no end of central directory)");
  }
  // Search backwards for the EOCD record; prefer one whose comment ends exactly at end of file.
  const uint64_t last = size - kEocdBytes;
  const uint64_t first = last > kMaxCommentBytes ? last - kMaxCommentBytes : 0;
  uint64_t eocd = UINT64_MAX;
  uint64_t loose = UINT64_MAX;
  for (uint64_t pos = last + 1; pos-- > first;) {
    if (U32(data + pos) != kEocdSig) continue;
    const uint64_t comment = U16(data + pos + 20);
    if (pos + kEocdBytes + comment == size) {
      eocd = pos;
      break;
    }
    if (loose == UINT64_MAX && pos + kEocdBytes + comment <= size) loose = pos;
  }
  if (eocd == UINT64_MAX) eocd = loose;
  if (eocd == UINT64_MAX) {
    return DataLossError(name +
                         ": end of central directory record not found (not a zip "
                         "archive, or truncated)");
  }
  const uint8_t* e = data + eocd;
  Directory dir;
  uint32_t disk = U16(e + 4);
  uint32_t cd_disk = U16(e + 6);
  uint64_t disk_entries = U16(e + 8);
  dir.entries = U16(e + 10);
  dir.size = U32(e + 12);
  dir.offset = U32(e + 16);
  dir.end_limit = eocd;

  if (eocd >= kZip64LocatorBytes && U32(data + eocd - kZip64LocatorBytes) == kZip64LocatorSig) {
    const uint64_t locator = eocd - kZip64LocatorBytes;
    const uint8_t* l = data + locator;
    const uint64_t record = U64(l + 8);
    if (U32(l + 4) != 0 || U32(l + 16) > 1) {
      return UnimplementedError(name + ": multi-disk zip archives are not supported");
    }
    if (!InRange(record, kZip64EocdBytes, locator)) {
      return DataLossError(name + ": ZIP64 end of central directory offset " +
                           std::to_string(record) + " is out of range");
    }
    const uint8_t* r = data + record;
    if (U32(r) != kZip64EocdSig) {
      return DataLossError(name + ": bad ZIP64 end of central directory signature at offset " +
                           std::to_string(record));
    }
    disk = U32(r + 16);
    cd_disk = U32(r + 20);
    disk_entries = U64(r + 24);
    dir.entries = U64(r + 32);
    dir.size = U64(r + 40);
    dir.offset = U64(r + 48);
    dir.end_limit = record;
  }
  if (disk != 0 || cd_disk != 0 || disk_entries != dir.entries) {
    return UnimplementedError(name + ": multi-disk zip archives are not supported");
  }
  if (!InRange(dir.offset, dir.size, dir.end_limit)) {
    return DataLossError(name + ": central directory [" + std::to_string(dir.offset) + ", +" +
                         std::to_string(dir.size) + ") is out of range (file is " +
                         std::to_string(size) + " bytes)");
  }
  if (dir.entries > dir.size / kCentralHeaderBytes) {
    return DataLossError(name + ": central directory claims " + std::to_string(dir.entries) +
                         " entries but holds only " + std::to_string(dir.size) + " bytes");
  }
  return dir;
}

// Applies the ZIP64 extended information extra field to the 32-bit fields that hold 0xFFFFFFFF.
Status ApplyZip64Extra(const uint8_t* extra, uint64_t extra_len, ZipEntry& entry,
                       uint64_t& local_offset, const std::string& where) {
  uint64_t pos = 0;
  while (pos + 4 <= extra_len) {
    const uint16_t id = U16(extra + pos);
    const uint64_t len = U16(extra + pos + 2);
    pos += 4;
    if (len > extra_len - pos) return DataLossError(where + ": extra field runs past its end");
    if (id == kZip64ExtraId) {
      const uint8_t* f = extra + pos;
      uint64_t used = 0;
      auto take = [&](uint64_t& value) -> Status {
        if (used + 8 > len) return DataLossError(where + ": ZIP64 extra field too short");
        value = U64(f + used);
        used += 8;
        return Status::Ok();
      };
      if (entry.size == 0xFFFFFFFFu) MAMBA_RETURN_IF_ERROR(take(entry.size));
      if (entry.compressed_size == 0xFFFFFFFFu) MAMBA_RETURN_IF_ERROR(take(entry.compressed_size));
      if (local_offset == 0xFFFFFFFFu) MAMBA_RETURN_IF_ERROR(take(local_offset));
    }
    pos += len;
  }
  return Status::Ok();
}

}  // namespace

StatusOr<ZipReader> ZipReader::Open(std::shared_ptr<MappedFile> file) {
  MAMBA_CHECK(file != nullptr);
  const std::string& name = file->path();
  const uint8_t* data = file->data();
  MAMBA_ASSIGN_OR_RETURN(Directory dir, FindDirectory(*file));

  ZipReader reader;
  const uint64_t cd_end = dir.offset + dir.size;
  uint64_t pos = dir.offset;
  reader.entries_.reserve(static_cast<size_t>(dir.entries));
  for (uint64_t i = 0; i < dir.entries; ++i) {
    const std::string at = name + ": central directory entry " + std::to_string(i);
    if (!InRange(pos, kCentralHeaderBytes, cd_end)) {
      return DataLossError(at + ": truncated central directory");
    }
    const uint8_t* c = data + pos;
    if (U32(c) != kCentralHeaderSig) {
      return DataLossError(at + ": bad signature at offset " + std::to_string(pos));
    }
    ZipEntry entry;
    entry.flags = U16(c + 8);
    entry.method = U16(c + 10);
    entry.compressed_size = U32(c + 20);
    entry.size = U32(c + 24);
    const uint64_t name_len = U16(c + 28);
    const uint64_t extra_len = U16(c + 30);
    const uint64_t comment_len = U16(c + 32);
    uint64_t local_offset = U32(c + 42);
    if (!InRange(pos + kCentralHeaderBytes, name_len + extra_len + comment_len, cd_end)) {
      return DataLossError(at + ": name/extra/comment run past the central directory");
    }
    entry.name.assign(reinterpret_cast<const char*>(c + kCentralHeaderBytes), name_len);
    const std::string where = name + ": zip entry '" + entry.name + "'";
    MAMBA_RETURN_IF_ERROR(
        ApplyZip64Extra(c + kCentralHeaderBytes + name_len, extra_len, entry, local_offset, where));
    pos += kCentralHeaderBytes + name_len + extra_len + comment_len;

    // Local header: signature and name must agree with the central directory.
    if (!InRange(local_offset, kLocalHeaderBytes, dir.offset)) {
      return DataLossError(where + ": local header offset " + std::to_string(local_offset) +
                           " is out of range");
    }
    const uint8_t* l = data + local_offset;
    if (U32(l) != kLocalHeaderSig) {
      return DataLossError(where + ": bad local header signature at offset " +
                           std::to_string(local_offset));
    }
    const uint64_t local_name_len = U16(l + 26);
    const uint64_t local_extra_len = U16(l + 28);
    const uint64_t header_end = local_offset + kLocalHeaderBytes;
    if (!InRange(header_end, local_name_len + local_extra_len, dir.offset)) {
      return DataLossError(where + ": local header runs past the entry data area");
    }
    if (local_name_len != name_len ||
        std::string_view(reinterpret_cast<const char*>(l + kLocalHeaderBytes), name_len) !=
            entry.name) {
      return DataLossError(where + ": local header name does not match the central directory");
    }
    entry.data_offset = header_end + local_name_len + local_extra_len;
    if (!InRange(entry.data_offset, entry.compressed_size, dir.offset)) {
      return DataLossError(where + ": data [" + std::to_string(entry.data_offset) + ", +" +
                           std::to_string(entry.compressed_size) +
                           ") runs past the entry data area (file is " +
                           std::to_string(file->size()) + " bytes)");
    }
    if (entry.method == 0 && entry.compressed_size != entry.size) {
      return DataLossError(where + ": stored entry has compressed size " +
                           std::to_string(entry.compressed_size) + " != size " +
                           std::to_string(entry.size));
    }
    if (!reader.by_name_.emplace(entry.name, reader.entries_.size()).second) {
      return DataLossError(where + ": duplicate entry name");
    }
    reader.entries_.push_back(std::move(entry));
  }
  reader.file_ = std::move(file);
  return reader;
}

const ZipEntry* ZipReader::Find(std::string_view name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : &entries_[it->second];
}

StatusOr<std::string_view> ZipReader::Data(const ZipEntry& entry) const {
  const std::string where = file_->path() + ": zip entry '" + entry.name + "'";
  if (entry.flags & 1u) {
    return UnimplementedError(where + " is encrypted; encrypted entries are not supported");
  }
  if (entry.method != 0) {
    return UnimplementedError(where + " uses compression method " + MethodName(entry.method) +
                              "; only stored (method 0) entries are supported");
  }
  return std::string_view(reinterpret_cast<const char*>(file_->data() + entry.data_offset),
                          static_cast<size_t>(entry.size));
}

}  // namespace mamba
