// SPDX-License-Identifier: MIT
// Tokenize: the jinja2 lexer's rules for the default delimiters, trim_blocks and lstrip_blocks.
#include "server/jinja/lexer.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstring>

namespace mamba::jinja {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

// Python's str.rstrip() for ASCII whitespace (what `{%-` removes in front of a tag).
std::string_view RStrip(std::string_view s) {
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

class Lexer {
 public:
  explicit Lexer(std::string_view source) {
    // Newlines are normalized to \n and one trailing newline is dropped (keep_trailing_newline=False).
    src_.reserve(source.size());
    for (size_t i = 0; i < source.size(); ++i) {
      if (source[i] == '\r') {
        src_ += '\n';
        if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
      } else {
        src_ += source[i];
      }
    }
    if (!src_.empty() && src_.back() == '\n') src_.pop_back();
    line_starts_.push_back(0);
    for (size_t i = 0; i < src_.size(); ++i) {
      if (src_[i] == '\n') line_starts_.push_back(i + 1);
    }
  }

  std::vector<Token> Run() {
    bool line_starting = true;
    while (pos_ < src_.size()) {
      size_t tag = FindTagStart(pos_);
      if (tag == std::string::npos) {
        Emit(TokenKind::kText, src_.substr(pos_), pos_);
        break;
      }
      std::string_view text(src_.data() + pos_, tag - pos_);
      const char kind = src_[tag + 1];
      const char sign = tag + 2 < src_.size() && (src_[tag + 2] == '-' || src_[tag + 2] == '+')
                            ? src_[tag + 2]
                            : 0;
      if (sign == '-') {
        text = RStrip(text);
      } else if (sign != '+' && kind != '{') {  // lstrip_blocks: block and comment tags
        const size_t nl = text.rfind('\n');
        const size_t l_pos = nl == std::string_view::npos ? 0 : nl + 1;
        if ((l_pos > 0 || line_starting) && l_pos < text.size()) {
          bool blank = true;
          for (size_t i = l_pos; i < text.size(); ++i) blank = blank && IsSpace(text[i]);
          if (blank) text = text.substr(0, l_pos);
        }
      }
      if (!text.empty()) Emit(TokenKind::kText, std::string(text), pos_);
      const size_t begin = tag;
      pos_ = tag + 2 + (sign ? 1 : 0);
      if (kind == '#') {
        line_starting = Comment(begin);
      } else {
        Emit(kind == '{' ? TokenKind::kVarBegin : TokenKind::kBlockBegin, "", begin);
        line_starting = Tag(kind == '%', begin);
      }
    }
    Emit(TokenKind::kEnd, "", src_.size());
    return std::move(tokens_);
  }

 private:
  SourcePos PosOf(size_t offset) const {
    const auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), offset) - 1;
    return SourcePos{static_cast<int>(it - line_starts_.begin()) + 1,
                     static_cast<int>(offset - *it) + 1};
  }

  void Emit(TokenKind kind, std::string value, size_t offset) {
    tokens_.push_back(Token{kind, std::move(value), PosOf(offset)});
  }

  [[noreturn]] void Fail(size_t offset, const std::string& message) const {
    throw JinjaError(PosOf(offset), message);
  }

  size_t FindTagStart(size_t from) const {
    for (size_t i = src_.find('{', from); i != std::string::npos; i = src_.find('{', i + 1)) {
      if (i + 1 < src_.size() && (src_[i + 1] == '{' || src_[i + 1] == '%' || src_[i + 1] == '#')) {
        return i;
      }
    }
    return std::string::npos;
  }

  // Skips whitespace after a `-` closing tag; returns whether the consumed text ended a line.
  bool SkipSpace() {
    bool newline = false;
    while (pos_ < src_.size() && IsSpace(src_[pos_])) newline = src_[pos_++] == '\n';
    return newline;
  }

  bool Comment(size_t begin) {
    const size_t end = src_.find("#}", pos_);
    if (end == std::string::npos) Fail(begin, "missing end of comment tag");
    const char before = end > pos_ ? src_[end - 1] : 0;
    pos_ = end + 2;
    if (before == '-') return SkipSpace();
    if (before == '+') return false;
    if (pos_ < src_.size() && src_[pos_] == '\n') {  // trim_blocks
      ++pos_;
      return true;
    }
    return false;
  }

  // Lexes the inside of {{ }} or {% %} up to and including its end; returns line_starting.
  bool Tag(bool block, size_t begin) {
    const char close = block ? '%' : '}';
    std::vector<char> balance;
    for (;;) {
      while (pos_ < src_.size() && IsSpace(src_[pos_])) ++pos_;
      if (pos_ >= src_.size()) Fail(begin, block ? "unexpected end of template, expected '%}'"
                                                 : "unexpected end of template, expected '}}'");
      const char c = src_[pos_];
      if (balance.empty()) {
        const bool minus = c == '-' &&
                           src_.compare(pos_ + 1, 2, std::string{close, '}'}) == 0;
        const bool plus = block && c == '+' && src_.compare(pos_ + 1, 2, "%}") == 0;
        if (minus || plus || src_.compare(pos_, 2, std::string{close, '}'}) == 0) {
          Emit(block ? TokenKind::kBlockEnd : TokenKind::kVarEnd, "", pos_);
          pos_ += minus || plus ? 3 : 2;
          if (minus) return SkipSpace();
          if (block && !plus && pos_ < src_.size() && src_[pos_] == '\n') {  // trim_blocks
            ++pos_;
            return true;
          }
          return false;
        }
      }
      const size_t start = pos_;
      if (std::isdigit(static_cast<unsigned char>(c))) {
        Number(start);
      } else if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
        while (pos_ < src_.size() && (std::isalnum(static_cast<unsigned char>(src_[pos_])) ||
                                      src_[pos_] == '_')) {
          ++pos_;
        }
        Emit(TokenKind::kName, src_.substr(start, pos_ - start), start);
      } else if (c == '\'' || c == '"') {
        String(start);
      } else {
        static const char* const kOps[] = {"**", "//", "==", "!=", "<=", ">=", "+", "-", "*",
                                           "/",  "%",  "~",  "<",  ">",  "=",  "(", ")", "[",
                                           "]",  "{",  "}",  ",",  ".",  ":",  "|", ";"};
        const char* op = nullptr;
        for (const char* o : kOps) {
          if (src_.compare(pos_, std::strlen(o), o) == 0) {
            op = o;
            break;
          }
        }
        if (op == nullptr) Fail(start, std::string("unexpected char '") + c + "'");
        const std::string s = op;
        if (s == "(" || s == "[" || s == "{") {
          balance.push_back(s == "(" ? ')' : s == "[" ? ']' : '}');
        } else if (s == ")" || s == "]" || s == "}") {
          if (balance.empty()) Fail(start, "unexpected '" + s + "'");
          if (balance.back() != s[0]) {
            Fail(start, "unexpected '" + s + "', expected '" + std::string(1, balance.back()) + "'");
          }
          balance.pop_back();
        }
        pos_ += s.size();
        Emit(TokenKind::kOperator, s, start);
      }
    }
  }

  void Digits(std::string* out) {
    while (pos_ < src_.size() &&
           (std::isdigit(static_cast<unsigned char>(src_[pos_])) ||
            (src_[pos_] == '_' && pos_ + 1 < src_.size() &&
             std::isdigit(static_cast<unsigned char>(src_[pos_ + 1]))))) {
      if (src_[pos_] != '_') *out += src_[pos_];
      ++pos_;
    }
  }

  void Number(size_t start) {
    std::string digits;
    Digits(&digits);
    bool is_float = false;
    if (pos_ + 1 < src_.size() && src_[pos_] == '.' &&
        std::isdigit(static_cast<unsigned char>(src_[pos_ + 1]))) {
      is_float = true;
      digits += src_[pos_++];
      Digits(&digits);
    }
    if (pos_ < src_.size() && (src_[pos_] == 'e' || src_[pos_] == 'E')) {
      size_t p = pos_ + 1;
      if (p < src_.size() && (src_[p] == '+' || src_[p] == '-')) ++p;
      if (p < src_.size() && std::isdigit(static_cast<unsigned char>(src_[p]))) {
        is_float = true;
        digits += 'e';
        digits.append(src_, pos_ + 1, p - pos_ - 1);
        pos_ = p;
        Digits(&digits);
      }
    }
    Emit(is_float ? TokenKind::kFloat : TokenKind::kInteger, digits, start);
  }

  static void AppendUtf8(std::string* out, uint32_t cp) {
    if (cp < 0x80) {
      *out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      *out += static_cast<char>(0xC0 | (cp >> 6));
      *out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      *out += static_cast<char>(0xE0 | (cp >> 12));
      *out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      *out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      *out += static_cast<char>(0xF0 | (cp >> 18));
      *out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      *out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      *out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  // A quoted string with Python's escapes (jinja decodes with "unicode-escape"; an unknown
  // escape such as \d stays as written).
  void String(size_t start) {
    const char quote = src_[pos_++];
    std::string out;
    for (;;) {
      if (pos_ >= src_.size()) Fail(start, "unterminated string");
      const char c = src_[pos_++];
      if (c == quote) break;
      if (c != '\\') {
        out += c;
        continue;
      }
      if (pos_ >= src_.size()) Fail(start, "unterminated string");
      const char e = src_[pos_++];
      auto hex = [&](int n) {
        uint32_t v = 0;
        for (int i = 0; i < n; ++i) {
          if (pos_ >= src_.size() || !std::isxdigit(static_cast<unsigned char>(src_[pos_]))) {
            Fail(start, "truncated \\x, \\u or \\U escape in a string");
          }
          const char h = src_[pos_++];
          v = v * 16 + static_cast<uint32_t>(std::isdigit(static_cast<unsigned char>(h))
                                                 ? h - '0'
                                                 : (std::tolower(h) - 'a' + 10));
        }
        return v;
      };
      switch (e) {
        case 'n': out += '\n'; break;
        case 't': out += '\t'; break;
        case 'r': out += '\r'; break;
        case 'a': out += '\a'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'v': out += '\v'; break;
        case '\\': out += '\\'; break;
        case '\'': out += '\''; break;
        case '"': out += '"'; break;
        case '\n': break;
        case 'x': AppendUtf8(&out, hex(2)); break;
        case 'u': AppendUtf8(&out, hex(4)); break;
        case 'U': AppendUtf8(&out, hex(8)); break;
        default:
          if (e >= '0' && e <= '7') {
            uint32_t v = static_cast<uint32_t>(e - '0');
            for (int i = 0; i < 2 && pos_ < src_.size() && src_[pos_] >= '0' && src_[pos_] <= '7'; ++i) {
              v = v * 8 + static_cast<uint32_t>(src_[pos_++] - '0');
            }
            AppendUtf8(&out, v);
          } else {
            out += '\\';
            out += e;
          }
      }
    }
    Emit(TokenKind::kString, std::move(out), start);
  }

  std::string src_;
  std::vector<size_t> line_starts_;  // offset of each line's first byte
  size_t pos_ = 0;
  std::vector<Token> tokens_;
};

}  // namespace

std::vector<Token> Tokenize(std::string_view source) { return Lexer(source).Run(); }

}  // namespace mamba::jinja
