// SPDX-License-Identifier: MIT
// Jinja2 lexer for chat templates: splits a template into text and tag tokens with the
// whitespace rules Hugging Face transformers renders with (trim_blocks=True, lstrip_blocks=True,
// keep_trailing_newline=False, `-`/`+` modifiers on tags), matching jinja2.lexer.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "server/jinja/error.h"

namespace mamba::jinja {

enum class TokenKind {
  kText,        // template text (value: the text after whitespace control)
  kVarBegin,    // {{
  kVarEnd,      // }}
  kBlockBegin,  // {%
  kBlockEnd,    // %}
  kName,        // identifier or keyword
  kString,      // string literal (value: decoded)
  kInteger,     // integer literal (value: digits, '_' removed)
  kFloat,       // float literal
  kOperator,    // + - * / // % ** ~ == != < <= > >= = ( ) [ ] { } , . : |
  kEnd,         // end of the template
};

struct Token {
  TokenKind kind;
  std::string value;
  SourcePos pos;
};

// Throws JinjaError (syntax errors: unterminated tag, comment or string, unknown character).
std::vector<Token> Tokenize(std::string_view source);

}  // namespace mamba::jinja
