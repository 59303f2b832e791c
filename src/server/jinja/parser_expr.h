// SPDX-License-Identifier: MIT
// The expression half of the Jinja parser (parser.cc has the statements): token helpers and
// recursive descent with jinja2.parser's precedence
// (condexpr < or < and < not < compare < + - < ~ < * / // % < ** < unary < filters/tests).
// Internal to src/server/jinja.
#pragma once

#include <algorithm>
#include <string>
#include <vector>

#include "server/jinja/ast.h"
#include "server/jinja/lexer.h"

namespace mamba::jinja {

class ExprParser {
 public:
  explicit ExprParser(std::vector<Token> tokens) : toks_(std::move(tokens)) {}

  // expr [, expr ...] -> a list when there is a comma (a Python tuple).
  ExprPtr Tuple(bool with_condexpr);
  ExprPtr Expression(bool with_condexpr);
  ExprPtr Binary(const std::string& op, SourcePos pos, ExprPtr a, ExprPtr b);
  ExprPtr Or();
  ExprPtr And();
  ExprPtr Not();
  ExprPtr Compare();
  ExprPtr Math1();
  ExprPtr Concat();
  ExprPtr Math2();
  ExprPtr Pow();
  ExprPtr Unary(bool with_filter);
  ExprPtr Primary();
  // Positional and keyword arguments after "(" up to and including ")".
  void Args(Expr* call);
  ExprPtr Postfix(ExprPtr e);
  ExprPtr Subscript(ExprPtr e);
  ExprPtr FilterOrTest(ExprPtr e);

 protected:
  const Token& Cur() const { return toks_[pos_]; }
  const Token& Peek(size_t k = 1) const { return toks_[std::min(pos_ + k, toks_.size() - 1)]; }
  bool IsOp(const char* op) const { return Cur().kind == TokenKind::kOperator && Cur().value == op; }
  bool IsName(const char* name) const { return Cur().kind == TokenKind::kName && Cur().value == name; }
  const Token& Next() { return toks_[pos_ < toks_.size() - 1 ? pos_++ : pos_]; }

  [[noreturn]] void Fail(const std::string& message) const { throw JinjaError(Cur().pos, message); }

  std::string Describe(const Token& t) const {
    switch (t.kind) {
      case TokenKind::kText: return "template text";
      case TokenKind::kVarBegin: return "'{{'";
      case TokenKind::kVarEnd: return "'}}'";
      case TokenKind::kBlockBegin: return "'{%'";
      case TokenKind::kBlockEnd: return "'%}'";
      case TokenKind::kEnd: return "end of template";
      default: return "'" + t.value + "'";
    }
  }

  void ExpectOp(const char* op) {
    if (!IsOp(op)) Fail(std::string("expected '") + op + "', got " + Describe(Cur()));
    Next();
  }
  void Expect(TokenKind kind, const char* what) {
    if (Cur().kind != kind) Fail(std::string("expected ") + what + ", got " + Describe(Cur()));
    Next();
  }
  std::string ExpectName() {
    if (Cur().kind != TokenKind::kName) Fail("expected a name, got " + Describe(Cur()));
    return Next().value;
  }
  void ExpectBlockEnd() { Expect(TokenKind::kBlockEnd, "'%}'"); }

  static ExprPtr Make(Expr::Kind kind, SourcePos pos) {
    auto e = std::make_unique<Expr>();
    e->kind = kind;
    e->pos = pos;
    return e;
  }

  std::vector<Token> toks_;
  size_t pos_ = 0;
};

}  // namespace mamba::jinja
