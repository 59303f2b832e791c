// SPDX-License-Identifier: MIT
// Unit tests of the tokenizer's parts: the GPT-2 split, Unicode 9.0 NFC, the two BPE merge loops,
// added-token flags (expected ids from HF tokenizers 0.23.2), UTF-8 helpers, the streaming
// decoder, invalid UTF-8 input, and the model-directory helpers.

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <utf8proc.h>
#include <nlohmann/json.hpp>

#include "tokenizer/bpe.h"
#include "tokenizer/model_files.h"
#include "tokenizer/normalize.h"
#include "tokenizer/pretokenize.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/tokenizer_impl.h"
#include "tokenizer/utf8.h"

namespace mamba {

class TokenizerTestPeer {
 public:
  static const BpeModel& Bpe(const Tokenizer& t) { return t.impl_->bpe; }
};

class BpeModelTestPeer {
 public:
  // BPE of `piece` through the short (quadratic) or the long (heap) merge loop.
  static std::vector<int32_t> Merge(const BpeModel& bpe, std::string_view piece, bool long_loop) {
    std::vector<int32_t> ids;
    bpe.InitialIds(piece, ids);
    if (ids.size() >= 2) long_loop ? bpe.MergeLong(ids) : bpe.MergeShort(ids);
    return ids;
  }
};

namespace {

const std::string kDataDir = std::string(MAMBA_SOURCE_DIR) + "/tests/data/tokenizer/";

const Tokenizer& NeoX() {
  static const Tokenizer* tok =
      new Tokenizer(std::move(Tokenizer::FromFile(kDataDir + "tokenizer.json")).value());
  return *tok;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::vector<std::string> Split(std::string_view text) {
  std::vector<std::string> pieces;
  SplitGpt2(text, [&](std::string_view p) { pieces.emplace_back(p); });
  return pieces;
}

std::string Lossy(std::string_view s) {
  std::string out;
  utf8::AppendLossy(s, out);
  return out;
}

TEST(Gpt2Split, Pattern) {
  using V = std::vector<std::string>;
  EXPECT_EQ(Split("Hello world"), (V{"Hello", " world"}));
  EXPECT_EQ(Split("I'm IT'S it\u2019s"), (V{"I", "'m", " IT", "'", "S", " it", "\u2019", "s"}));
  EXPECT_EQ(Split(" 's"), (V{" '", "s"}));
  EXPECT_EQ(Split("''s"), (V{"''", "s"}));
  EXPECT_EQ(Split("we'll've'd're"), (V{"we", "'ll", "'ve", "'d", "'re"}));
  EXPECT_EQ(Split("a \n b"), (V{"a", " \n", " b"}));
  EXPECT_EQ(Split("\t\tb"), (V{"\t", "\t", "b"}));
  EXPECT_EQ(Split("x   "), (V{"x", "   "}));
  EXPECT_EQ(Split("x   y"), (V{"x", "  ", " y"}));
  EXPECT_EQ(Split("1234 abc!!"), (V{"1234", " abc", "!!"}));
  EXPECT_EQ(Split("\u00bd\u00b2 \u0661\u0662"), (V{"\u00bd\u00b2", " \u0661\u0662"}));
  EXPECT_EQ(Split("a\u00a0b"), (V{"a", "\u00a0", "b"}));        // NBSP is \s
  EXPECT_EQ(Split("a\u200bb"), (V{"a", "\u200b", "b"}));        // ZWSP is not
  EXPECT_EQ(Split("a\xff\x80 b"), (V{"a", "\xff\x80", " b"}));  // invalid bytes are symbols
  EXPECT_EQ(Split(""), V{});
}

TEST(Gpt2Split, Classes) {
  EXPECT_EQ(ClassifyCodePoint('a'), CharClass::kLetter);
  EXPECT_EQ(ClassifyCodePoint(0x4E2D), CharClass::kLetter);  // CJK
  EXPECT_EQ(ClassifyCodePoint(0x2460), CharClass::kNumber);  // circled 1
  EXPECT_EQ(ClassifyCodePoint(0x3000), CharClass::kSpace);
  EXPECT_EQ(ClassifyCodePoint(0x85), CharClass::kSpace);
  EXPECT_EQ(ClassifyCodePoint(0x1C), CharClass::kOther);  // not White_Space
  EXPECT_EQ(ClassifyCodePoint(0xFEFF), CharClass::kOther);
  EXPECT_EQ(ClassifyCodePoint(0x301), CharClass::kOther);     // marks are not letters
  EXPECT_EQ(ClassifyCodePoint(0x1D400), CharClass::kLetter);  // math bold A
}

// HF's Oniguruma classifies with Unicode 16.0 (utf8proc 2.8 has 15.0): a letter or digit keeps
// "'ll" a token of its own; an unassigned character takes the apostrophe. Ids from HF 0.23.2.
TEST(Gpt2Split, Unicode16ClassesLikeHf) {
  const std::vector<std::pair<std::string, std::vector<int32_t>>> cases = {
      {"a\U00010D52'll!", {66, 172, 227, 115, 229, 1833, 2}},    // Garay letter (16.0)
      {"a\U00016D40'll!", {66, 172, 233, 115, 211, 1833, 2}},    // Kirat Rai letter (16.0)
      {"a\U00010D40'll!", {66, 172, 227, 115, 211, 1833, 2}},    // Garay digit (16.0)
      {"a\U0001CCF0'll!", {66, 172, 239, 113, 110, 1833, 2}},    // outlined digit (16.0)
      {"a\U0002EBF0'll!", {66, 172, 108, 109, 110, 1833, 2}},    // CJK Ext I (15.1)
      {"a\U00001C89'll!", {66, 157, 112, 220, 1833, 2}},         // Cyrillic TJE (16.0)
      {"a\U000323B0'll!", {66, 172, 112, 225, 110, 8, 620, 2}},  // CJK Ext J (17.0): not yet
      {"a\U00011F04'll!", {66, 172, 228, 122, 215, 1833, 2}},    // Kawi (15.0)
      {"a\U0001E030'll!", {66, 172, 241, 211, 110, 1833, 2}},    // Cyrillic Ext-D (15.0)
  };
  for (const auto& [text, ids] : cases) EXPECT_EQ(NeoX().Encode(text), ids) << text;
}

std::string Nfc(std::string_view s) {
  std::string out;
  return NormalizeNfc(s, out) ? out : std::string(s);
}

TEST(Nfc, Unicode9Semantics) {
  EXPECT_EQ(Nfc("cafe\u0301"), "caf\u00e9");
  EXPECT_EQ(Nfc("\u212b\u2126\u037e\u2000"), "\u00c5\u03a9;\u2002");
  EXPECT_EQ(Nfc("\u0958"), "\u0915\u093c");                        // composition exclusion
  EXPECT_EQ(Nfc("\u1100\u1161\u11a8"), "\uac01");                  // conjoining jamo
  EXPECT_EQ(Nfc("a\u0301\u0323"), "\u1ea1\u0301");                 // reordered, then composed
  EXPECT_EQ(Nfc("\ufb01 \uff11 \u00bd"), "\ufb01 \uff11 \u00bd");  // NFKC-only: unchanged
  // Compositions and combining classes newer than 9.0 are not applied.
  EXPECT_EQ(Nfc("\U00011935\U00011930"), "\U00011935\U00011930");
  EXPECT_EQ(Nfc("a\u0898\u0323"), "a\u0898\u0323");
  EXPECT_EQ(Nfc("a\u0301\u1dfa"), "\u00e1\u1dfa");
  // Nothing composes across an invalid byte.
  EXPECT_EQ(Nfc("e\xff\u0301"), "e\xff\u0301");
  EXPECT_EQ(Nfc("e\u0301\xc3"), "\u00e9\xc3");
  std::string out = "untouched";
  EXPECT_FALSE(NormalizeNfc("plain ascii and caf\u00e9", out));
  EXPECT_EQ(out, "untouched");
  EXPECT_TRUE(IsUnicode9Assigned(0x20));
  EXPECT_FALSE(IsUnicode9Assigned(0x11935));
  EXPECT_TRUE(IsNfcUnsafe(0x301));
  EXPECT_FALSE(IsNfcUnsafe(0xE9));
}

// On Unicode 9.0 characters our NFC must agree with utf8proc's own.
TEST(Nfc, AgreesWithUtf8procOnOldCharacters) {
  const std::vector<std::string> pool = {
      "a",          "e",          "o",          "A",          "\u0301", "\u0300", "\u0323",
      "\u0308",     "\u031b",     "\u0345",     "\u05b0",     "\u0591", "\u093c", "\u0958",
      "\u1100",     "\u1161",     "\u11a8",     "\uac00",     "\u00e9", "\u1ea1", "\u212b",
      "\u0344",     "\u0f73",     "\u0f71",     "\u0f72",     "\u0f80", "\u3099", "\u304b",
      "\U0001d15e", "\U0001d165", "\U00011099", "\U000110ba", " ",      "\u0b47", "\u0b3e",
      "\u0cc6",     "\u0cd5",     "\u0cc2"};
  std::mt19937 rng(5);
  for (int i = 0; i < 3000; ++i) {
    std::string s;
    const int n = 1 + static_cast<int>(rng() % 10);
    for (int k = 0; k < n; ++k) s += pool[rng() % pool.size()];
    utf8proc_uint8_t* ref = utf8proc_NFC(reinterpret_cast<const utf8proc_uint8_t*>(s.c_str()));
    ASSERT_NE(ref, nullptr);
    EXPECT_EQ(Nfc(s), std::string(reinterpret_cast<char*>(ref))) << testing::PrintToString(s);
    std::free(ref);
  }
  // A long run of marks with alternating classes is sorted in O(n log n).
  std::string zalgo = "a";
  for (int i = 0; i < 100000; ++i) zalgo += (i % 2) ? "\u0301" : "\u0323";
  const std::string nfc = Nfc(zalgo);
  EXPECT_EQ(nfc.substr(0, 3), "\u1ea1");  // a + dot below composed
  EXPECT_EQ(nfc.size(), zalgo.size());    // a + U+0323 (3 bytes) became U+1EA1 (3 bytes)
}

TEST(Bpe, ShortAndLongMergeLoopsAgree) {
  const BpeModel& bpe = TokenizerTestPeer::Bpe(NeoX());
  std::mt19937 rng(7);
  const std::string alphabet = "aaeeiioouulnrstdhmcxzq ";
  for (int i = 0; i < 300; ++i) {
    std::string piece;
    const int len = 2 + static_cast<int>(rng() % 47);  // the short loop takes <= 48 symbols
    for (int k = 0; k < len; ++k) piece.push_back(alphabet[rng() % alphabet.size()]);
    EXPECT_EQ(BpeModelTestPeer::Merge(bpe, piece, false), BpeModelTestPeer::Merge(bpe, piece, true))
        << piece;
  }
  // Longer pieces always take the heap loop; the golden "long" cases (500-1000 character words,
  // digit runs) check it against HF.
}

TEST(Encode, ThreadsAgree) {
  const std::string text = ReadFile(kDataDir + "README.md");
  const std::vector<int32_t> want = NeoX().Encode(text);
  std::vector<std::vector<int32_t>> got(4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int r = 0; r < 3; ++r) got[t] = NeoX().Encode(text);
    });
  }
  for (std::thread& t : threads) t.join();
  for (const auto& g : got) EXPECT_EQ(g, want);
  EXPECT_EQ(NeoX().Decode(want), text);
}

// Added tokens with lstrip / rstrip / single_word / normalized; expectations from HF tokenizers
// 0.23.2 (npm) on the same modified tokenizer.json.
TEST(AddedTokens, FlagsMatchHf) {
  nlohmann::json j = nlohmann::json::parse(ReadFile(kDataDir + "tokenizer.json"));
  auto add = [&](int id, const char* content, bool single_word, bool lstrip, bool rstrip,
                 bool normalized, bool special) {
    j["added_tokens"].push_back({{"id", id},
                                 {"content", content},
                                 {"single_word", single_word},
                                 {"lstrip", lstrip},
                                 {"rstrip", rstrip},
                                 {"normalized", normalized},
                                 {"special", special}});
  };
  add(50277, "<mask>", false, true, false, false, true);
  add(50278, "[R]", false, false, true, false, false);
  add(50279, "zork", true, false, false, false, false);
  add(50280, "\ufb01x", false, false, false, true, false);
  add(50281, "e\u0301t", false, false, false, true, false);
  StatusOr<Tokenizer> tok = Tokenizer::FromJson(j.dump(), "flags");
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  const std::vector<std::pair<std::string, std::vector<int32_t>>> cases = {
      {"a <mask> b", {66, 50277, 270}},
      {"a  \t<mask>b", {66, 50277, 67}},
      {"<mask>", {50277}},
      {"x [R]   y", {89, 209, 50278, 90}},
      {"[R]\n\nz", {50278, 91}},
      {"zork", {50279}},
      {"a zork b", {66, 209, 50279, 270}},
      {"nozork", {2369, 91, 1064}},
      {"zorks", {91, 3869}},
      {"zork_x", {91, 1064, 64, 89}},
      {"zork.", {50279, 15}},
      {"(zork)", {9, 50279, 10}},
      {"\u00e9tat", {50281, 255}},
      {"e\u0301t", {50281}},
      {"\ufb01x", {50280}},
      {"  <mask>  [R]  zork  ", {50277, 50276, 50278, 50279, 50276}},
      {"x\u00a0<mask>", {89, 50277}},
      {"\u00e9Zork zork1 1zork zork\u00e9",
       {860, 59, 1064, 1182, 1064, 18, 337, 91, 1064, 1182, 1064, 860}},
  };
  for (const auto& [text, ids] : cases) EXPECT_EQ(tok->Encode(text), ids) << text;
  const std::vector<int32_t> added = {50277, 50278, 50279, 50280, 50281};
  EXPECT_EQ(tok->Decode(added), "<mask>[R]zork\ufb01x\xef\xbf\xbdt");
  EXPECT_EQ(tok->Decode(added, true), "[R]zork\ufb01x\xef\xbf\xbdt");
  EXPECT_EQ(tok->vocab_size(), 50282);
}

TEST(Utf8, DecodeAndLossy) {
  EXPECT_EQ(Lossy("\xf0\x9f\x98"), "\ufffd");              // truncated: one U+FFFD
  EXPECT_EQ(Lossy("\xed\xa0\x80"), "\ufffd\ufffd\ufffd");  // surrogate: three
  EXPECT_EQ(Lossy("\xf4\x90\x80\x80"), "\ufffd\ufffd\ufffd\ufffd");
  EXPECT_EQ(Lossy("\xe2\x82x"), "\ufffdx");
  EXPECT_EQ(Lossy("\xc0\x80"), "\ufffd\ufffd");
  EXPECT_EQ(utf8::CompletePrefixLength("ab\xf0\x9f\x98"), 2u);
  EXPECT_EQ(utf8::CompletePrefixLength("ab\xf0\x9f\x98\x80"), 6u);
  EXPECT_EQ(utf8::CompletePrefixLength("ab\xe2\x82x"), 5u);  // invalid, not pending
  EXPECT_EQ(utf8::CompletePrefixLength("\xe2\x82\xf0"), 2u);
  EXPECT_EQ(utf8::CompletePrefixLength("\xed\xa0"), 2u);  // can never become valid
}

TEST(StreamDecoder, HoldsSplitCharacters) {
  const Tokenizer& tok = NeoX();
  StreamDecoder s(tok);
  EXPECT_EQ(s.Push(127), "");  // byte C3
  EXPECT_TRUE(s.has_pending());
  EXPECT_EQ(s.Push(104), "\u00e9");  // byte A9
  const std::vector<int32_t> emoji = tok.Encode("\U0001F600!");
  std::string streamed;
  for (const int32_t id : emoji) {
    const std::string piece = s.Push(id);
    EXPECT_TRUE(utf8::IsValid(piece));
    streamed += piece;
  }
  EXPECT_EQ(streamed + s.Flush(), "\U0001F600!");
  EXPECT_EQ(s.Push(127), "");
  EXPECT_EQ(s.Push(0), "\ufffd<|endoftext|>");  // the held byte can no longer complete
  EXPECT_EQ(s.Push(127), "");
  EXPECT_EQ(s.Flush(), "\ufffd");
  EXPECT_FALSE(s.has_pending());
  StreamDecoder skip(tok, /*skip_special=*/true);
  EXPECT_EQ(skip.Push(127), "");
  EXPECT_EQ(skip.Push(0), "");
  EXPECT_EQ(skip.Push(104), "\u00e9");
  for (const int32_t bad : {-1, 50277, 50279, 60000, INT32_MAX}) EXPECT_EQ(skip.Push(bad), "");
}

// Bytes that are not UTF-8 are encoded as bytes, so decoding gives the lossy UTF-8 of the input.
TEST(Encode, InvalidUtf8RoundTripsLossily) {
  const Tokenizer& tok = NeoX();
  EXPECT_EQ(tok.Encode("\xc3"), (std::vector<int32_t>{127}));
  EXPECT_EQ(tok.Encode("\xff"), tok.Encode("\ufffd"));
  EXPECT_EQ(tok.Decode(tok.Encode("ab\x80"
                                  "cd")),
            "ab\ufffd"
            "cd");
  std::mt19937 rng(11);
  const std::vector<std::string> atoms = {
      "a",       " ",        "  ",       "\n",   "'s",   "\xc3", "\xa9",          "\xe2\x82",
      "\xac",    "\xf0\x9f", "\x98\x80", "\xff", "\xc0", "\xed", "<|endoftext|>", "<|endo",
      "e\u0301", "1",        "\u4e2d"};
  for (int i = 0; i < 2000; ++i) {
    std::string text;
    const int n = static_cast<int>(rng() % 12);
    for (int k = 0; k < n; ++k) text += atoms[rng() % atoms.size()];
    std::string expect;
    // Added tokens are matched before anything else, and NFC runs on the valid text between
    // invalid bytes; only the lossy decoding of the input is promised when NFC changes nothing.
    std::string nfc;
    if (NormalizeNfc(text, nfc)) continue;
    EXPECT_EQ(tok.Decode(tok.Encode(text)), Lossy(text)) << testing::PrintToString(text);
  }
  for (int i = 0; i < 300; ++i) {  // raw random bytes: must not crash
    std::string bytes(static_cast<size_t>(rng() % 64), '\0');
    for (char& c : bytes) c = static_cast<char>(rng());
    const std::vector<int32_t> ids = tok.Encode(bytes);
    for (const int32_t id : ids) EXPECT_TRUE(tok.IsKnown(id));
    std::string nfc;
    if (!NormalizeNfc(bytes, nfc)) {
      EXPECT_EQ(tok.Decode(ids), Lossy(bytes));
    }
  }
}

class TempDir {
 public:
  TempDir() {
    path_ = std::filesystem::temp_directory_path() /
            ("mamba_tok_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter_++));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string Write(const std::string& name, const std::string& text) const {
    std::ofstream(path_ / name, std::ios::binary) << text;
    return (path_ / name).string();
  }
  std::string str() const { return path_.string(); }

 private:
  static inline int counter_ = 0;
  std::filesystem::path path_;
};

TEST(ModelFiles, FindTokenizerFile) {
  TempDir dir;
  EXPECT_EQ(FindTokenizerFile(dir.str()).status().code(), StatusCode::kNotFound);
  const std::string tok = dir.Write("tokenizer.json", "{}");
  const std::string weights = dir.Write("model.safetensors", "");
  EXPECT_EQ(FindTokenizerFile(dir.str()).value(), tok);
  EXPECT_EQ(FindTokenizerFile(weights).value(), tok);
  EXPECT_EQ(FindTokenizerFile(dir.str(), kDataDir + "tokenizer.json").value(),
            kDataDir + "tokenizer.json");
  EXPECT_EQ(FindTokenizerFile(dir.str(), dir.str() + "/nope.json").status().code(),
            StatusCode::kNotFound);
}

TEST(ModelFiles, GenerationTokenIds) {
  TempDir dir;
  StatusOr<GenerationTokenIds> none = LoadGenerationTokenIds(dir.str(), NeoX());
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->bos, 0);
  EXPECT_EQ(none->eos, std::vector<int32_t>{0});
  EXPECT_EQ(none->pad, std::nullopt);

  dir.Write("config.json", R"({"bos_token_id": 0, "eos_token_id": 0, "pad_token_id": 0})");
  dir.Write("generation_config.json", R"({"bos_token_id": 1, "eos_token_id": [2, 0]})");
  StatusOr<GenerationTokenIds> ids = ReadGenerationTokenIds(dir.str());
  ASSERT_TRUE(ids.ok()) << ids.status().ToString();
  EXPECT_EQ(ids->bos, 1);
  EXPECT_EQ(ids->eos, (std::vector<int32_t>{2, 0}));
  EXPECT_EQ(ids->pad, 0);

  dir.Write("generation_config.json", R"({"eos_token_id": "x"})");
  StatusOr<GenerationTokenIds> bad = ReadGenerationTokenIds(dir.str());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("generation_config.json: eos_token_id"), std::string::npos);
  dir.Write("generation_config.json", R"({"eos_token_id": )");
  EXPECT_EQ(ReadGenerationTokenIds(dir.str()).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace mamba
