// SPDX-License-Identifier: MIT
// ExprParser: Jinja expressions.
#include <charconv>
#include <cstdlib>

#include "server/jinja/parser_expr.h"

namespace mamba::jinja {

// expr [, expr ...] -> a list when there is a comma (a Python tuple).
ExprPtr ExprParser::Tuple(bool with_condexpr) {
  const SourcePos pos = Cur().pos;
  ExprPtr first = Expression(with_condexpr);
  if (!IsOp(",")) return first;
  ExprPtr list = Make(Expr::Kind::kList, pos);
  list->args.push_back(std::move(first));
  while (IsOp(",")) {
    Next();
    if (Cur().kind == TokenKind::kVarEnd || Cur().kind == TokenKind::kBlockEnd) break;
    list->args.push_back(Expression(with_condexpr));
  }
  return list;
}

ExprPtr ExprParser::Expression(bool with_condexpr) {
  ExprPtr e = Or();
  while (with_condexpr && IsName("if")) {
    const SourcePos pos = Cur().pos;
    Next();
    ExprPtr cond = Or();
    ExprPtr otherwise;
    if (IsName("else")) {
      Next();
      otherwise = Expression(true);
    }
    ExprPtr c = Make(Expr::Kind::kCond, pos);
    c->args.push_back(std::move(e));
    c->args.push_back(std::move(cond));
    c->args.push_back(std::move(otherwise));
    e = std::move(c);
  }
  return e;
}

ExprPtr ExprParser::Binary(const std::string& op, SourcePos pos, ExprPtr a, ExprPtr b) {
  ExprPtr e = Make(Expr::Kind::kBinary, pos);
  e->name = op;
  e->args.push_back(std::move(a));
  e->args.push_back(std::move(b));
  return e;
}

ExprPtr ExprParser::Or() {
  ExprPtr e = And();
  while (IsName("or")) {
    const SourcePos pos = Next().pos;
    e = Binary("or", pos, std::move(e), And());
  }
  return e;
}

ExprPtr ExprParser::And() {
  ExprPtr e = Not();
  while (IsName("and")) {
    const SourcePos pos = Next().pos;
    e = Binary("and", pos, std::move(e), Not());
  }
  return e;
}

ExprPtr ExprParser::Not() {
  if (IsName("not")) {
    ExprPtr e = Make(Expr::Kind::kUnary, Next().pos);
    e->name = "not";
    e->args.push_back(Not());
    return e;
  }
  return Compare();
}

ExprPtr ExprParser::Compare() {
  ExprPtr e = Math1();
  ExprPtr chain;  // a < b < c == (a < b) and (b < c); b is evaluated twice (no side effects)
  for (;;) {
    std::string op;
    const SourcePos pos = Cur().pos;
    if (Cur().kind == TokenKind::kOperator &&
        (Cur().value == "==" || Cur().value == "!=" || Cur().value == "<" ||
         Cur().value == "<=" || Cur().value == ">" || Cur().value == ">=")) {
      op = Next().value;
    } else if (IsName("in")) {
      Next();
      op = "in";
    } else if (IsName("not") && Peek().kind == TokenKind::kName && Peek().value == "in") {
      Next();
      Next();
      op = "notin";
    } else {
      break;
    }
    if (chain) Fail("chained comparisons are not supported");
    chain = Binary(op, pos, std::move(e), Math1());
    e = std::move(chain);
    chain = nullptr;
    if (Cur().kind == TokenKind::kOperator &&
        (Cur().value == "==" || Cur().value == "!=" || Cur().value == "<" ||
         Cur().value == "<=" || Cur().value == ">" || Cur().value == ">=")) {
      Fail("chained comparisons are not supported");
    }
  }
  return e;
}

ExprPtr ExprParser::Math1() {
  ExprPtr e = Concat();
  while (IsOp("+") || IsOp("-")) {
    const Token& t = Next();
    e = Binary(t.value, t.pos, std::move(e), Concat());
  }
  return e;
}

ExprPtr ExprParser::Concat() {
  ExprPtr e = Math2();
  while (IsOp("~")) {
    const SourcePos pos = Next().pos;
    e = Binary("~", pos, std::move(e), Math2());
  }
  return e;
}

ExprPtr ExprParser::Math2() {
  ExprPtr e = Pow();
  while (IsOp("*") || IsOp("/") || IsOp("//") || IsOp("%")) {
    const Token& t = Next();
    e = Binary(t.value, t.pos, std::move(e), Pow());
  }
  return e;
}

ExprPtr ExprParser::Pow() {
  ExprPtr e = Unary(true);
  while (IsOp("**")) {
    const SourcePos pos = Next().pos;
    e = Binary("**", pos, std::move(e), Unary(true));
  }
  return e;
}

ExprPtr ExprParser::Unary(bool with_filter) {
  ExprPtr e;
  if (IsOp("-") || IsOp("+")) {
    const Token& t = Next();
    e = Make(Expr::Kind::kUnary, t.pos);
    e->name = t.value;
    e->args.push_back(Unary(false));
  } else {
    e = Primary();
  }
  e = Postfix(std::move(e));
  if (with_filter) e = FilterOrTest(std::move(e));
  return e;
}

ExprPtr ExprParser::Primary() {
  const Token& t = Cur();
  switch (t.kind) {
    case TokenKind::kName: {
      Next();
      ExprPtr e;
      if (t.value == "true" || t.value == "True" || t.value == "false" || t.value == "False") {
        e = Make(Expr::Kind::kLiteral, t.pos);
        e->literal = t.value == "true" || t.value == "True";
      } else if (t.value == "none" || t.value == "None") {
        e = Make(Expr::Kind::kLiteral, t.pos);
        e->literal = nullptr;
      } else {
        e = Make(Expr::Kind::kName, t.pos);
        e->name = t.value;
      }
      return e;
    }
    case TokenKind::kString: {
      ExprPtr e = Make(Expr::Kind::kLiteral, t.pos);
      std::string s;
      while (Cur().kind == TokenKind::kString) s += Next().value;  // "a" "b" == "ab"
      e->literal = s;
      return e;
    }
    case TokenKind::kInteger: {
      ExprPtr e = Make(Expr::Kind::kLiteral, t.pos);
      int64_t v = 0;
      auto res = std::from_chars(t.value.data(), t.value.data() + t.value.size(), v);
      if (res.ec != std::errc()) Fail("integer literal out of range");
      e->literal = v;
      Next();
      return e;
    }
    case TokenKind::kFloat: {
      ExprPtr e = Make(Expr::Kind::kLiteral, t.pos);
      e->literal = std::strtod(t.value.c_str(), nullptr);
      Next();
      return e;
    }
    case TokenKind::kOperator: {
      if (t.value == "(") {
        const SourcePos pos = Next().pos;
        if (IsOp(")")) {
          Next();
          return Make(Expr::Kind::kList, pos);
        }
        ExprPtr e = Expression(true);
        if (IsOp(",")) {
          ExprPtr list = Make(Expr::Kind::kList, pos);
          list->args.push_back(std::move(e));
          while (IsOp(",")) {
            Next();
            if (IsOp(")")) break;
            list->args.push_back(Expression(true));
          }
          e = std::move(list);
        }
        ExpectOp(")");
        return e;
      }
      if (t.value == "[") {
        ExprPtr e = Make(Expr::Kind::kList, Next().pos);
        while (!IsOp("]")) {
          if (!e->args.empty()) ExpectOp(",");
          if (IsOp("]")) break;
          e->args.push_back(Expression(true));
        }
        Next();
        return e;
      }
      if (t.value == "{") {
        ExprPtr e = Make(Expr::Kind::kDict, Next().pos);
        while (!IsOp("}")) {
          if (!e->args.empty()) ExpectOp(",");
          if (IsOp("}")) break;
          e->args.push_back(Expression(true));
          ExpectOp(":");
          e->args.push_back(Expression(true));
        }
        Next();
        return e;
      }
      break;
    }
    default: break;
  }
  Fail("unexpected " + Describe(t));
}

// Positional and keyword arguments after "(" up to and including ")".
void ExprParser::Args(Expr* call) {
  bool seen = false;
  while (!IsOp(")")) {
    if (seen) ExpectOp(",");
    if (IsOp(")")) break;
    seen = true;
    if (Cur().kind == TokenKind::kName && Peek().kind == TokenKind::kOperator &&
        Peek().value == "=") {
      std::string key = Next().value;
      Next();
      call->kwargs.emplace_back(std::move(key), Expression(true));
    } else {
      if (!call->kwargs.empty()) Fail("positional argument after a keyword argument");
      call->args.push_back(Expression(true));
    }
  }
  Next();
}

ExprPtr ExprParser::Postfix(ExprPtr e) {
  for (;;) {
    if (IsOp(".")) {
      const SourcePos pos = Next().pos;
      ExprPtr a;
      if (Cur().kind == TokenKind::kInteger) {
        a = Make(Expr::Kind::kItem, pos);
        ExprPtr index = Make(Expr::Kind::kLiteral, pos);
        index->literal = std::stoll(Next().value);
        a->args.push_back(std::move(e));
        a->args.push_back(std::move(index));
      } else {
        a = Make(Expr::Kind::kAttr, pos);
        a->name = ExpectName();
        a->args.push_back(std::move(e));
      }
      e = std::move(a);
    } else if (IsOp("[")) {
      e = Subscript(std::move(e));
    } else if (IsOp("(")) {
      ExprPtr call = Make(Expr::Kind::kCall, Next().pos);
      call->args.push_back(std::move(e));
      Args(call.get());
      e = std::move(call);
    } else {
      return e;
    }
  }
}

ExprPtr ExprParser::Subscript(ExprPtr e) {
  const SourcePos pos = Next().pos;  // "["
  ExprPtr parts[3];
  int colons = 0;
  for (;;) {
    if (IsOp("]")) break;
    if (IsOp(":")) {
      if (++colons > 2) Fail("unexpected ':'");
      Next();
      continue;
    }
    if (parts[colons]) Fail("expected ':' or ']', got " + Describe(Cur()));
    parts[colons] = Expression(true);
  }
  Next();
  if (colons == 0) {
    if (!parts[0]) Fail("empty subscript");
    ExprPtr item = Make(Expr::Kind::kItem, pos);
    item->args.push_back(std::move(e));
    item->args.push_back(std::move(parts[0]));
    return item;
  }
  ExprPtr slice = Make(Expr::Kind::kSlice, pos);
  slice->args.push_back(std::move(e));
  for (auto& p : parts) slice->args.push_back(std::move(p));
  return slice;
}

ExprPtr ExprParser::FilterOrTest(ExprPtr e) {
  for (;;) {
    if (IsOp("|")) {
      const SourcePos pos = Next().pos;
      ExprPtr f = Make(Expr::Kind::kFilter, pos);
      f->name = ExpectName();
      while (IsOp(".")) {
        Next();
        f->name += "." + ExpectName();
      }
      f->args.push_back(std::move(e));
      if (IsOp("(")) {
        Next();
        Args(f.get());
      }
      e = std::move(f);
    } else if (IsName("is")) {
      const SourcePos pos = Next().pos;
      ExprPtr t = Make(Expr::Kind::kTest, pos);
      if (IsName("not")) {
        Next();
        t->negated = true;
      }
      t->name = ExpectName();
      t->args.push_back(std::move(e));
      if (IsOp("(")) {
        Next();
        Args(t.get());
      } else if ((Cur().kind == TokenKind::kName || Cur().kind == TokenKind::kString ||
                  Cur().kind == TokenKind::kInteger || Cur().kind == TokenKind::kFloat ||
                  IsOp("(") || IsOp("[") || IsOp("{")) &&
                 !IsName("else") && !IsName("or") && !IsName("and")) {
        if (IsName("is")) Fail("you cannot chain multiple tests with 'is'");
        t->args.push_back(Postfix(Primary()));
      }
      e = std::move(t);
    } else if (IsOp("(")) {
      ExprPtr call = Make(Expr::Kind::kCall, Next().pos);
      call->args.push_back(std::move(e));
      Args(call.get());
      e = std::move(call);
    } else {
      return e;
    }
  }
}

}  // namespace mamba::jinja
