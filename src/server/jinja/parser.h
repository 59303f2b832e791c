// SPDX-License-Identifier: MIT
// Jinja parser: tokens (lexer.h) -> statement list (ast.h), following jinja2.parser's grammar
// and operator precedence for the subset chat templates use.
#pragma once

#include <string_view>

#include "server/jinja/ast.h"

namespace mamba::jinja {

// Throws JinjaError with the position of the offending token.
NodeList Parse(std::string_view source);

}  // namespace mamba::jinja
