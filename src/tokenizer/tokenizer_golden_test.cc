// SPDX-License-Identifier: MIT
// Golden tests: the GPT-NeoX-20B tokenizer.json against the outputs of Hugging Face tokenizers
// (tests/data/tokenizer/*.jsonl, copied from shared/testdata/tokenizer/gpt-neox-20b): every
// encode, decode, skip-special decode and streaming decode must match exactly.

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tokenizer/tokenizer.h"
#include "tokenizer/utf8.h"

namespace mamba {
namespace {

using json = nlohmann::json;

const std::string kDataDir = std::string(MAMBA_SOURCE_DIR) + "/tests/data/tokenizer/";

std::vector<json> ReadJsonl(const std::string& path) {
  std::vector<json> rows;
  std::ifstream in(path, std::ios::binary);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) rows.push_back(json::parse(line));
  }
  return rows;
}

const Tokenizer& NeoX() {
  static const Tokenizer* tok = [] {
    StatusOr<Tokenizer> t = Tokenizer::FromFile(kDataDir + "tokenizer.json");
    if (!t.ok()) {
      ADD_FAILURE() << t.status().ToString();
      std::abort();
    }
    return new Tokenizer(std::move(t).value());
  }();
  return *tok;
}

std::string StreamDecode(const Tokenizer& tok, const std::vector<int32_t>& ids, bool skip,
                         bool& all_pieces_valid) {
  StreamDecoder stream(tok, skip);
  std::string text;
  all_pieces_valid = true;
  for (const int32_t id : ids) {
    const std::string piece = stream.Push(id);
    all_pieces_valid = all_pieces_valid && utf8::IsValid(piece);
    text += piece;
  }
  text += stream.Flush();
  return text;
}

TEST(TokenizerGolden, Facts) {
  const Tokenizer& tok = NeoX();
  EXPECT_EQ(tok.vocab_size(), 50277);
  EXPECT_EQ(tok.TokenId("<|endoftext|>"), 0);
  EXPECT_EQ(tok.TokenId("<|padding|>"), 1);
  EXPECT_EQ(tok.TokenId("Ġworld"), 1533);
  EXPECT_EQ(tok.TokenId("  "), 50276);
  EXPECT_EQ(tok.TokenId("no such token"), std::nullopt);
  EXPECT_TRUE(tok.IsSpecial(0));
  EXPECT_TRUE(tok.IsSpecial(1));
  EXPECT_FALSE(tok.IsSpecial(50254));
  EXPECT_EQ(tok.TokenText(209), "Ġ");
  EXPECT_EQ(tok.TokenBytes(209), " ");
  EXPECT_EQ(tok.TokenBytes(50277), "");
  EXPECT_FALSE(tok.IsKnown(50279));
  EXPECT_FALSE(tok.IsKnown(-1));
}

TEST(TokenizerGolden, EncodeCases) {
  const Tokenizer& tok = NeoX();
  const std::vector<json> cases = ReadJsonl(kDataDir + "cases.jsonl");
  ASSERT_EQ(cases.size(), 558u);
  int ids_ok = 0, decode_ok = 0, skip_ok = 0, skip_total = 0, stream_ok = 0;
  for (const json& c : cases) {
    const std::string id = c["id"].get<std::string>();
    const std::string text = c["text"].get<std::string>();
    const std::vector<int32_t> want = c["ids"].get<std::vector<int32_t>>();
    const std::vector<int32_t> got = tok.Encode(text);
    EXPECT_EQ(got, want) << id << " (" << c["category"] << "): " << text.substr(0, 200);
    ids_ok += got == want;

    const std::string decoded = c["decoded"].get<std::string>();
    const std::string text_back = tok.Decode(want);
    EXPECT_EQ(text_back, decoded) << id;
    decode_ok += text_back == decoded;

    if (c.contains("decoded_skip_special")) {
      ++skip_total;
      const std::string skipped = tok.Decode(want, /*skip_special=*/true);
      EXPECT_EQ(skipped, c["decoded_skip_special"].get<std::string>()) << id;
      skip_ok += skipped == c["decoded_skip_special"].get<std::string>();
    }
    bool valid_pieces = false;
    const std::string streamed = StreamDecode(tok, want, false, valid_pieces);
    EXPECT_EQ(streamed, decoded) << id;
    EXPECT_TRUE(valid_pieces) << id;
    stream_ok += streamed == decoded && valid_pieces;
  }
  std::printf(
      "[golden] cases.jsonl: ids %d/%zu, decode %d/%zu, skip-special %d/%d, stream %d/%zu\n",
      ids_ok, cases.size(), decode_ok, cases.size(), skip_ok, skip_total, stream_ok, cases.size());
}

TEST(TokenizerGolden, DecodeCases) {
  const Tokenizer& tok = NeoX();
  const std::vector<json> cases = ReadJsonl(kDataDir + "decode_cases.jsonl");
  ASSERT_EQ(cases.size(), 306u);
  int ok = 0, skip_ok = 0, stream_ok = 0;
  for (const json& c : cases) {
    const std::string name = c["name"].get<std::string>();
    const std::vector<int32_t> ids = c["ids"].get<std::vector<int32_t>>();
    const std::string want = c["decoded"].get<std::string>();
    const std::string want_skip = c["decoded_skip_special"].get<std::string>();
    const std::string got = tok.Decode(ids);
    const std::string got_skip = tok.Decode(ids, /*skip_special=*/true);
    EXPECT_EQ(got, want) << name;
    EXPECT_EQ(got_skip, want_skip) << name;
    ok += got == want;
    skip_ok += got_skip == want_skip;
    bool valid_pieces = false;
    const std::string streamed = StreamDecode(tok, ids, false, valid_pieces);
    const std::string streamed_skip = StreamDecode(tok, ids, true, valid_pieces);
    EXPECT_EQ(streamed, want) << name;
    EXPECT_EQ(streamed_skip, want_skip) << name;
    stream_ok += streamed == want && streamed_skip == want_skip;
  }
  std::printf("[golden] decode_cases.jsonl: decode %d/%zu, skip-special %d/%zu, stream %d/%zu\n",
              ok, cases.size(), skip_ok, cases.size(), stream_ok, cases.size());
}

// The probes whose HF result depends on the Unicode version: we match the Rust library (NFC
// with Unicode 9.0 tables), not a modern-Unicode NFC.
TEST(TokenizerGolden, UnicodeVersionProbes) {
  const Tokenizer& tok = NeoX();
  const std::vector<json> probes = ReadJsonl(kDataDir + "unicode_version_sensitive.jsonl");
  ASSERT_EQ(probes.size(), 19u);
  for (const json& p : probes) {
    const std::vector<int32_t> want = p["ids"].get<std::vector<int32_t>>();
    EXPECT_EQ(tok.Encode(p["text"].get<std::string>()), want) << p["what"];
    EXPECT_EQ(tok.Decode(want), p["decoded"].get<std::string>()) << p["what"];
  }
}

}  // namespace
}  // namespace mamba
