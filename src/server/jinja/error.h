// SPDX-License-Identifier: MIT
// Errors of the Jinja interpreter: a position in the template and a message. Thrown inside the
// lexer, parser and evaluator; the public API (jinja.h) turns them into a Status.
#pragma once

#include <stdexcept>
#include <string>

namespace mamba::jinja {

struct SourcePos {
  int line = 1;
  int column = 1;
};

class JinjaError : public std::runtime_error {
 public:
  JinjaError(SourcePos pos, const std::string& message)
      : std::runtime_error(message), pos_(pos) {}
  SourcePos pos() const { return pos_; }

 private:
  SourcePos pos_;
};

}  // namespace mamba::jinja
