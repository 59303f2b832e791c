// SPDX-License-Identifier: MIT
// Tokenizers from GGUF metadata give the ids and text of the tokenizer.json they came from: a
// GGUF whose tokenizer.ggml.* keys we write from tests/data/tokenizer/tokenizer.json, and
// llama.cpp's converter output in ../shared/testdata/gguf (when present).
#include "tokenizer/gguf_vocab.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace mamba {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

const fs::path kDataDir = fs::path(MAMBA_SOURCE_DIR) / "tests/data/tokenizer";
const fs::path kSharedF16 =
    fs::path(MAMBA_SOURCE_DIR) / "../shared/testdata/gguf/mamba1-neox256-F16.gguf";

std::string ReadText(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<json> ReadJsonl(const fs::path& p) {
  std::vector<json> out;
  std::ifstream in(p);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) out.push_back(json::parse(line));
  }
  return out;
}

fs::path TempDir(const std::string& name) {
  const fs::path d =
      fs::temp_directory_path() / ("gguf_vocab_test_" + std::to_string(getpid()) + "_" + name);
  fs::create_directories(d);
  return d;
}

// Every encode and decode case gives the same result with `got` as with `want`.
void ExpectSameTokenizer(const Tokenizer& got, const Tokenizer& want) {
  EXPECT_EQ(got.vocab_size(), want.vocab_size());
  int n = 0;
  for (const json& c : ReadJsonl(kDataDir / "cases.jsonl")) {
    const std::string text = c["text"].get<std::string>();
    const std::vector<int32_t> ids = got.Encode(text);
    EXPECT_EQ(ids, c["ids"].get<std::vector<int32_t>>()) << c["id"];
    EXPECT_EQ(got.Decode(ids), want.Decode(ids)) << c["id"];
    ++n;
  }
  for (const json& c : ReadJsonl(kDataDir / "decode_cases.jsonl")) {
    const std::vector<int32_t> ids = c["ids"].get<std::vector<int32_t>>();
    EXPECT_EQ(got.Decode(ids), c["decoded"].get<std::string>()) << c["name"];
    EXPECT_EQ(got.Decode(ids, true), c["decoded_skip_special"].get<std::string>()) << c["name"];
    ++n;
  }
  EXPECT_GT(n, 800);
  for (int32_t id : {0, 1, 50254, 50276}) EXPECT_EQ(got.IsSpecial(id), want.IsSpecial(id)) << id;
}

TEST(GgufVocabTest, WrittenMetadataGivesTheTokenizerJsonTokenizer) {
  const std::string text = ReadText(kDataDir / "tokenizer.json");
  auto meta = GgufTokenizerMetadata(text, "tokenizer.json", 50280);
  ASSERT_TRUE(meta.ok()) << meta.status().ToString();
  const fs::path dir = TempDir("own");
  const fs::path path = dir / "vocab.gguf";
  ASSERT_TRUE(WriteGguf(path.string(), *meta, {}).ok());
  auto g = LoadGgufFile(path.string());
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  auto tok = TokenizerFromGguf(*g);
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  auto want = Tokenizer::FromJson(text, "tokenizer.json");
  ASSERT_TRUE(want.ok());
  ExpectSameTokenizer(*tok, *want);

  // No tokenizer.json in the folder: the GGUF's own vocabulary is used.
  auto loaded = LoadTokenizerForModel(path.string(), "", &*g);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->Encode("Hello world"), (std::vector<int32_t>{12092, 1533}));
  EXPECT_FALSE(LoadTokenizerForModel(path.string(), "", nullptr).ok());
  fs::remove_all(dir);
}

TEST(GgufVocabTest, SharedConverterGguf) {
  if (!fs::exists(kSharedF16)) GTEST_SKIP() << kSharedF16 << " not present";
  auto g = LoadGgufFile(kSharedF16.string());
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  auto tok = TokenizerFromGguf(*g);
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  auto want = Tokenizer::FromFile((kDataDir / "tokenizer.json").string());
  ASSERT_TRUE(want.ok());
  ExpectSameTokenizer(*tok, *want);

  // Our metadata from tokenizer.json equals the converter's.
  auto meta = GgufTokenizerMetadata(ReadText(kDataDir / "tokenizer.json"), "tokenizer.json", 50280);
  ASSERT_TRUE(meta.ok());
  for (const auto& [key, v] : *meta) {
    SCOPED_TRACE(key);
    const GgufValue* theirs = g->Find(key);
    ASSERT_NE(theirs, nullptr);
    ASSERT_EQ(theirs->type, v.type);
    EXPECT_EQ(theirs->str, v.str);
    ASSERT_EQ(theirs->ArraySize(), v.ArraySize());
    for (size_t i = 0; i < v.ArraySize(); ++i) {
      ASSERT_EQ(theirs->Element(i).str, v.Element(i).str) << i;
      ASSERT_EQ(theirs->Element(i).i, v.Element(i).i) << i;
    }
  }
}

TEST(GgufVocabTest, ErrorsNameKey) {
  const fs::path dir = TempDir("err");
  const std::string path = (dir / "bad.gguf").string();
  auto error_for = [&](std::vector<std::pair<std::string, GgufValue>> kv) {
    EXPECT_TRUE(WriteGguf(path, kv, {}).ok());
    auto g = LoadGgufFile(path);
    EXPECT_TRUE(g.ok());
    if (!g.ok()) return std::string();
    auto t = TokenizerFromGguf(*g);
    EXPECT_FALSE(t.ok());
    return t.ok() ? std::string() : t.status().message();
  };
  const GgufValue tokens = GgufValue::StringArray({"a", "b", "ab"});
  const GgufValue merges = GgufValue::StringArray({"a b"});
  EXPECT_NE(error_for({{"tokenizer.ggml.model", GgufValue::String("llama")}})
                .find("key 'tokenizer.ggml.model'"),
            std::string::npos);
  EXPECT_NE(error_for({{"tokenizer.ggml.model", GgufValue::String("gpt2")},
                       {"tokenizer.ggml.pre", GgufValue::String("qwen2")}})
                .find("'tokenizer.ggml.pre'"),
            std::string::npos);
  EXPECT_NE(error_for({{"tokenizer.ggml.model", GgufValue::String("gpt2")},
                       {"tokenizer.ggml.tokens", tokens},
                       {"tokenizer.ggml.token_type", GgufValue::I32Array({1})},
                       {"tokenizer.ggml.merges", merges}})
                .find("'tokenizer.ggml.token_type': 1 entries for 3 tokens"),
            std::string::npos);
  EXPECT_NE(error_for({{"tokenizer.ggml.model", GgufValue::String("gpt2")},
                       {"tokenizer.ggml.tokens", tokens}})
                .find("missing key 'tokenizer.ggml.merges'"),
            std::string::npos);
  EXPECT_NE(error_for({{"tokenizer.ggml.model", GgufValue::String("gpt2")},
                       {"tokenizer.ggml.tokens", GgufValue::StringArray({"a", "\xff"})},
                       {"tokenizer.ggml.merges", merges}})
                .find("'tokenizer.ggml.tokens'[1]: not valid UTF-8"),
            std::string::npos);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace mamba
