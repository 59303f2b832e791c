// SPDX-License-Identifier: MIT
// Tests for the GGUF reader/writer: round trips of every value type and of tensors, and corrupt
// or truncated files, each error naming the file and the key or tensor at fault.
#include "io/gguf.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>

#include "io/io_test_util.h"

namespace mamba {
namespace {

using ::mamba::testing::ReadFileBytes;
using ::testing::HasSubstr;

std::string TempPath(const std::string& name) {
  return (std::filesystem::temp_directory_path() /
          ("gguf_test_" + std::to_string(getpid()) + "_" + name))
      .string();
}

struct Fixture {
  std::vector<float> a = {1, 2, 3, 4, 5, 6};           // [2, 3]
  std::vector<uint16_t> b = {0x3C00, 0x4000, 0x4200};  // [3] F16 1, 2, 3
  std::vector<TensorView> Tensors() const {
    TensorView ta;
    ta.name = "a.weight";
    ta.dtype = DType::kF32;
    ta.shape = {2, 3};
    ta.data = reinterpret_cast<const uint8_t*>(a.data());
    ta.nbytes = a.size() * 4;
    TensorView tb;
    tb.name = "b";
    tb.dtype = DType::kF16;
    tb.shape = {3};
    tb.data = reinterpret_cast<const uint8_t*>(b.data());
    tb.nbytes = b.size() * 2;
    return {ta, tb};
  }
};

std::vector<std::pair<std::string, GgufValue>> AllTypesMetadata() {
  GgufValue u16;
  u16.type = GgufType::kU16;
  u16.u = 65535;
  GgufValue i8;
  i8.type = GgufType::kI8;
  i8.i = -5;
  GgufValue i16;
  i16.type = GgufType::kI16;
  i16.i = -300;
  std::vector<GgufValue> inner = {GgufValue::I32Array({1, 2}), GgufValue::I32Array({})};
  return {
      {"general.architecture", GgufValue::String("mamba")},
      {"u8", GgufValue::U8(200)},
      {"i8", i8},
      {"u16", u16},
      {"i16", i16},
      {"u32", GgufValue::U32(4000000000u)},
      {"i32", GgufValue::I32(-7)},
      {"u64", GgufValue::U64(1ull << 40)},
      {"i64", GgufValue::I64(-(1ll << 40))},
      {"f32", GgufValue::F32(1e-5f)},
      {"f64", GgufValue::F64(0.1)},
      {"bool", GgufValue::Bool(true)},
      {"strings", GgufValue::StringArray({"a", "", "Ġb c"})},
      {"nested", GgufValue::Array(GgufType::kArray, inner)},
      {"ints", GgufValue::I32Array({-1, 7, 2147483647})},
      {"numbers", GgufValue::Array(GgufType::kF64, {GgufValue::F64(0.5), GgufValue::F64(-2e300)})},
      {"unsigned", GgufValue::Array(GgufType::kU64, {GgufValue::U64(~0ull)})},
  };
}

std::string WriteToBytes(const std::vector<std::pair<std::string, GgufValue>>& kv,
                         const std::vector<TensorView>& tensors, uint64_t alignment = 32) {
  const std::string path = TempPath("w.gguf");
  EXPECT_TRUE(WriteGguf(path, kv, tensors, alignment).ok());
  std::string bytes = ReadFileBytes(path);
  std::remove(path.c_str());
  return bytes;
}

StatusOr<GgufFile> ReadBytes(const std::string& bytes) {
  return ReadGguf(MappedFile::FromBytes("m.gguf", bytes.data(), bytes.size()));
}

TEST(GgufTest, RoundTripsMetadataAndTensors) {
  Fixture fx;
  const std::string bytes = WriteToBytes(AllTypesMetadata(), fx.Tensors());
  auto g = ReadBytes(bytes);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_EQ(g->version, 3u);
  EXPECT_EQ(g->alignment, 32u);
  EXPECT_EQ(g->data_offset % 32, 0u);
  EXPECT_EQ(*g->GetString("general.architecture"), "mamba");
  EXPECT_EQ(*g->GetUInt("u8"), 200u);
  EXPECT_EQ(*g->GetInt("i8"), -5);
  EXPECT_EQ(*g->GetUInt("u16"), 65535u);
  EXPECT_EQ(*g->GetInt("i16"), -300);
  EXPECT_EQ(*g->GetUInt("u32"), 4000000000u);
  EXPECT_EQ(*g->GetInt("i32"), -7);
  EXPECT_EQ(*g->GetUInt("u64"), 1ull << 40);
  EXPECT_EQ(*g->GetInt("i64"), -(1ll << 40));
  EXPECT_EQ(*g->GetFloat("f32"), static_cast<double>(1e-5f));
  EXPECT_EQ(*g->GetFloat("f64"), 0.1);
  EXPECT_TRUE(*g->GetBool("bool"));
  auto strings = g->GetArray("strings", GgufType::kString);
  ASSERT_TRUE(strings.ok());
  ASSERT_EQ((*strings)->ArraySize(), 3u);
  EXPECT_TRUE((*strings)->packed);
  EXPECT_EQ((*strings)->StringAt(0), "a");
  EXPECT_EQ((*strings)->StringAt(2), "Ġb c");
  EXPECT_EQ((*strings)->Element(2).str, "Ġb c");
  auto nested = g->GetArray("nested", GgufType::kArray);
  ASSERT_TRUE(nested.ok());
  ASSERT_EQ((*nested)->ArraySize(), 2u);
  EXPECT_EQ((*nested)->Element(0).Element(1).i, 2);
  EXPECT_EQ((*nested)->Element(1).ArraySize(), 0u);
  // Numbers come back packed, every width and sign intact.
  auto ints = g->GetArray("ints", GgufType::kI32);
  ASSERT_TRUE(ints.ok());
  ASSERT_EQ((*ints)->ArraySize(), 3u);
  EXPECT_EQ((*ints)->Element(0).i, -1);
  EXPECT_EQ((*ints)->Element(2).i, 2147483647);
  EXPECT_EQ((*ints)->Element(0).type, GgufType::kI32);
  auto numbers = g->GetArray("numbers", GgufType::kF64);
  ASSERT_TRUE(numbers.ok());
  EXPECT_TRUE((*numbers)->packed);
  EXPECT_EQ((*numbers)->Element(0).f, 0.5);
  EXPECT_EQ((*numbers)->Element(1).f, -2e300);
  auto unsigned_array = g->GetArray("unsigned", GgufType::kU64);
  ASSERT_TRUE(unsigned_array.ok());
  EXPECT_EQ((*unsigned_array)->Element(0).u, ~0ull);

  ASSERT_EQ(g->tensor_infos.size(), 2u);
  EXPECT_EQ(g->tensor_infos[0].ne, (std::vector<int64_t>{3, 2}));
  EXPECT_EQ(g->tensor_infos[0].ggml_type, 0u);
  EXPECT_EQ(g->tensor_infos[1].ggml_type, 1u);
  EXPECT_EQ(g->tensor_infos[1].offset, 32u);
  const TensorView* a = g->tensors.Find("a.weight");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(std::memcmp(a->data, fx.a.data(), 24), 0);
  const TensorView* b = g->tensors.Find("b");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->dtype, DType::kF16);
  EXPECT_EQ(std::memcmp(b->data, fx.b.data(), 6), 0);

  // Writing what was read gives the same bytes.
  EXPECT_EQ(WriteToBytes(g->metadata, fx.Tensors()), bytes);
}

TEST(GgufTest, GetterErrorsNameKey) {
  auto g = ReadBytes(WriteToBytes(AllTypesMetadata(), {}));
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_EQ(g->GetUInt("nope").status().code(), StatusCode::kNotFound);
  EXPECT_THAT(g->GetUInt("nope").status().message(), HasSubstr("'nope'"));
  EXPECT_THAT(g->GetUInt("i8").status().message(), HasSubstr("negative"));
  EXPECT_THAT(g->GetString("u32").status().message(),
              HasSubstr("key 'u32': expected STRING, found UINT32"));
  EXPECT_THAT(g->GetArray("strings", GgufType::kI32).status().message(),
              HasSubstr("expected ARRAY of INT32, found ARRAY of STRING"));
  EXPECT_FALSE(g->GetFloat("u8").ok());
  EXPECT_FALSE(g->GetBool("u8").ok());
}

TEST(GgufTest, CustomAlignment) {
  Fixture fx;
  const std::string bytes = WriteToBytes({}, fx.Tensors(), 64);
  auto g = ReadBytes(bytes);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_EQ(g->alignment, 64u);
  EXPECT_EQ(*g->GetUInt("general.alignment"), 64u);
  EXPECT_EQ(g->data_offset % 64, 0u);
  EXPECT_EQ(g->tensor_infos[1].offset, 64u);
}

TEST(GgufTest, EveryTruncationFailsCleanly) {
  Fixture fx;
  const std::string bytes = WriteToBytes(AllTypesMetadata(), fx.Tensors());
  for (size_t n = 0; n < bytes.size(); ++n) {
    auto g = ReadBytes(bytes.substr(0, n));
    // A cut inside the last tensor's padding still holds every byte of data.
    if (g.ok()) {
      EXPECT_GE(n, bytes.size() - 32 + 6) << n;
      continue;
    }
    EXPECT_THAT(g.status().message(), HasSubstr("'m.gguf'")) << n;
  }
}

// Offsets of the header fields of a file written with no metadata and the Fixture tensors.
struct Layout {
  static constexpr size_t kVersion = 4, kNTensors = 8, kNKv = 16, kFirstTensor = 24;
  // Tensor 0: name (8 + 8 bytes), n_dims at 40, ne at 44/52, type at 60, offset at 64.
  static constexpr size_t kNDims = 40, kNe0 = 44, kType = 60, kOffset = 64;
};

std::string Patch32(std::string s, size_t at, uint32_t v) {
  std::memcpy(&s[at], &v, 4);
  return s;
}
std::string Patch64(std::string s, size_t at, uint64_t v) {
  std::memcpy(&s[at], &v, 8);
  return s;
}

TEST(GgufTest, CorruptHeaders) {
  Fixture fx;
  const std::string good = WriteToBytes({}, fx.Tensors());
  ASSERT_TRUE(ReadBytes(good).ok());
  auto err = [](const std::string& bytes) {
    auto g = ReadBytes(bytes);
    EXPECT_FALSE(g.ok());
    return g.ok() ? Status() : g.status();
  };
  std::string bad_magic = good;
  bad_magic[0] = 'X';
  EXPECT_THAT(err(bad_magic).message(), HasSubstr("bad magic"));
  EXPECT_EQ(err(Patch32(good, Layout::kVersion, 4)).code(), StatusCode::kUnimplemented);
  EXPECT_THAT(err(Patch64(good, Layout::kNTensors, 1ull << 40)).message(),
              HasSubstr("tensor count"));
  EXPECT_THAT(err(Patch64(good, Layout::kNKv, 5)).message(), HasSubstr("truncated"));
  EXPECT_THAT(err(Patch32(good, Layout::kNDims, 5)).message(),
              HasSubstr("tensor 'a.weight': n_dims 5"));
  EXPECT_THAT(err(Patch64(good, Layout::kNe0, 0)).message(),
              HasSubstr("tensor 'a.weight': bad dimension 0"));
  EXPECT_THAT(err(Patch64(good, Layout::kNe0, 1ull << 62)).message(), HasSubstr("a.weight"));
  Status s = err(Patch32(good, Layout::kType, 10));
  EXPECT_EQ(s.code(), StatusCode::kUnimplemented);
  EXPECT_THAT(s.message(), HasSubstr("tensor 'a.weight': ggml type Q2_K"));
  EXPECT_THAT(err(Patch32(good, Layout::kType, 8)).message(),
              HasSubstr("not a multiple of the Q8_0 block size 32"));
  EXPECT_THAT(err(Patch64(good, Layout::kOffset, 4)).message(), HasSubstr("not a multiple"));
  EXPECT_THAT(err(Patch64(good, Layout::kOffset, 1 << 20)).message(), HasSubstr("past the end"));
  EXPECT_THAT(err(Patch64(good, Layout::kOffset, 32)).message(), HasSubstr("overlaps"));
}

TEST(GgufTest, BadMetadata) {
  auto err = [](const std::vector<std::pair<std::string, GgufValue>>& kv) {
    auto g = ReadBytes(WriteToBytes(kv, {}));
    EXPECT_FALSE(g.ok());
    return g.ok() ? std::string() : g.status().message();
  };
  // A non-power-of-two alignment cannot be written; patch the key name in afterwards.
  std::string al = WriteToBytes({{"general.alignmenX", GgufValue::U32(48)}}, {});
  al[al.find("alignmenX") + 8] = 't';
  auto ga = ReadBytes(al);
  ASSERT_FALSE(ga.ok());
  EXPECT_THAT(ga.status().message(), HasSubstr("key 'general.alignment'"));
  // Duplicate keys cannot be written; patch the second key's name to equal the first.
  std::string bytes = WriteToBytes({{"k1", GgufValue::U8(1)}, {"k2", GgufValue::U8(2)}}, {});
  const size_t at = bytes.find("k2");
  bytes[at + 1] = '1';
  auto g = ReadBytes(bytes);
  ASSERT_FALSE(g.ok());
  EXPECT_THAT(g.status().message(), HasSubstr("duplicate key 'k1'"));
  // Unknown value type.
  bytes = WriteToBytes({{"k", GgufValue::U8(1)}}, {});
  bytes = Patch32(bytes, 24 + 8 + 1, 13);
  g = ReadBytes(bytes);
  ASSERT_FALSE(g.ok());
  EXPECT_THAT(g.status().message(), HasSubstr("key 'k': unknown value type 13"));
  // Deep nesting.
  GgufValue v = GgufValue::I32Array({1});
  for (int d = 0; d < kGgufMaxArrayDepth; ++d) v = GgufValue::Array(GgufType::kArray, {v});
  EXPECT_THAT(err({{"deep", v}}), HasSubstr("nested deeper"));
  // A huge array count with few bytes behind it.
  bytes = WriteToBytes({{"arr", GgufValue::I32Array({1, 2})}}, {});
  bytes = Patch64(bytes, 24 + 8 + 3 + 4 + 4, 1ull << 60);
  g = ReadBytes(bytes);
  ASSERT_FALSE(g.ok());
  EXPECT_THAT(g.status().message(), HasSubstr("key 'arr'"));
}

TEST(GgufTest, WriterRejectsBadInput) {
  Fixture fx;
  const std::string path = TempPath("bad.gguf");
  EXPECT_FALSE(WriteGguf(path, {}, fx.Tensors(), 3).ok());
  std::vector<TensorView> t = fx.Tensors();
  t[1].name = "a.weight";
  EXPECT_THAT(WriteGguf(path, {}, t, 32).message(), HasSubstr("duplicate"));
  t = fx.Tensors();
  t[0].nbytes = 4;
  EXPECT_THAT(WriteGguf(path, {}, t, 32).message(), HasSubstr("nbytes"));
  GgufValue mixed = GgufValue::Array(GgufType::kI32, {GgufValue::U8(1)});
  EXPECT_THAT(WriteGguf(path, {{"m", mixed}}, {}, 32).message(), HasSubstr("key 'm'"));
  EXPECT_FALSE(WriteGguf("/nonexistent-dir/x.gguf", {}, {}, 32).ok());
  std::remove(path.c_str());
}

TEST(GgufTest, GgmlTypeMapping) {
  EXPECT_EQ(DTypeFromGgmlType(0), DType::kF32);
  EXPECT_EQ(DTypeFromGgmlType(1), DType::kF16);
  EXPECT_EQ(DTypeFromGgmlType(30), DType::kBF16);
  EXPECT_EQ(DTypeFromGgmlType(2), DType::kQ4_0);
  EXPECT_EQ(DTypeFromGgmlType(14), DType::kQ6_K);
  EXPECT_EQ(DTypeFromGgmlType(10), std::nullopt);
  EXPECT_EQ(DTypeFromGgmlType(999), std::nullopt);
  EXPECT_EQ(GgmlTypeFromDType(DType::kQ8_0), 8u);
  EXPECT_EQ(GgmlTypeName(12), "Q4_K");
}

}  // namespace
}  // namespace mamba
