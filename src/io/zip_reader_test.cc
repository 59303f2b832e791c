// SPDX-License-Identifier: MIT
// Tests for the ZIP reader: the real torch.save checkpoint (ZIP64, 64-byte aligned entries),
// archives built in memory, and corrupt central directories / local headers / truncations.
#include "io/zip_reader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>

#include "io/io_test_util.h"

namespace mamba {
namespace {

using ::mamba::testing::BuildZip;
using ::mamba::testing::ZipBuildEntry;
using ::testing::HasSubstr;

constexpr char kName[] = "archive.zip";

StatusOr<ZipReader> OpenBytes(const std::string& bytes) {
  return ZipReader::Open(MappedFile::FromBytes(kName, bytes.data(), bytes.size()));
}

Status OpenError(const std::string& bytes) {
  StatusOr<ZipReader> zip = OpenBytes(bytes);
  EXPECT_FALSE(zip.ok());
  if (zip.ok()) return Status::Ok();
  EXPECT_THAT(zip.status().message(), HasSubstr(kName));
  return zip.status();
}

std::vector<ZipBuildEntry> TwoEntries() {
  return {{"top/data.pkl", "pickle bytes"}, {"top/data/0", std::string(100, '\x07')}};
}

// Offset of the last occurrence of a 4-byte little-endian signature.
size_t FindSig(const std::string& bytes, uint32_t sig) {
  std::string needle;
  ::mamba::testing::PutU32(needle, sig);
  return bytes.rfind(needle);
}

TEST(ZipReaderTest, ReadsTorchCheckpoint) {
  const std::string path =
      ::mamba::testing::ModelPath("mamba1-tiny/variants/pt_bin/pytorch_model.bin");
  StatusOr<std::shared_ptr<MappedFile>> file = MappedFile::Open(path);
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  StatusOr<ZipReader> zip = ZipReader::Open(*file);
  ASSERT_TRUE(zip.ok()) << zip.status().ToString();
  EXPECT_EQ(zip->entries().size(), 24u);
  const ZipEntry* pkl = zip->Find("pytorch_model/data.pkl");
  ASSERT_NE(pkl, nullptr);
  StatusOr<std::string_view> data = zip->Data(*pkl);
  ASSERT_TRUE(data.ok());
  EXPECT_EQ(data->size(), 3098u);
  EXPECT_EQ(static_cast<uint8_t>((*data)[0]), 0x80);  // PROTO
  EXPECT_EQ(data->back(), '.');                       // STOP
  const ZipEntry* storage = zip->Find("pytorch_model/data/0");
  ASSERT_NE(storage, nullptr);
  EXPECT_EQ(storage->size, 65536u);
  EXPECT_EQ(storage->data_offset % 64, 0u);
  StatusOr<std::string_view> version = zip->Data(*zip->Find("pytorch_model/version"));
  ASSERT_TRUE(version.ok());
  EXPECT_EQ(*version, "3\n");
  EXPECT_EQ(zip->Find("pytorch_model/data/99"), nullptr);
}

TEST(ZipReaderTest, ReadsBuiltArchivesWithAndWithoutZip64) {
  for (bool zip64 : {false, true}) {
    for (const std::string& comment : {std::string(), std::string("a comment PK")}) {
      StatusOr<ZipReader> zip = OpenBytes(BuildZip(TwoEntries(), zip64, 64, comment));
      ASSERT_TRUE(zip.ok()) << zip.status().ToString();
      ASSERT_EQ(zip->entries().size(), 2u);
      EXPECT_EQ(zip->entries()[0].name, "top/data.pkl");
      EXPECT_EQ(*zip->Data(*zip->Find("top/data.pkl")), "pickle bytes");
      EXPECT_EQ(*zip->Data(*zip->Find("top/data/0")), std::string(100, '\x07'));
      EXPECT_EQ(zip->Find("top/data/0")->data_offset % 64, 0u);
    }
  }
  StatusOr<ZipReader> empty = OpenBytes(BuildZip({}));
  ASSERT_TRUE(empty.ok()) << empty.status().ToString();
  EXPECT_TRUE(empty->entries().empty());
}

TEST(ZipReaderTest, NotAZip) {
  Status s = OpenError("hello");
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
  EXPECT_THAT(s.message(), HasSubstr("too short for a zip archive"));
  s = OpenError(std::string(1000, 'x'));
  EXPECT_THAT(s.message(), HasSubstr("end of central directory record not found"));
}

TEST(ZipReaderTest, BadCentralDirectorySignature) {
  std::string bytes = BuildZip(TwoEntries());
  bytes[FindSig(bytes, 0x02014b50)] = 'X';  // second entry's header
  Status s = OpenError(bytes);
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
  EXPECT_THAT(s.message(), HasSubstr("archive.zip: central directory entry 1: bad signature"));
}

TEST(ZipReaderTest, CentralDirectoryOffsetPastEof) {
  std::string bytes = BuildZip(TwoEntries());
  const size_t eocd = FindSig(bytes, 0x06054b50);
  const uint32_t past = static_cast<uint32_t>(bytes.size() + 100);
  std::memcpy(&bytes[eocd + 16], &past, 4);
  Status s = OpenError(bytes);
  EXPECT_THAT(s.message(), HasSubstr("central directory ["));
  EXPECT_THAT(s.message(), HasSubstr("is out of range"));
}

TEST(ZipReaderTest, EntryOffsetPastEof) {
  std::string bytes = BuildZip(TwoEntries());
  const size_t central = FindSig(bytes, 0x02014b50);  // entry 1
  const uint32_t past = 0x7FFFFFF0u;
  std::memcpy(&bytes[central + 42], &past, 4);
  Status s = OpenError(bytes);
  EXPECT_THAT(s.message(),
              HasSubstr("archive.zip: zip entry 'top/data/0': local header offset 2147483632 is "
                        "out of range"));
}

TEST(ZipReaderTest, EntrySizePastEof) {
  std::string bytes = BuildZip(TwoEntries());
  const size_t central = FindSig(bytes, 0x02014b50);
  const uint32_t huge = 0x10000000u;
  std::memcpy(&bytes[central + 20], &huge, 4);
  std::memcpy(&bytes[central + 24], &huge, 4);
  Status s = OpenError(bytes);
  EXPECT_THAT(s.message(), HasSubstr("zip entry 'top/data/0': data ["));
  EXPECT_THAT(s.message(), HasSubstr("runs past the entry data area"));
}

TEST(ZipReaderTest, EntryCountLargerThanDirectory) {
  std::string bytes = BuildZip(TwoEntries());
  const size_t eocd = FindSig(bytes, 0x06054b50);
  const uint16_t many = 0xFFF0;
  std::memcpy(&bytes[eocd + 8], &many, 2);
  std::memcpy(&bytes[eocd + 10], &many, 2);
  Status s = OpenError(bytes);
  EXPECT_THAT(s.message(), HasSubstr("central directory claims 65520 entries"));
}

TEST(ZipReaderTest, LocalHeaderNameMismatch) {
  std::string bytes = BuildZip(TwoEntries());
  bytes[30] = 'X';  // first local header's name
  Status s = OpenError(bytes);
  EXPECT_THAT(s.message(), HasSubstr("zip entry 'top/data.pkl': local header name does not match"));
}

TEST(ZipReaderTest, BadZip64Record) {
  std::string bytes = BuildZip(TwoEntries(), /*zip64=*/true);
  bytes[FindSig(bytes, 0x06064b50)] = 'X';
  Status s = OpenError(bytes);
  EXPECT_THAT(s.message(), HasSubstr("bad ZIP64 end of central directory signature"));
}

TEST(ZipReaderTest, DuplicateEntryNames) {
  Status s = OpenError(BuildZip({{"a", "1"}, {"a", "2"}}));
  EXPECT_THAT(s.message(), HasSubstr("zip entry 'a': duplicate entry name"));
}

TEST(ZipReaderTest, TruncatedAtEveryPointFails) {
  const std::string bytes = BuildZip(TwoEntries(), /*zip64=*/true);
  for (size_t cut = 0; cut < bytes.size(); ++cut) {
    StatusOr<ZipReader> zip = OpenBytes(bytes.substr(0, cut));
    EXPECT_FALSE(zip.ok()) << "cut at " << cut;
  }
}

TEST(ZipReaderTest, CompressedAndEncryptedEntriesAreUnimplemented) {
  std::vector<ZipBuildEntry> entries = TwoEntries();
  entries[1].method = 8;
  entries.push_back({"top/secret", "x", 0, /*flags=*/1});
  StatusOr<ZipReader> zip = OpenBytes(BuildZip(entries));
  ASSERT_TRUE(zip.ok()) << zip.status().ToString();
  EXPECT_TRUE(zip->Data(*zip->Find("top/data.pkl")).ok());
  Status s = zip->Data(*zip->Find("top/data/0")).status();
  EXPECT_EQ(s.code(), StatusCode::kUnimplemented);
  EXPECT_EQ(s.message(),
            "archive.zip: zip entry 'top/data/0' uses compression method 8 (deflate); only stored "
            "(method 0) entries are supported");
  s = zip->Data(*zip->Find("top/secret")).status();
  EXPECT_EQ(s.code(), StatusCode::kUnimplemented);
  EXPECT_THAT(s.message(), HasSubstr("zip entry 'top/secret' is encrypted"));
}

TEST(ZipReaderTest, MultiDiskIsUnimplemented) {
  std::string bytes = BuildZip(TwoEntries());
  const size_t eocd = FindSig(bytes, 0x06054b50);
  bytes[eocd + 4] = 1;
  Status s = OpenError(bytes);
  EXPECT_EQ(s.code(), StatusCode::kUnimplemented);
}

// Every single-byte corruption of the directory area opens cleanly or fails cleanly.
TEST(ZipReaderTest, SingleByteCorruptionsNeverCrash) {
  for (bool zip64 : {false, true}) {
    const std::string good = BuildZip(TwoEntries(), zip64, 1);
    for (size_t i = 0; i < good.size(); ++i) {
      for (char v : {'\0', '\x01', '\x7f', '\xff'}) {
        std::string bad = good;
        bad[i] = v;
        StatusOr<ZipReader> zip = OpenBytes(bad);
        if (!zip.ok()) continue;
        for (const ZipEntry& e : zip->entries()) {
          StatusOr<std::string_view> data = zip->Data(e);
          if (data.ok() && !data->empty()) {
            EXPECT_GE(static_cast<const void*>(data->data()),
                      static_cast<const void*>(zip->file()->data()));
            EXPECT_LE(static_cast<const void*>(data->data() + data->size()),
                      static_cast<const void*>(zip->file()->data() + zip->file()->size()));
          }
        }
      }
    }
  }
}

}  // namespace
}  // namespace mamba
