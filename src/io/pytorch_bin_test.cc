// SPDX-License-Identifier: MIT
// Tests for the pytorch_model.bin reader: real torch 1.13 checkpoints compared byte for byte with
// the model.safetensors of the same case, and checkpoints rebuilt in memory with one defect each.
#include "io/pytorch_bin.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <functional>

#include "io/io_test_util.h"
#include "io/safetensors.h"
#include "io/zip_reader.h"

namespace mamba {
namespace {

using ::mamba::testing::BuildZip;
using ::mamba::testing::ModelPath;
using ::mamba::testing::ZipBuildEntry;
using ::testing::HasSubstr;

constexpr char kName[] = "pytorch_model.bin";
const char kTinyBin[] = "mamba1-tiny/variants/pt_bin/pytorch_model.bin";

StatusOr<TensorSet> ReadBytes(const std::string& bytes) {
  return ReadPytorchBin(MappedFile::FromBytes(kName, bytes.data(), bytes.size()));
}

Status ReadError(const std::string& bytes) {
  StatusOr<TensorSet> set = ReadBytes(bytes);
  EXPECT_FALSE(set.ok());
  if (set.ok()) return Status::Ok();
  EXPECT_THAT(set.status().message(), HasSubstr(kName));
  return set.status();
}

// The entries of the tiny checkpoint, for rebuilding modified archives.
std::vector<ZipBuildEntry> TinyEntries() {
  const std::string bytes = ::mamba::testing::ReadFileBytes(ModelPath(kTinyBin));
  auto zip = ZipReader::Open(MappedFile::FromBytes(kName, bytes.data(), bytes.size()));
  std::vector<ZipBuildEntry> entries;
  if (!zip.ok()) return entries;
  for (const ZipEntry& e : zip->entries()) {
    entries.push_back({e.name, std::string(*zip->Data(e))});
  }
  return entries;
}

ZipBuildEntry* FindEntry(std::vector<ZipBuildEntry>& entries, const std::string& name) {
  for (ZipBuildEntry& e : entries) {
    if (e.name == name) return &e;
  }
  return nullptr;
}

// Replaces the first occurrence of `from` in the data.pkl entry with `to`.
std::string WithPickleEdit(const std::string& from, const std::string& to) {
  std::vector<ZipBuildEntry> entries = TinyEntries();
  std::string& pkl = FindEntry(entries, "pytorch_model/data.pkl")->data;
  const size_t at = pkl.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) pkl.replace(at, from.size(), to);
  return BuildZip(entries, true);
}

void ExpectSameAsSafetensors(const std::string& case_dir, size_t expected_tensors) {
  StatusOr<TensorSet> bin = LoadPytorchBinFile(ModelPath(case_dir + "/variants/pt_bin/" + kName));
  ASSERT_TRUE(bin.ok()) << bin.status().ToString();
  StatusOr<TensorSet> st = LoadSafetensorsFile(ModelPath(case_dir + "/model.safetensors"));
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  EXPECT_EQ(bin->size(), expected_tensors);
  EXPECT_EQ(bin->size(), st->size() + 1);  // + lm_head.weight
  for (const std::string& name : st->Names()) {
    const TensorView* a = st->Find(name);
    const TensorView* b = bin->Find(name);
    ASSERT_NE(b, nullptr) << name;
    EXPECT_EQ(a->shape, b->shape) << name;
    EXPECT_EQ(a->dtype, b->dtype) << name;
    ASSERT_EQ(a->nbytes, b->nbytes) << name;
    EXPECT_EQ(std::memcmp(a->data, b->data, a->nbytes), 0) << name;
    EXPECT_EQ(reinterpret_cast<uintptr_t>(b->data) % 64, 0u) << name;
  }
  // The tied head shares the embedding's storage: same bytes, same address.
  const TensorView* head = bin->Find("lm_head.weight");
  const TensorView* embedding = bin->Find("backbone.embedding.weight");
  ASSERT_NE(head, nullptr);
  ASSERT_NE(embedding, nullptr);
  EXPECT_EQ(head->data, embedding->data);
  EXPECT_EQ(head->shape, embedding->shape);
  EXPECT_EQ(head->nbytes, embedding->nbytes);
}

TEST(PytorchBinTest, TinyMatchesSafetensors) { ExpectSameAsSafetensors("mamba1-tiny", 23); }

TEST(PytorchBinTest, V997MatchesSafetensors) { ExpectSameAsSafetensors("mamba1-small-v997", 23); }

TEST(PytorchBinTest, AnyPrefixFolderAndNoZip64) {
  std::vector<ZipBuildEntry> entries = TinyEntries();
  ASSERT_FALSE(entries.empty());
  for (ZipBuildEntry& e : entries) e.name = "archive" + e.name.substr(e.name.find('/'));
  for (bool zip64 : {false, true}) {
    StatusOr<TensorSet> set = ReadBytes(BuildZip(entries, zip64));
    ASSERT_TRUE(set.ok()) << set.status().ToString();
    EXPECT_EQ(set->size(), 23u);
  }
}

TEST(PytorchBinTest, NotAZip) {
  const std::string bytes =
      ::mamba::testing::ReadFileBytes(ModelPath("mamba1-tiny/model.safetensors"));
  Status s = ReadError(bytes);
  EXPECT_THAT(s.message(), HasSubstr("end of central directory record not found"));
}

TEST(PytorchBinTest, NoDataPkl) {
  std::vector<ZipBuildEntry> entries = TinyEntries();
  FindEntry(entries, "pytorch_model/data.pkl")->name = "pytorch_model/other.pkl";
  Status s = ReadError(BuildZip(entries));
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_THAT(s.message(), HasSubstr("no '<prefix>/data.pkl' entry"));
}

TEST(PytorchBinTest, TwoDataPkls) {
  std::vector<ZipBuildEntry> entries = TinyEntries();
  entries.push_back({"other/data.pkl", FindEntry(entries, "pytorch_model/data.pkl")->data});
  Status s = ReadError(BuildZip(entries));
  EXPECT_THAT(s.message(), HasSubstr("more than one top-level data.pkl"));
}

TEST(PytorchBinTest, MissingStorageEntry) {
  std::vector<ZipBuildEntry> entries = TinyEntries();
  FindEntry(entries, "pytorch_model/data/1")->name = "pytorch_model/data/renamed";
  Status s = ReadError(BuildZip(entries));
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_EQ(s.message(),
            "pytorch_model.bin: tensor 'backbone.layers.0.mixer.A_log': storage entry "
            "'pytorch_model/data/1' is missing");
}

TEST(PytorchBinTest, StorageTooSmall) {
  std::vector<ZipBuildEntry> entries = TinyEntries();
  FindEntry(entries, "pytorch_model/data/1")->data.resize(100);
  Status s = ReadError(BuildZip(entries));
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
  EXPECT_THAT(s.message(), HasSubstr("tensor 'backbone.layers.0.mixer.A_log': storage entry "
                                     "'pytorch_model/data/1' holds 100 bytes, less than its 2048"));
}

TEST(PytorchBinTest, CompressedStorageEntry) {
  std::vector<ZipBuildEntry> entries = TinyEntries();
  FindEntry(entries, "pytorch_model/data/0")->method = 8;
  Status s = ReadError(BuildZip(entries));
  EXPECT_EQ(s.code(), StatusCode::kUnimplemented);
  EXPECT_THAT(s.message(), HasSubstr("tensor 'backbone.embedding.weight'"));
  EXPECT_THAT(s.message(), HasSubstr("zip entry 'pytorch_model/data/0' uses compression method 8"));
}

TEST(PytorchBinTest, CompressedPickle) {
  std::vector<ZipBuildEntry> entries = TinyEntries();
  FindEntry(entries, "pytorch_model/data.pkl")->method = 8;
  Status s = ReadError(BuildZip(entries));
  EXPECT_THAT(s.message(), HasSubstr("zip entry 'pytorch_model/data.pkl' uses compression"));
}

TEST(PytorchBinTest, UnsupportedGlobalInPickle) {
  Status s = ReadError(WithPickleEdit("ccollections\nOrderedDict\n", "cposix\nsystem\n"));
  EXPECT_EQ(s.code(), StatusCode::kUnimplemented);
  EXPECT_THAT(s.message(), HasSubstr("pytorch_model.bin: pytorch_model/data.pkl: pickle global "
                                     "'posix.system'"));
}

TEST(PytorchBinTest, UnsupportedOpcodeInPickle) {
  Status s = ReadError(WithPickleEdit(std::string("\x80\x02", 2), std::string("\x80\x02I", 3)));
  EXPECT_THAT(s.message(), HasSubstr("unsupported pickle opcode 0x49 ('I') at offset 2"));
}

TEST(PytorchBinTest, TruncatedPickle) {
  std::vector<ZipBuildEntry> entries = TinyEntries();
  FindEntry(entries, "pytorch_model/data.pkl")->data.resize(1500);
  Status s = ReadError(BuildZip(entries));
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
  EXPECT_THAT(s.message(), HasSubstr("pytorch_model/data.pkl: truncated pickle"));
}

TEST(PytorchBinTest, NonContiguousStride) {
  // The embedding's stride (64, 1) becomes (1, 64): a transposed view.
  Status s =
      ReadError(WithPickleEdit(std::string("K\x40K\x01\x86"), std::string("K\x01K\x40\x86")));
  EXPECT_EQ(s.code(), StatusCode::kUnimplemented);
  EXPECT_EQ(s.message(),
            "pytorch_model.bin: tensor 'backbone.embedding.weight': strides [1, 64] for size "
            "[256, 64] are not contiguous row-major (unsupported)");
}

TEST(PytorchBinTest, TensorPastEndOfStorage) {
  // storage_offset 0 -> 5 for the embedding (the BININT1 right after its BINPERSID).
  Status s = ReadError(WithPickleEdit(std::string("Q\x4b\x00", 3), std::string("Q\x4b\x05", 3)));
  EXPECT_EQ(s.code(), StatusCode::kOutOfRange);
  EXPECT_THAT(s.message(), HasSubstr("tensor 'backbone.embedding.weight': storage_offset 5 + "
                                     "16384 elements exceed storage '0' of 16384 elements"));
}

TEST(PytorchBinTest, TruncatedFileAtSeveralPoints) {
  const std::string bytes = ::mamba::testing::ReadFileBytes(ModelPath(kTinyBin));
  ASSERT_GT(bytes.size(), 1000u);
  for (size_t cut : {size_t{0}, size_t{21}, size_t{100}, bytes.size() / 2, bytes.size() - 100,
                     bytes.size() - 23, bytes.size() - 1}) {
    Status s = ReadError(bytes.substr(0, cut));
    EXPECT_EQ(s.code(), StatusCode::kDataLoss) << "cut " << cut << ": " << s.ToString();
  }
}

}  // namespace
}  // namespace mamba
