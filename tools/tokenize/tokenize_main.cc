// SPDX-License-Identifier: MIT
// mamba-tokenize: encode stdin to ids, or decode ids from stdin to text, with a tokenizer.json.
//   mamba-tokenize -t tokenizer.json < text.txt            -> "12092 1533\n"
//   echo "12092 1533" | mamba-tokenize -t tokenizer.json --decode   -> "Hello world"
// Encoding reads stdin as raw bytes (a trailing newline is part of the text) and prints one line
// of space-separated ids. Decoding reads integers separated by whitespace, commas or brackets and
// prints exactly the decoded text (no newline added). Exit codes: 0 ok, 1 tokenizer load error,
// 2 bad arguments or input.

#include <CLI/CLI.hpp>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

#include "tokenizer/model_files.h"
#include "tokenizer/tokenizer.h"

namespace {

std::string ReadStdin() {
  std::string data;
  char buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), stdin)) > 0) data.append(buf, n);
  return data;
}

// Parses ids from `text`; on a bad token returns false and describes it in `error`.
bool ParseIds(const std::string& text, std::vector<int32_t>& ids, std::string& error) {
  size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ',' || c == '[' || c == ']') {
      ++i;
      continue;
    }
    size_t j = i;
    if (text[j] == '-' || text[j] == '+') ++j;
    const size_t digits = j;
    while (j < text.size() && text[j] >= '0' && text[j] <= '9') ++j;
    const std::string token = text.substr(i, j - i);
    const bool delimited = j == text.size() || text[j] == ' ' || text[j] == '\t' ||
                           text[j] == '\n' || text[j] == '\r' || text[j] == ',' || text[j] == '[' ||
                           text[j] == ']';
    if (j == digits || !delimited) {
      size_t k = j;
      while (k < text.size() && !std::isspace(static_cast<unsigned char>(text[k]))) ++k;
      error = "not an integer id: '" + text.substr(i, k - i) + "'";
      return false;
    }
    errno = 0;
    const long long v = std::strtoll(token.c_str(), nullptr, 10);
    if (errno == ERANGE || v < INT32_MIN || v > INT32_MAX) {
      error = "id out of the 32-bit range: " + token;
      return false;
    }
    ids.push_back(static_cast<int32_t>(v));
    i = j;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Encode text to token ids (default) or decode ids to text with a tokenizer.json."};
  std::string tokenizer_path;
  std::string model_path;
  bool decode = false;
  bool skip_special = false;
  bool stream = false;
  app.add_option("-t,--tokenizer", tokenizer_path, "tokenizer.json to use");
  app.add_option("-m,--model", model_path,
                 "model directory (or a file in it) whose tokenizer.json to use; -t overrides");
  app.add_flag("-d,--decode", decode, "read ids from stdin and print the text");
  app.add_flag("--skip-special", skip_special, "decode: drop special tokens (<|endoftext|>...)");
  app.add_flag("--stream", stream,
               "decode: use the streaming decoder, writing each complete piece as it comes");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (tokenizer_path.empty() && model_path.empty()) {
    std::fprintf(stderr, "mamba-tokenize: give -t tokenizer.json or -m MODEL_DIR\n");
    return 2;
  }
  mamba::StatusOr<std::string> path = mamba::FindTokenizerFile(model_path, tokenizer_path);
  if (!path.ok()) {
    std::fprintf(stderr, "mamba-tokenize: %s\n", path.status().ToString().c_str());
    return 1;
  }
  mamba::StatusOr<mamba::Tokenizer> tok = mamba::Tokenizer::FromFile(*path);
  if (!tok.ok()) {
    std::fprintf(stderr, "mamba-tokenize: %s\n", tok.status().ToString().c_str());
    return 1;
  }
  const std::string input = ReadStdin();
  if (!decode) {
    const std::vector<int32_t> ids = tok->Encode(input);
    std::string line;
    line.reserve(ids.size() * 6 + 1);
    for (size_t i = 0; i < ids.size(); ++i) {
      if (i > 0) line.push_back(' ');
      line.append(std::to_string(ids[i]));
    }
    line.push_back('\n');
    std::fwrite(line.data(), 1, line.size(), stdout);
    return 0;
  }
  std::vector<int32_t> ids;
  std::string error;
  if (!ParseIds(input, ids, error)) {
    std::fprintf(stderr, "mamba-tokenize: %s\n", error.c_str());
    return 2;
  }
  if (stream) {
    mamba::StreamDecoder decoder(*tok, skip_special);
    for (const int32_t id : ids) {
      const std::string piece = decoder.Push(id);
      std::fwrite(piece.data(), 1, piece.size(), stdout);
      std::fflush(stdout);
    }
    const std::string rest = decoder.Flush();
    std::fwrite(rest.data(), 1, rest.size(), stdout);
    return 0;
  }
  const std::string text = tok->Decode(ids, skip_special);
  std::fwrite(text.data(), 1, text.size(), stdout);
  return 0;
}
