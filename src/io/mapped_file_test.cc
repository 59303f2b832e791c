// SPDX-License-Identifier: MIT
// MappedFile in both access modes: the mapped file and the copy read into anonymous memory hold
// the file's bytes, and both report a missing, non-regular or empty file the same way.
#include "io/mapped_file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

namespace mamba {
namespace {

class MappedFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        std::filesystem::temp_directory_path() / ("mapped_file_test_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Writes `bytes` to a file in the test directory and returns its path.
  std::string Write(const std::string& name, const std::string& bytes) {
    const std::string path = (dir_ / name).string();
    std::ofstream out(path, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    return path;
  }

  std::filesystem::path dir_;
};

constexpr FileAccess kModes[] = {FileAccess::kMap, FileAccess::kRead};

TEST_F(MappedFileTest, BothModesHoldTheFileBytes) {
  // Not a multiple of the 4 KiB or 2 MiB page: the tail past the file end must not show.
  std::string bytes(size_t{5} * 1024 * 1024 + 12345, '\0');
  std::mt19937 rng(7);
  for (char& b : bytes) b = static_cast<char>(rng());
  const std::string path = Write("w.bin", bytes);
  for (FileAccess mode : kModes) {
    auto file = MappedFile::Open(path, mode);
    ASSERT_TRUE(file.ok()) << file.status().ToString();
    ASSERT_EQ((*file)->size(), bytes.size());
    EXPECT_EQ((*file)->path(), path);
    // Page-aligned start, as the kernels' 64-byte alignment assumptions need.
    EXPECT_EQ(reinterpret_cast<uintptr_t>((*file)->data()) % 4096, 0u);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>((*file)->data()), (*file)->size()), bytes);
  }
}

TEST_F(MappedFileTest, EmptyFileHasSizeZeroInBothModes) {
  const std::string path = Write("empty.bin", "");
  for (FileAccess mode : kModes) {
    auto file = MappedFile::Open(path, mode);
    ASSERT_TRUE(file.ok()) << file.status().ToString();
    EXPECT_EQ((*file)->size(), 0u);
    EXPECT_NE((*file)->data(), nullptr);
  }
}

TEST_F(MappedFileTest, MissingOrNonRegularFileIsAnErrorNamingIt) {
  const std::string missing = (dir_ / "missing.bin").string();
  const std::string fifo = (dir_ / "fifo").string();
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  for (FileAccess mode : kModes) {
    auto a = MappedFile::Open(missing, mode);
    ASSERT_FALSE(a.ok());
    EXPECT_EQ(a.status().code(), StatusCode::kNotFound);
    EXPECT_NE(a.status().message().find("missing.bin"), std::string::npos);
    auto b = MappedFile::Open(dir_.string(), mode);
    ASSERT_FALSE(b.ok());
    EXPECT_NE(b.status().message().find("not a regular file"), std::string::npos);
    // A FIFO is refused before anything reads from it (which would block).
    auto c = MappedFile::Open(fifo, mode);
    ASSERT_FALSE(c.ok());
    EXPECT_NE(c.status().message().find("fifo"), std::string::npos);
  }
}

// Release gives back only the whole pages inside the range: the bytes around them still read as
// the file's, and a read inside them faults instead of seeing zeros (mapped or read).
TEST_F(MappedFileTest, ReleasedPagesFaultAndTheRestStays) {
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  std::string bytes(8 * page, '\0');
  std::mt19937 rng(3);
  for (char& c : bytes) c = static_cast<char>(rng());
  const std::string path = Write("release.bin", bytes);
  for (FileAccess mode : kModes) {
    auto file = MappedFile::Open(path, mode);
    ASSERT_TRUE(file.ok()) << file.status().ToString();
    const uint8_t* d = (*file)->data();
    // [page + 100, 5 * page + 7): pages 2, 3 and 4 lie wholly inside it.
    (*file)->Release(d + page + 100, 4 * page - 93);
    EXPECT_EQ(std::memcmp(d, bytes.data(), 2 * page), 0);
    EXPECT_EQ(std::memcmp(d + 5 * page, bytes.data() + 5 * page, 3 * page), 0);
    const volatile uint8_t* inside = d + 3 * page + 5;
    EXPECT_DEATH((void)*inside, "");
  }
}

TEST_F(MappedFileTest, DropFromPageCacheKeepsTheBytes) {
  const std::string bytes(size_t{3} << 20, 'w');
  const std::string path = Write("dropped.bin", bytes);
  ASSERT_TRUE(DropFromPageCache(path).ok());
  auto file = MappedFile::Open(path);
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  EXPECT_EQ(std::string(reinterpret_cast<const char*>((*file)->data()), (*file)->size()), bytes);
  const Status missing = DropFromPageCache((dir_ / "missing.bin").string());
  EXPECT_EQ(missing.code(), StatusCode::kNotFound);
  EXPECT_NE(missing.message().find("missing.bin"), std::string::npos);
}

}  // namespace
}  // namespace mamba
