// SPDX-License-Identifier: MIT
// Bad input: malformed and truncated tokenizer.json, unsupported components (each error must name
// the component), wrong field types, missing files, and ids outside the vocabulary.

#include <gtest/gtest.h>

#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tokenizer/tokenizer.h"

namespace mamba {
namespace {

using json = nlohmann::json;

const std::string kDataDir = std::string(MAMBA_SOURCE_DIR) + "/tests/data/tokenizer/";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// A tiny valid byte-level BPE tokenizer: the 256 byte tokens, merges "h e" and "he l".
json TinyTokenizer() {
  json vocab = json::object();
  int next = 256;
  for (int b = 0; b < 256; ++b) {
    const bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
    const uint32_t cp = printable ? b : next++;
    std::string s;
    if (cp < 0x80) {
      s.push_back(static_cast<char>(cp));
    } else {
      s.push_back(static_cast<char>(0xC0 | (cp >> 6)));
      s.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
    vocab[s] = b;
  }
  vocab["he"] = 256;
  vocab["hel"] = 257;
  return json{
      {"version", "1.0"},
      {"truncation", nullptr},
      {"padding", nullptr},
      {"added_tokens",
       json::array(
           {{{"id", 258}, {"content", "<eos>"}, {"special", true}, {"normalized", false}}})},
      {"normalizer", {{"type", "NFC"}}},
      {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}}},
      {"post_processor", nullptr},
      {"decoder", {{"type", "ByteLevel"}}},
      {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", json::array({"h e", "he l"})}}},
  };
}

Status Load(const json& j) { return Tokenizer::FromJson(j.dump(), "tiny.json").status(); }

// Expects `status` to have `code` and a message containing every string in `parts`.
void ExpectError(const Status& status, StatusCode code, std::vector<std::string> parts) {
  EXPECT_EQ(status.code(), code) << status.ToString();
  for (const std::string& p : parts) {
    EXPECT_NE(status.message().find(p), std::string::npos) << status.ToString() << " lacks " << p;
  }
}

TEST(TokenizerErrors, TinyTokenizerWorks) {
  StatusOr<Tokenizer> tok = Tokenizer::FromJson(TinyTokenizer().dump(), "tiny.json");
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  EXPECT_EQ(tok->Encode("hello<eos>"), (std::vector<int32_t>{257, 'l', 'o', 258}));
  EXPECT_EQ(tok->Decode(std::vector<int32_t>{257, 'l', 'o', 258}), "hello<eos>");
  EXPECT_EQ(tok->vocab_size(), 259);
  // The ["a","b"] pair form of merges gives the same tokenizer.
  json pairs = TinyTokenizer();
  pairs["model"]["merges"] = json::array({json::array({"h", "e"}), json::array({"he", "l"})});
  StatusOr<Tokenizer> tok2 = Tokenizer::FromJson(pairs.dump(), "pairs.json");
  ASSERT_TRUE(tok2.ok()) << tok2.status().ToString();
  EXPECT_EQ(tok2->Encode("hello"), (std::vector<int32_t>{257, 'l', 'o'}));
}

TEST(TokenizerErrors, MalformedJson) {
  for (const char* text : {"", "{", "not json", "{\"model\": }", "{\"a\":1}}", "\xff\xfe"}) {
    ExpectError(Tokenizer::FromJson(text, "bad.json").status(), StatusCode::kInvalidArgument,
                {"bad.json"});
  }
  ExpectError(Tokenizer::FromJson("[1, 2]", "arr.json").status(), StatusCode::kInvalidArgument,
              {"arr.json", "not a JSON object"});
  ExpectError(Tokenizer::FromJson("{}", "empty.json").status(), StatusCode::kInvalidArgument,
              {"model is missing"});
}

TEST(TokenizerErrors, TruncatedFilesNeverLoad) {
  const std::string full = ReadFile(kDataDir + "tokenizer.json");
  ASSERT_GT(full.size(), 1000000u);
  std::mt19937 rng(3);
  std::vector<size_t> cuts = {
      0, 1, 10, 100, 1000, full.size() / 2, full.size() - 2, full.size() - 1};
  for (int i = 0; i < 24; ++i) cuts.push_back(rng() % full.size());
  for (const size_t cut : cuts) {
    const Status s =
        Tokenizer::FromJson(std::string_view(full).substr(0, cut), "cut.json").status();
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << "cut at " << cut << ": " << s.ToString();
  }
  // Every prefix of a small file, and single-byte corruptions of it: an error or a tokenizer,
  // never a crash.
  const std::string tiny = TinyTokenizer().dump();
  for (size_t cut = 0; cut < tiny.size(); cut += 7) {
    EXPECT_FALSE(Tokenizer::FromJson(tiny.substr(0, cut), "cut.json").ok());
  }
  for (int i = 0; i < 400; ++i) {
    std::string bad = tiny;
    bad[rng() % bad.size()] = "{}[]\",:0a \\"[rng() % 11];
    StatusOr<Tokenizer> t = Tokenizer::FromJson(bad, "corrupt.json");
    if (t.ok()) t->Encode("hello world <eos>");
  }
}

TEST(TokenizerErrors, MissingFile) {
  const Status s = Tokenizer::FromFile("/nonexistent/dir/tokenizer.json").status();
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("/nonexistent/dir/tokenizer.json"), std::string::npos);
}

TEST(TokenizerErrors, UnsupportedComponentsAreNamed) {
  struct Case {
    const char* pointer;
    json value;
    std::string names;
  };
  const std::vector<Case> cases = {
      {"/model/type", "Unigram", "Unigram"},
      {"/model/type", "WordPiece", "WordPiece"},
      {"/model/dropout", 0.1, "model.dropout"},
      {"/model/byte_fallback", true, "byte_fallback"},
      {"/model/continuing_subword_prefix", "##", "continuing_subword_prefix"},
      {"/model/end_of_word_suffix", "</w>", "end_of_word_suffix"},
      {"/normalizer", {{"type", "NFKC"}}, "NFKC"},
      {"/normalizer",
       {{"type", "Sequence"}, {"normalizers", {{{"type", "Lowercase"}}}}},
       "Lowercase"},
      {"/pre_tokenizer", {{"type", "Metaspace"}}, "Metaspace"},
      {"/pre_tokenizer", nullptr, "pre_tokenizer"},
      {"/decoder", {{"type", "WordPiece"}}, "WordPiece"},
      {"/decoder", nullptr, "decoder"},
      {"/post_processor", {{"type", "TemplateProcessing"}}, "TemplateProcessing"},
      {"/truncation", {{"max_length", 512}}, "truncation"},
      {"/padding", {{"strategy", "BatchLongest"}}, "padding"},
  };
  for (const Case& c : cases) {
    json j = TinyTokenizer();
    j[json::json_pointer(c.pointer)] = c.value;
    ExpectError(Load(j), StatusCode::kUnimplemented, {"tiny.json", c.names});
  }
}

TEST(TokenizerErrors, BadFieldsAreNamed) {
  struct Case {
    const char* pointer;
    json value;
    std::string names;
  };
  const std::vector<Case> cases = {
      {"/model/vocab/he", -3, "model.vocab[\"he\"]"},
      {"/model/vocab/he", "x", "model.vocab[\"he\"]"},
      {"/model/vocab/he", 1.5, "model.vocab[\"he\"]"},
      {"/model/vocab/he", 1 << 30, "too large"},
      {"/model/vocab", json::array(), "model.vocab"},
      {"/model/merges", json::object(), "model.merges"},
      {"/model/merges/1", 7, "model.merges[1]"},
      {"/model/merges/1", "hel", "model.merges[1]"},
      {"/model/merges/1", json::array({"he", "l", "x"}), "model.merges[1]"},
      {"/model/merges/1", json::array({"he"}), "model.merges[1]"},
      {"/model/merges/1", "he zz", "'zz' is not in model.vocab"},
      {"/model/merges/1", "l l", "'ll' is not in model.vocab"},
      {"/model/unk_token", "<unk>", "model.unk_token"},
      {"/model/fuse_unk", "yes", "model.fuse_unk"},
      {"/model/type", 3, "model.type"},
      {"/added_tokens/0/id", "x", "added_tokens[0].id"},
      {"/added_tokens/0/id", -1, "added_tokens[0].id"},
      {"/added_tokens/0/content", 5, "added_tokens[0].content"},
      {"/added_tokens/0/lstrip", "no", "added_tokens[0].lstrip"},
      {"/added_tokens", json::object(), "added_tokens"},
      {"/normalizer", "NFC", "normalizer"},
      {"/pre_tokenizer/add_prefix_space", 1, "pre_tokenizer.add_prefix_space"},
  };
  for (const Case& c : cases) {
    json j = TinyTokenizer();
    j[json::json_pointer(c.pointer)] = c.value;
    ExpectError(Load(j), StatusCode::kInvalidArgument, {"tiny.json", c.names});
  }
  json no_vocab = TinyTokenizer();
  no_vocab["model"].erase("vocab");
  ExpectError(Load(no_vocab), StatusCode::kInvalidArgument, {"model.vocab is missing"});
  json no_merges = TinyTokenizer();
  no_merges["model"].erase("merges");
  ExpectError(Load(no_merges), StatusCode::kInvalidArgument, {"model.merges is missing"});
}

// The add_prefix_space and use_regex expectations were checked against HF tokenizers 0.23.2 on the
// same files (HF also insists on every added-token flag and ByteLevel field; we default them).
TEST(TokenizerErrors, OptionalFeatures) {
  json j = TinyTokenizer();
  j["model"]["unk_token"] = "he";
  j["model"]["fuse_unk"] = true;
  j["model"]["vocab"].erase("z");  // byte 'z' has no token now
  StatusOr<Tokenizer> tok = Tokenizer::FromJson(j.dump(), "unk.json");
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  EXPECT_EQ(tok->Encode("azz"), (std::vector<int32_t>{'a', 256}));  // fused unk
  EXPECT_EQ(tok->Encode("\xff"), std::vector<int32_t>{255});        // has a token here: kept
  j["model"].erase("type");                                         // older files: BPE inferred
  j["pre_tokenizer"]["add_prefix_space"] = true;
  j["model"]["unk_token"] = nullptr;
  tok = Tokenizer::FromJson(j.dump(), "prefix.json");
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  EXPECT_EQ(tok->Encode("hi<eos>hi"), (std::vector<int32_t>{' ', 'h', 'i', 258, ' ', 'h', 'i'}));
  EXPECT_EQ(tok->Encode("hel  hel"), (std::vector<int32_t>{' ', 257, ' ', ' ', 257}));
  j["pre_tokenizer"]["add_prefix_space"] = false;
  j["pre_tokenizer"]["use_regex"] = false;  // the whole text is one BPE word
  tok = Tokenizer::FromJson(j.dump(), "noregex.json");
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  EXPECT_EQ(tok->Encode("hello world"),
            (std::vector<int32_t>{257, 'l', 'o', ' ', 'w', 'o', 'r', 'l', 'd'}));
  EXPECT_EQ(tok->Encode("hi<eos>hi"), (std::vector<int32_t>{'h', 'i', 258, 'h', 'i'}));
}

TEST(TokenizerErrors, IdsOutOfRangeDecodeToNothing) {
  StatusOr<Tokenizer> tok = Tokenizer::FromFile(kDataDir + "tokenizer.json");
  ASSERT_TRUE(tok.ok());
  const std::vector<int32_t> ids = {-1, 50277, 50278, 50279, 60000, INT32_MAX, INT32_MIN};
  EXPECT_EQ(tok->Decode(ids), "");
  const std::vector<int32_t> mixed = {12092, 50279, -7, 1533};
  EXPECT_EQ(tok->Decode(mixed), "Hello world");
  for (const int32_t id : ids) {
    EXPECT_FALSE(tok->IsKnown(id));
    EXPECT_FALSE(tok->IsSpecial(id));
    EXPECT_EQ(tok->TokenText(id), "");
    EXPECT_EQ(tok->TokenBytes(id), "");
  }
}

}  // namespace
}  // namespace mamba
