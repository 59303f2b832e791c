// SPDX-License-Identifier: MIT
// Tests for the safetensors reader/writer: the real test checkpoints, and corrupt variants built
// in memory, each asserting the error names the file and the tensor or field at fault.
#include "io/safetensors.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>

#include "io/io_test_util.h"

namespace mamba {
namespace {

using ::mamba::testing::ModelPath;
using ::mamba::testing::ReadFileBytes;
using ::testing::HasSubstr;

constexpr char kFileName[] = "model.safetensors";

// u64 length + header text + data.
std::string MakeFile(const std::string& header, const std::string& data) {
  std::string out;
  ::mamba::testing::PutU64(out, header.size());
  return out + header + data;
}

StatusOr<TensorSet> ReadBytes(const std::string& bytes) {
  return ReadSafetensors(MappedFile::FromBytes(kFileName, bytes.data(), bytes.size()));
}

// Returns the error of reading `bytes`; fails the test if it succeeds.
Status ReadError(const std::string& bytes) {
  StatusOr<TensorSet> result = ReadBytes(bytes);
  EXPECT_FALSE(result.ok()) << "expected an error";
  return result.status();
}

void ExpectLayout(const TensorSet& set, const std::map<std::string, std::vector<int64_t>>& shapes,
                  DType dtype) {
  EXPECT_EQ(set.size(), shapes.size());
  for (const auto& [name, shape] : shapes) {
    const TensorView* t = set.Find(name);
    ASSERT_NE(t, nullptr) << name;
    EXPECT_EQ(t->shape, shape) << name;
    EXPECT_EQ(t->dtype, dtype) << name;
    EXPECT_EQ(t->nbytes, static_cast<size_t>(t->numel()) * GetDTypeInfo(dtype).block_bytes);
    ASSERT_NE(t->file, nullptr);
    // Data is a view into the mapping, aligned to its element size.
    EXPECT_GE(t->data, t->file->data());
    EXPECT_LE(t->data + t->nbytes, t->file->data() + t->file->size());
    EXPECT_EQ(reinterpret_cast<uintptr_t>(t->data) % GetDTypeInfo(dtype).block_bytes, 0u);
  }
}

TEST(SafetensorsTest, LoadsTinyF32) {
  StatusOr<TensorSet> set = LoadSafetensorsFile(ModelPath("mamba1-tiny/model.safetensors"));
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  ExpectLayout(*set, Mamba1Shapes(::mamba::testing::kTinyDims, false, false), DType::kF32);
}

TEST(SafetensorsTest, LoadsOtherCases) {
  StatusOr<TensorSet> v997 = LoadSafetensorsFile(ModelPath("mamba1-small-v997/model.safetensors"));
  ASSERT_TRUE(v997.ok()) << v997.status().ToString();
  ExpectLayout(*v997, Mamba1Shapes(::mamba::testing::kV997Dims, false, false), DType::kF32);
  StatusOr<TensorSet> hf = LoadSafetensorsFile(ModelPath("mamba1-hf-dstate8/model.safetensors"));
  ASSERT_TRUE(hf.ok()) << hf.status().ToString();
  ExpectLayout(*hf, Mamba1Shapes(::mamba::testing::kHfDstate8Dims, true, true), DType::kF32);
  StatusOr<TensorSet> tiny_hf =
      LoadSafetensorsFile(ModelPath("mamba1-tiny/variants/hf/model.safetensors"));
  ASSERT_TRUE(tiny_hf.ok()) << tiny_hf.status().ToString();
  ExpectLayout(*tiny_hf, Mamba1Shapes(::mamba::testing::kTinyDims, true, false), DType::kF32);
}

// The F16/BF16 variants hold the F32 model rounded to 16 bits.
TEST(SafetensorsTest, LoadsF16AndBF16Variants) {
  StatusOr<TensorSet> f32 = LoadSafetensorsFile(ModelPath("mamba1-tiny/model.safetensors"));
  ASSERT_TRUE(f32.ok()) << f32.status().ToString();
  for (const DType dtype : {DType::kF16, DType::kBF16}) {
    const std::string dir = dtype == DType::kF16 ? "f16" : "bf16";
    StatusOr<TensorSet> half =
        LoadSafetensorsFile(ModelPath("mamba1-tiny/variants/" + dir + "/model.safetensors"));
    ASSERT_TRUE(half.ok()) << half.status().ToString();
    ExpectLayout(*half, Mamba1Shapes(::mamba::testing::kTinyDims, false, false), dtype);
    for (const std::string& name : f32->Names()) {
      const TensorView* a = f32->Find(name);
      const TensorView* b = half->Find(name);
      ASSERT_NE(b, nullptr) << name;
      for (int64_t i = 0; i < a->numel(); ++i) {
        float ref;
        uint16_t bits;
        std::memcpy(&ref, a->data + 4 * i, 4);
        std::memcpy(&bits, b->data + 2 * i, 2);
        const uint16_t expect = dtype == DType::kF16 ? F32ToF16(ref) : F32ToBF16(ref);
        ASSERT_EQ(bits, expect) << name << "[" << i << "]";
      }
    }
  }
}

TEST(SafetensorsTest, MissingFileIsNotFound) {
  StatusOr<TensorSet> set = LoadSafetensorsFile("/nonexistent/model.safetensors");
  ASSERT_FALSE(set.ok());
  EXPECT_EQ(set.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(set.status().message(), HasSubstr("/nonexistent/model.safetensors"));
}

TEST(SafetensorsTest, EmptyHeaderAndEmptyTensor) {
  StatusOr<TensorSet> empty = ReadBytes(MakeFile("{}", ""));
  ASSERT_TRUE(empty.ok()) << empty.status().ToString();
  EXPECT_EQ(empty->size(), 0u);
  StatusOr<TensorSet> zero =
      ReadBytes(MakeFile(R"({"z":{"dtype":"F32","shape":[0,3],"data_offsets":[0,0]},)"
                         R"("a":{"dtype":"F32","shape":[],"data_offsets":[0,4]}})",
                         std::string(4, '\0')));
  ASSERT_TRUE(zero.ok()) << zero.status().ToString();
  EXPECT_EQ(zero->Find("z")->nbytes, 0u);
  EXPECT_EQ(zero->Find("a")->numel(), 1);
}

TEST(SafetensorsTest, TooShortFile) {
  for (size_t n : {0, 1, 7}) {
    Status s = ReadError(std::string(n, '\0'));
    EXPECT_EQ(s.code(), StatusCode::kDataLoss);
    EXPECT_THAT(s.message(), HasSubstr(kFileName));
    EXPECT_THAT(s.message(), HasSubstr("too short"));
  }
}

TEST(SafetensorsTest, TruncatedRealFileAtSeveralPoints) {
  const std::string bytes = ReadFileBytes(ModelPath("mamba1-tiny/model.safetensors"));
  ASSERT_GT(bytes.size(), 4096u);
  uint64_t header_len = 0;
  std::memcpy(&header_len, bytes.data(), 8);
  const size_t data_start = 8 + header_len;
  // Inside the length, inside the header, at data start, inside the data, one byte short.
  for (size_t cut : {size_t{5}, size_t{8}, size_t{100}, data_start - 1, data_start,
                     data_start + 1000, bytes.size() / 2, bytes.size() - 1}) {
    Status s = ReadError(bytes.substr(0, cut));
    EXPECT_THAT(s.message(), HasSubstr(kFileName)) << "cut " << cut;
    if (cut >= data_start) {
      EXPECT_EQ(s.code(), StatusCode::kOutOfRange) << s.ToString();
      EXPECT_THAT(s.message(), HasSubstr("tensor '"));
      EXPECT_THAT(s.message(), HasSubstr("past the end of the data section"));
    } else {
      EXPECT_EQ(s.code(), StatusCode::kDataLoss) << s.ToString();
    }
  }
}

TEST(SafetensorsTest, HeaderLengthPastEndOfFile) {
  std::string bytes = MakeFile("{}", "");
  for (uint64_t len : {uint64_t{3}, uint64_t{1} << 40, ~uint64_t{0}}) {
    std::memcpy(bytes.data(), &len, 8);
    Status s = ReadError(bytes);
    EXPECT_EQ(s.code(), StatusCode::kDataLoss);
    EXPECT_THAT(s.message(), HasSubstr("model.safetensors: header length " + std::to_string(len)));
  }
}

TEST(SafetensorsTest, MalformedJson) {
  for (const char* header : {"{", "{\"a\":}", "not json", "", "{\"a\":1}}", "{\"a\":\"\xff\"}"}) {
    Status s = ReadError(MakeFile(header, ""));
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << header;
    EXPECT_THAT(s.message(), HasSubstr("model.safetensors: header is not valid JSON")) << header;
  }
  Status s = ReadError(MakeFile("[1,2]", ""));
  EXPECT_THAT(s.message(), HasSubstr("model.safetensors: header is a JSON array"));
}

// Hostile nesting must neither overflow the stack (parsing or destroying the JSON) nor pass.
TEST(SafetensorsTest, DeeplyNestedJson) {
  const size_t depth = 100000;
  std::string arrays = std::string(depth, '[') + std::string(depth, ']');
  Status s = ReadError(MakeFile(arrays, ""));
  EXPECT_THAT(s.message(), HasSubstr("model.safetensors: header is a JSON array"));
  std::string objects;
  for (size_t i = 0; i < depth; ++i) objects += "{\"a\":";
  objects += "1" + std::string(depth, '}');
  s = ReadError(MakeFile(objects, ""));
  EXPECT_THAT(s.message(), HasSubstr("model.safetensors: tensor 'a'"));
}

struct BadHeaderCase {
  const char* header;
  size_t data_bytes;
  StatusCode code;
  const char* message;  // expected substring (after the file name)
};

TEST(SafetensorsTest, BadEntries) {
  const BadHeaderCase cases[] = {
      {R"({"w":5})", 0, StatusCode::kInvalidArgument,
       "tensor 'w': entry is a number, expected an object"},
      {R"({"w":{"shape":[1],"data_offsets":[0,4]}})", 4, StatusCode::kInvalidArgument,
       "tensor 'w': missing 'dtype'"},
      {R"({"w":{"dtype":5,"shape":[1],"data_offsets":[0,4]}})", 4, StatusCode::kInvalidArgument,
       "tensor 'w': 'dtype' is a number, expected a string"},
      {R"({"w":{"dtype":"F32","data_offsets":[0,4]}})", 4, StatusCode::kInvalidArgument,
       "tensor 'w': missing 'shape'"},
      {R"({"w":{"dtype":"F32","shape":"1","data_offsets":[0,4]}})", 4, StatusCode::kInvalidArgument,
       "tensor 'w': 'shape' is a string, expected an array"},
      {R"({"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", 4,
       StatusCode::kInvalidArgument, "tensor 'w': shape[0] is negative"},
      {R"({"w":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}})", 4,
       StatusCode::kInvalidArgument, "tensor 'w': shape[0] is not an integer"},
      {R"({"w":{"dtype":"F32","shape":[null],"data_offsets":[0,4]}})", 4,
       StatusCode::kInvalidArgument, "tensor 'w': shape[0] is a null, expected an integer"},
      {R"({"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}})", 4,
       StatusCode::kInvalidArgument, "tensor 'w': shape [4294967296, 4294967296] has more"},
      {R"({"w":{"dtype":"F32","shape":[4611686018427387904],"data_offsets":[0,4]}})", 4,
       StatusCode::kInvalidArgument, "needs more bytes than fit in 64 bits"},
      {R"({"w":{"dtype":"F32","shape":[1]}})", 4, StatusCode::kInvalidArgument,
       "tensor 'w': missing 'data_offsets'"},
      {R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0]}})", 4, StatusCode::kInvalidArgument,
       "tensor 'w': 'data_offsets' must be an array of 2 integers"},
      {R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,-4]}})", 4,
       StatusCode::kInvalidArgument, "tensor 'w': data_offsets[1] is negative"},
      {R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}})", 8, StatusCode::kInvalidArgument,
       "tensor 'w': data_offsets [8, 4] begin after end"},
      {R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[800,804]}})", 8, StatusCode::kOutOfRange,
       "tensor 'w': data_offsets [800, 804] run past the end"},
      {R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[18446744073709551612,18446744073709551615]}})",
       8, StatusCode::kInvalidArgument, "hold 3 bytes but shape [1] x F32 needs 4"},
      {R"({"w":{"dtype":"F99","shape":[1],"data_offsets":[0,4]}})", 4, StatusCode::kInvalidArgument,
       "tensor 'w': unknown dtype 'F99'"},
      {R"({"w":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}})", 8, StatusCode::kUnimplemented,
       "tensor 'w': dtype I64 is not supported"},
      {R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
       R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
       12, StatusCode::kInvalidArgument,
       "tensor 'b': data_offsets [4, 12] overlap tensor 'a' [0, 8]"},
      {R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
       R"("w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
       8, StatusCode::kInvalidArgument, "duplicate tensor 'w'"},
      {R"({"w":{"dtype":"F32","dtype":"F16","shape":[1],"data_offsets":[0,4]}})", 4,
       StatusCode::kInvalidArgument, "tensor 'w': duplicate key 'dtype'"},
      {R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[2,6]}})", 8, StatusCode::kUnimplemented,
       "tensor 'w': data at file offset"},
      {R"({"__metadata__":[1]})", 0, StatusCode::kInvalidArgument,
       "__metadata__ is a array, expected an object"},
      {R"({"__metadata__":{"format":1}})", 0, StatusCode::kInvalidArgument,
       "__metadata__ key 'format' is a number, expected a string"},
  };
  for (const BadHeaderCase& c : cases) {
    // Pad the header so the data section starts 8-byte aligned, as real files do.
    std::string header = c.header;
    header.append((8 - header.size() % 8) % 8, ' ');
    Status s = ReadError(MakeFile(header, std::string(c.data_bytes, '\0')));
    EXPECT_EQ(s.code(), c.code) << c.header << " -> " << s.ToString();
    EXPECT_THAT(s.message(), HasSubstr(std::string(kFileName) + ": ")) << c.header;
    EXPECT_THAT(s.message(), HasSubstr(c.message)) << c.header << " -> " << s.ToString();
  }
}

TEST(SafetensorsTest, ByteLengthMismatchMessage) {
  std::string header =
      R"({"backbone.norm_f.weight":{"dtype":"F32","shape":[64],"data_offsets":[0,100]}})";
  header.append((8 - header.size() % 8) % 8, ' ');
  Status s = ReadError(MakeFile(header, std::string(100, '\0')));
  EXPECT_EQ(s.message(),
            "model.safetensors: tensor 'backbone.norm_f.weight': data_offsets [0, 100] hold 100 "
            "bytes but shape [64] x F32 needs 256");
}

TEST(SafetensorsTest, MisalignedDataStartIsRejected) {
  // Header of 5 bytes: data starts at offset 13, not 4-byte aligned.
  const std::string header = R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}} )";
  ASSERT_NE((8 + header.size()) % 4, 0u);
  Status s = ReadError(MakeFile(header, std::string(4, '\0')));
  EXPECT_EQ(s.code(), StatusCode::kUnimplemented);
  EXPECT_THAT(s.message(), HasSubstr("model.safetensors: tensor 'w': data at file offset"));
  EXPECT_THAT(s.message(), HasSubstr("not aligned"));
}

// Every single-byte corruption of a small valid file must give a clean result, never a crash.
TEST(SafetensorsTest, SingleByteCorruptionsNeverCrash) {
  std::string header =
      R"({"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2],)"
      R"("data_offsets":[0,8]},"b":{"dtype":"F16","shape":[2,1],"data_offsets":[8,12]}})";
  header.append((8 - header.size() % 8) % 8, ' ');
  const std::string good = MakeFile(header, std::string(12, '\x01'));
  ASSERT_TRUE(ReadBytes(good).ok());
  for (size_t i = 0; i < good.size(); ++i) {
    for (char v : {'\0', '\xff', '[', '"', '9', '-'}) {
      std::string bad = good;
      bad[i] = v;
      StatusOr<TensorSet> result = ReadBytes(bad);
      if (!result.ok()) {
        EXPECT_THAT(result.status().message(), HasSubstr(kFileName));
      }
    }
  }
}

class SafetensorsWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("mamba_safetensors_test_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string Path(const std::string& name) const { return (dir_ / name).string(); }
  std::filesystem::path dir_;
};

TEST_F(SafetensorsWriterTest, RoundTripsRealModel) {
  StatusOr<TensorSet> set = LoadSafetensorsFile(ModelPath("mamba1-tiny/model.safetensors"));
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  std::vector<TensorView> tensors;
  for (const std::string& name : set->Names()) tensors.push_back(*set->Find(name));
  ASSERT_TRUE(WriteSafetensors(Path("copy.safetensors"), tensors).ok());
  StatusOr<TensorSet> copy = LoadSafetensorsFile(Path("copy.safetensors"));
  ASSERT_TRUE(copy.ok()) << copy.status().ToString();
  ASSERT_EQ(copy->size(), set->size());
  for (const TensorView& t : tensors) {
    const TensorView* c = copy->Find(t.name);
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(c->shape, t.shape);
    EXPECT_EQ(c->dtype, t.dtype);
    ASSERT_EQ(c->nbytes, t.nbytes);
    EXPECT_EQ(std::memcmp(c->data, t.data, t.nbytes), 0) << t.name;
  }
  // Same tensors, same sorted order, same padding: the writer reproduces the reference file.
  EXPECT_EQ(ReadFileBytes(Path("copy.safetensors")),
            ReadFileBytes(ModelPath("mamba1-tiny/model.safetensors")));
}

TEST_F(SafetensorsWriterTest, MixedDTypesStayAligned) {
  const uint16_t half[3] = {1, 2, 3};
  const float full[2] = {1.0f, 2.0f};
  TensorView h{"h", DType::kF16, {3}, reinterpret_cast<const uint8_t*>(half), 6, nullptr};
  TensorView f{"f", DType::kF32, {2}, reinterpret_cast<const uint8_t*>(full), 8, nullptr};
  ASSERT_TRUE(WriteSafetensors(Path("mixed.safetensors"), {h, f}).ok());
  StatusOr<TensorSet> set = LoadSafetensorsFile(Path("mixed.safetensors"));
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  EXPECT_EQ(std::memcmp(set->Find("h")->data, half, 6), 0);
  EXPECT_EQ(std::memcmp(set->Find("f")->data, full, 8), 0);
}

TEST_F(SafetensorsWriterTest, RejectsBadInput) {
  const float v[2] = {1.0f, 2.0f};
  const auto* p = reinterpret_cast<const uint8_t*>(v);
  TensorView a{"a", DType::kF32, {2}, p, 8, nullptr};
  TensorView short_a{"a", DType::kF32, {2}, p, 4, nullptr};
  TensorView null_a{"a", DType::kF32, {2}, nullptr, 8, nullptr};
  Status dup = WriteSafetensors(Path("x.safetensors"), {a, a});
  EXPECT_THAT(dup.message(), HasSubstr("tensor 'a': duplicate name"));
  Status len = WriteSafetensors(Path("x.safetensors"), {short_a});
  EXPECT_THAT(len.message(), HasSubstr("tensor 'a': nbytes 4 does not match shape [2] x F32"));
  EXPECT_FALSE(WriteSafetensors(Path("x.safetensors"), {null_a}).ok());
  Status io = WriteSafetensors(Path("no/such/dir/x.safetensors"), {a});
  EXPECT_EQ(io.code(), StatusCode::kIoError);
  EXPECT_THAT(io.message(), HasSubstr("no/such/dir/x.safetensors"));
}

}  // namespace
}  // namespace mamba
