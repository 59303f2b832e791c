// SPDX-License-Identifier: MIT
// Tests for the torch state-dict pickle interpreter: the real data.pkl of a test checkpoint,
// hand-assembled pickles (protocol 2 and 4 opcodes), and hostile input (unsupported opcodes and
// globals, truncation, underflow, resource limits).
#include "io/pickle.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "io/io_test_util.h"
#include "io/zip_reader.h"

namespace mamba {
namespace {

using ::testing::HasSubstr;

constexpr char kSource[] = "model.bin: data.pkl";

std::string U32(uint32_t v) {
  std::string s;
  ::mamba::testing::PutU32(s, v);
  return s;
}
// (Built with += : GCC 12 gives a false -Wrestrict for "literal" + std::string.)
std::string Str(const std::string& s) {
  std::string out = "X";
  out += U32(static_cast<uint32_t>(s.size()));
  out += s;
  return out;
}
std::string Global(const std::string& module, const std::string& name) {
  std::string out = "c";
  out += module;
  out += "\n";
  out += name;
  out += "\n";
  return out;
}
std::string Int(int v) {  // BININT1 for small values, BININT otherwise
  if (v >= 0 && v < 256) return std::string("K") + static_cast<char>(v);
  std::string out = "J";
  out += U32(static_cast<uint32_t>(v));
  return out;
}
std::string Tuple(const std::vector<int>& values) {
  std::string s = "(";
  for (int v : values) s += Int(v);
  return s + "t";
}
const std::string kHeader = "\x80\x02";
const std::string kOrderedDict = Global("collections", "OrderedDict") + ")R";

// Pushes `name` and a tensor built by _rebuild_tensor_v2 (for SETITEMS).
std::string TensorItem(const std::string& name, const std::string& key,
                       const std::vector<int>& size, const std::vector<int>& stride, int offset = 0,
                       int numel = 6, const std::string& storage_type = "FloatStorage") {
  return Str(name) + Global("torch._utils", "_rebuild_tensor_v2") + "(" + "(" + Str("storage") +
         Global("torch", storage_type) + Str(key) + Str("cpu") + Int(numel) + "tQ" + Int(offset) +
         Tuple(size) + Tuple(stride) + "\x89" + kOrderedDict + "tR";
}

std::string StateDict(const std::string& items) {
  return kHeader + kOrderedDict + "(" + items + "u.";
}

StatusOr<std::vector<TorchTensorRecord>> Parse(const std::string& bytes,
                                               const PickleLimits& limits = {}) {
  return ParseTorchPickle(bytes, kSource, limits);
}

Status ParseError(const std::string& bytes, const PickleLimits& limits = {}) {
  auto result = Parse(bytes, limits);
  EXPECT_FALSE(result.ok());
  if (result.ok()) return Status::Ok();
  EXPECT_THAT(result.status().message(), HasSubstr(kSource));
  return result.status();
}

std::string RealDataPkl() {
  auto file = MappedFile::Open(
      ::mamba::testing::ModelPath("mamba1-tiny/variants/pt_bin/pytorch_model.bin"));
  if (!file.ok()) return "";
  auto zip = ZipReader::Open(*file);
  if (!zip.ok()) return "";
  auto data = zip->Data(*zip->Find("pytorch_model/data.pkl"));
  return data.ok() ? std::string(*data) : "";
}

TEST(PickleTest, ReadsRealStateDict) {
  const std::string pkl = RealDataPkl();
  ASSERT_FALSE(pkl.empty());
  auto records = Parse(pkl);
  ASSERT_TRUE(records.ok()) << records.status().ToString();
  ASSERT_EQ(records->size(), 23u);
  EXPECT_EQ((*records)[0].name, "backbone.embedding.weight");
  EXPECT_EQ((*records)[0].storage_key, "0");
  EXPECT_EQ((*records)[0].storage_numel, 16384);
  EXPECT_EQ((*records)[0].shape, (std::vector<int64_t>{256, 64}));
  EXPECT_EQ((*records)[0].stride, (std::vector<int64_t>{64, 1}));
  const TorchTensorRecord& head = records->back();
  EXPECT_EQ(head.name, "lm_head.weight");
  EXPECT_EQ(head.storage_key, "0");  // tied to the embedding
  for (const TorchTensorRecord& r : *records) {
    EXPECT_EQ(r.dtype, DType::kF32);
    EXPECT_EQ(r.storage_offset, 0);
  }
}

TEST(PickleTest, MinimalProtocol2StateDict) {
  auto records = Parse(StateDict(TensorItem("w", "k0", {2, 3}, {3, 1}, 0, 6) +
                                 TensorItem("h", "k1", {4}, {1}, 2, 6, "HalfStorage") +
                                 TensorItem("b", "k2", {}, {}, 0, 1, "BFloat16Storage")));
  ASSERT_TRUE(records.ok()) << records.status().ToString();
  ASSERT_EQ(records->size(), 3u);
  EXPECT_EQ((*records)[0].name, "w");
  EXPECT_EQ((*records)[0].shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ((*records)[1].dtype, DType::kF16);
  EXPECT_EQ((*records)[1].storage_offset, 2);
  EXPECT_EQ((*records)[1].storage_key, "k1");
  EXPECT_EQ((*records)[2].dtype, DType::kBF16);
  EXPECT_TRUE((*records)[2].shape.empty());
}

TEST(PickleTest, Protocol4OpcodesAndRebuildParameter) {
  // PROTO 4, FRAME, SHORT_BINUNICODE + MEMOIZE, STACK_GLOBAL, BINGET, EMPTY_DICT + SETITEM,
  // _rebuild_parameter around the tensor, and a BUILD that sets (ignored) state.
  std::string p = "\x80\x04\x95" + std::string(8, '\0');
  p += "}\x94";  // root dict, memo 0
  p += std::string("\x8c\x01w\x94");
  p += std::string("\x8c\x0ctorch._utils\x94\x8c\x12_rebuild_parameter\x94\x93\x94");
  p += std::string("\x8c\x0ctorch._utils\x8c\x12_rebuild_tensor_v2\x93");
  p += "((" + Str("storage") + Global("torch", "FloatStorage") + Str("7") + Str("cpu") + Int(4) +
       "tQ" + Int(0) + "K\x04\x85" + "K\x01\x85" + "\x89" + "}" + "t" + "R";
  p += "\x88}\x87R";  // (tensor, True, {}) -> _rebuild_parameter
  p += "s";           // root["w"] = parameter
  p += "}b.";         // BUILD with empty state
  auto records = Parse(p);
  ASSERT_TRUE(records.ok()) << records.status().ToString();
  ASSERT_EQ(records->size(), 1u);
  EXPECT_EQ((*records)[0].name, "w");
  EXPECT_EQ((*records)[0].storage_key, "7");
  EXPECT_EQ((*records)[0].shape, (std::vector<int64_t>{4}));
}

// Regression (fuzz_pickle): STACK_GLOBAL read its strings after the object arena had grown.
TEST(PickleTest, StackGlobalWhenArenaGrows) {
  for (int extra = 0; extra < 9; ++extra) {
    const std::string p = kHeader + std::string(extra, 'N') + std::string(extra, '0') +
                          Str("collections") + Str("OrderedDict") + "\x93)R.";
    auto records = Parse(p);
    ASSERT_TRUE(records.ok()) << extra << ": " << records.status().ToString();
    EXPECT_TRUE(records->empty());
  }
}

TEST(PickleTest, NonTensorValuesAreSkipped) {
  const std::string items = Str("n") + "N" + Str("i") + Int(5) + Str("f") + "G" +
                            std::string("\x3f\xf0\0\0\0\0\0\0", 8) + Str("l") + "](" + Int(1) +
                            Int(2) + "e" + Str("d") + "}" + Str("x") + Int(1) + "s" + Str("b") +
                            "C\x02hi" + Str("t") + "\x88" + TensorItem("w", "0", {6}, {1});
  auto records = Parse(StateDict(items));
  ASSERT_TRUE(records.ok()) << records.status().ToString();
  ASSERT_EQ(records->size(), 1u);
  EXPECT_EQ((*records)[0].name, "w");
}

TEST(PickleTest, UnsupportedOpcode) {
  Status s = ParseError(kHeader + "I1\n.");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "model.bin: data.pkl: unsupported pickle opcode 0x49 ('I') at offset 2");
  s = ParseError(kHeader + "\xff");
  EXPECT_THAT(s.message(), HasSubstr("unsupported pickle opcode 0xff at offset 2"));
}

TEST(PickleTest, UnsupportedGlobals) {
  Status s = ParseError(kHeader + Global("os", "system") + Str("ls") + "\x85R.");
  EXPECT_EQ(s.code(), StatusCode::kUnimplemented);
  EXPECT_THAT(s.message(), HasSubstr("pickle global 'os.system' at offset 2 is not supported"));
  s = ParseError(kHeader + Str("builtins") + Str("eval") + "\x93.");
  EXPECT_THAT(s.message(), HasSubstr("'builtins.eval'"));
  s = ParseError(StateDict(TensorItem("w", "0", {6}, {1}, 0, 6, "UntypedStorage")));
  EXPECT_EQ(s.code(), StatusCode::kUnimplemented);
  EXPECT_THAT(s.message(), HasSubstr("'torch.UntypedStorage'"));
}

TEST(PickleTest, TruncatedAtEveryPointFails) {
  const std::string pkl = RealDataPkl();
  ASSERT_FALSE(pkl.empty());
  for (size_t cut = 0; cut < pkl.size(); ++cut) {
    auto records = Parse(pkl.substr(0, cut));
    ASSERT_FALSE(records.ok()) << "cut at " << cut;
    EXPECT_EQ(records.status().code(), StatusCode::kDataLoss) << records.status().ToString();
  }
  Status s = ParseError(pkl.substr(0, 100));
  EXPECT_THAT(s.message(), HasSubstr("model.bin: data.pkl: truncated pickle"));
}

TEST(PickleTest, HugeLengthsDoNotAllocate) {
  Status s = ParseError(kHeader + "\x8d" + std::string("\xff\xff\xff\xff\xff\xff\xff\x7f", 8));
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
  s = ParseError(kHeader + "X" + U32(0xFFFFFFFFu) + "abc");
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
}

TEST(PickleTest, MalformedPrograms) {
  EXPECT_THAT(ParseError(kHeader + ".").message(), HasSubstr("stack underflow"));
  EXPECT_THAT(ParseError(kHeader + "N(.").message(), HasSubstr("stack underflow"));
  EXPECT_THAT(ParseError(kHeader + "h\x05.").message(), HasSubstr("memo index 5 is unset"));
  EXPECT_THAT(ParseError(kHeader + "Nu.").message(), HasSubstr("no MARK"));
  EXPECT_THAT(ParseError(kHeader + "N(Nu.").message(), HasSubstr("target is a None"));
  EXPECT_THAT(ParseError(kHeader + "}(Nu.").message(), HasSubstr("odd number of dict items"));
  EXPECT_THAT(ParseError(kHeader + "K\x01.").message(),
              HasSubstr("top-level object is a int, expected a state dict"));
  EXPECT_THAT(ParseError("\x80\x09.").message(), HasSubstr("unsupported pickle protocol 9"));
  EXPECT_THAT(ParseError(kHeader + "X" + U32(1) + "\xff.").message(), HasSubstr("UTF-8"));
  EXPECT_THAT(ParseError(kHeader + "\x8a\x09" + std::string(9, '\1') + ".").message(),
              HasSubstr("does not fit int64"));
  EXPECT_THAT(ParseError(kHeader + "NNR.").message(), HasSubstr("cannot call a None"));
  EXPECT_THAT(ParseError(kHeader + "NQ.").message(), HasSubstr("persistent id"));
  EXPECT_THAT(
      ParseError(kHeader + Global("collections", "OrderedDict") + Int(1) + "\x85R.").message(),
      HasSubstr("OrderedDict called with arguments"));
  // A list that contains itself: no infinite loop, no leak.
  EXPECT_THAT(ParseError(kHeader + std::string("]q\0h\0a.", 7)).message(), HasSubstr("is a list"));
}

TEST(PickleTest, BadRebuildTensorArguments) {
  const std::string rebuild = Global("torch._utils", "_rebuild_tensor_v2");
  const std::string storage = std::string("(") + Str("storage") + Global("torch", "FloatStorage") +
                              Str("0") + Str("cpu") + Int(6) + "tQ";
  auto dict = [&](const std::string& args) {
    return kHeader + "}" + Str("w") + rebuild + "(" + args + "tRs.";
  };
  EXPECT_THAT(ParseError(dict(storage + Int(0))).message(), HasSubstr("takes 6 or 7 arguments"));
  EXPECT_THAT(ParseError(dict(Int(0) + Int(0) + Tuple({6}) + Tuple({1}) + "\x89N")).message(),
              HasSubstr("storage is a int"));
  EXPECT_THAT(ParseError(dict(storage + Int(0) + Tuple({6}) + Tuple({1, 1}) + "\x89N")).message(),
              HasSubstr("size and stride have different lengths"));
  EXPECT_THAT(
      ParseError(dict(storage + "\x8a\x01\xff" + Tuple({6}) + Tuple({1}) + "\x89N")).message(),
      HasSubstr("storage_offset is negative"));
  EXPECT_THAT(
      ParseError(dict(storage + Int(0) + "(J" + U32(0xFFFFFFFFu) + "t" + Tuple({1}) + "\x89N"))
          .message(),
      HasSubstr("size has a negative entry"));
  EXPECT_THAT(ParseError(dict(storage + Int(0) + Int(6) + Tuple({1}) + "\x89N")).message(),
              HasSubstr("size is a int, expected a tuple"));
  EXPECT_THAT(ParseError(StateDict(TensorItem("w", "0", {6}, {1}) + TensorItem("w", "1", {6}, {1})))
                  .message(),
              HasSubstr("duplicate state dict key 'w'"));
}

TEST(PickleTest, ResourceLimits) {
  PickleLimits small;
  small.max_objects = 10;
  Status s = ParseError(kHeader + std::string(20, 'N') + ".", small);
  EXPECT_EQ(s.code(), StatusCode::kOutOfRange);
  EXPECT_THAT(s.message(), HasSubstr("more than 10 objects"));
  small = PickleLimits();
  small.max_stack = 10;
  s = ParseError(kHeader + "N" + std::string(20, '2') + ".", small);
  EXPECT_THAT(s.message(), HasSubstr("stack exceeds 10 entries"));
  small = PickleLimits();
  small.max_marks = 10;
  s = ParseError(kHeader + std::string(20, '(') + ".", small);
  EXPECT_THAT(s.message(), HasSubstr("more than 10 nested"));
  small = PickleLimits();
  small.max_memo = 3;
  s = ParseError(kHeader + "N\x94\x94\x94\x94.", small);
  EXPECT_THAT(s.message(), HasSubstr("memo exceeds 3 entries"));
  small = PickleLimits();
  small.max_container_items = 3;
  s = ParseError(kHeader + "](NNNNNe.", small);
  EXPECT_THAT(s.message(), HasSubstr("containers hold more than 3 items"));
}

}  // namespace
}  // namespace mamba
