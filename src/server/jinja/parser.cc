// SPDX-License-Identifier: MIT
// Parse: recursive descent over the lexer's tokens, jinja2.parser's precedence
// (condexpr < or < and < not < compare < + - < ~ < * / // % < ** < unary < filters/tests).
#include "server/jinja/parser.h"

#include <charconv>
#include <cstdlib>
#include <initializer_list>

#include "server/jinja/lexer.h"

namespace mamba::jinja {
namespace {

class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : toks_(std::move(tokens)) {}

  NodeList Template() {
    std::string end_tag;
    NodeList body = Body({}, &end_tag);
    return body;
  }

 private:
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

  // Statements up to a block tag named in `end_tags` (left unconsumed after "{%"; its name goes to
  // *end_tag), or the end of the template when `end_tags` is empty.
  NodeList Body(std::initializer_list<const char*> end_tags, std::string* end_tag) {
    NodeList out;
    for (;;) {
      const Token& t = Cur();
      if (t.kind == TokenKind::kEnd) {
        if (end_tags.size() != 0) {
          std::string want;
          for (const char* e : end_tags) want += (want.empty() ? "'" : " or '") + std::string(e) + "'";
          Fail("unexpected end of template, expected " + want);
        }
        return out;
      }
      if (t.kind == TokenKind::kText) {
        auto n = std::make_unique<Node>();
        n->kind = Node::Kind::kText;
        n->pos = t.pos;
        n->text = t.value;
        out.push_back(std::move(n));
        Next();
      } else if (t.kind == TokenKind::kVarBegin) {
        Next();
        auto n = std::make_unique<Node>();
        n->kind = Node::Kind::kOutput;
        n->pos = t.pos;
        n->expr = Tuple(true);
        Expect(TokenKind::kVarEnd, "'}}'");
        out.push_back(std::move(n));
      } else if (t.kind == TokenKind::kBlockBegin) {
        const Token& name = Peek();
        if (name.kind == TokenKind::kName) {
          for (const char* e : end_tags) {
            if (name.value == e) {
              Next();
              *end_tag = Next().value;
              return out;
            }
          }
        }
        Next();
        out.push_back(Statement());
      } else {
        Fail("unexpected " + Describe(t));
      }
    }
  }

  std::unique_ptr<Node> Statement() {
    const Token tag = Cur();
    if (tag.kind != TokenKind::kName) Fail("expected a tag name, got " + Describe(tag));
    auto n = std::make_unique<Node>();
    n->pos = tag.pos;
    const std::string& name = tag.value;
    Next();
    std::string end;
    if (name == "if") {
      n->kind = Node::Kind::kIf;
      ExprPtr cond = Expression(false);
      for (;;) {
        ExpectBlockEnd();
        NodeList body = Body({"elif", "else", "endif"}, &end);
        n->branches.emplace_back(std::move(cond), std::move(body));
        if (end != "elif") break;
        cond = Expression(false);
      }
      if (end == "else") {
        ExpectBlockEnd();
        n->else_body = Body({"endif"}, &end);
      }
      ExpectBlockEnd();
    } else if (name == "for") {
      n->kind = Node::Kind::kFor;
      n->targets.push_back(ExpectName());
      while (IsOp(",")) {
        Next();
        n->targets.push_back(ExpectName());
      }
      if (!IsName("in")) Fail("expected 'in', got " + Describe(Cur()));
      Next();
      n->expr = Tuple(false);
      if (IsName("if")) {
        Next();
        n->filter = Expression(true);
      }
      if (IsName("recursive")) Fail("recursive loops are not supported");
      ExpectBlockEnd();
      n->body = Body({"else", "endfor"}, &end);
      if (end == "else") {
        ExpectBlockEnd();
        n->else_body = Body({"endfor"}, &end);
      }
      ExpectBlockEnd();
    } else if (name == "set") {
      n->kind = Node::Kind::kSet;
      n->targets.push_back(ExpectName());
      if (IsOp(".")) {
        Next();
        n->targets.push_back(ExpectName());
        n->attr_target = true;
      } else {
        while (IsOp(",")) {
          Next();
          n->targets.push_back(ExpectName());
        }
      }
      if (IsOp("=")) {
        Next();
        n->expr = Tuple(true);
        ExpectBlockEnd();
      } else {
        if (n->attr_target || n->targets.size() != 1) Fail("expected '='");
        n->kind = Node::Kind::kSetBlock;
        ExpectBlockEnd();
        n->body = Body({"endset"}, &end);
        ExpectBlockEnd();
      }
    } else if (name == "break" || name == "continue") {
      n->kind = name == "break" ? Node::Kind::kBreak : Node::Kind::kContinue;
      ExpectBlockEnd();
    } else if (name == "generation") {
      n->kind = Node::Kind::kScope;
      ExpectBlockEnd();
      n->body = Body({"endgeneration"}, &end);
      ExpectBlockEnd();
    } else if (name == "macro") {
      n->kind = Node::Kind::kMacro;
      n->text = ExpectName();
      ExpectOp("(");
      while (!IsOp(")")) {
        if (!n->targets.empty()) ExpectOp(",");
        if (IsOp(")")) break;
        n->targets.push_back(ExpectName());
        if (IsOp("=")) {
          Next();
          n->defaults.push_back(Expression(true));
        } else {
          n->defaults.push_back(nullptr);
        }
      }
      Next();
      ExpectBlockEnd();
      n->body = Body({"endmacro"}, &end);
      if (Cur().kind == TokenKind::kName) Next();  // {% endmacro name %}
      ExpectBlockEnd();
    } else {
      throw JinjaError(tag.pos, "unknown tag '" + name + "'");
    }
    return n;
  }

  // expr [, expr ...] -> a list when there is a comma (a Python tuple).
  ExprPtr Tuple(bool with_condexpr) {
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

  ExprPtr Expression(bool with_condexpr) {
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

  ExprPtr Binary(const std::string& op, SourcePos pos, ExprPtr a, ExprPtr b) {
    ExprPtr e = Make(Expr::Kind::kBinary, pos);
    e->name = op;
    e->args.push_back(std::move(a));
    e->args.push_back(std::move(b));
    return e;
  }

  ExprPtr Or() {
    ExprPtr e = And();
    while (IsName("or")) {
      const SourcePos pos = Next().pos;
      e = Binary("or", pos, std::move(e), And());
    }
    return e;
  }
  ExprPtr And() {
    ExprPtr e = Not();
    while (IsName("and")) {
      const SourcePos pos = Next().pos;
      e = Binary("and", pos, std::move(e), Not());
    }
    return e;
  }
  ExprPtr Not() {
    if (IsName("not")) {
      ExprPtr e = Make(Expr::Kind::kUnary, Next().pos);
      e->name = "not";
      e->args.push_back(Not());
      return e;
    }
    return Compare();
  }
  ExprPtr Compare() {
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
  ExprPtr Math1() {
    ExprPtr e = Concat();
    while (IsOp("+") || IsOp("-")) {
      const Token& t = Next();
      e = Binary(t.value, t.pos, std::move(e), Concat());
    }
    return e;
  }
  ExprPtr Concat() {
    ExprPtr e = Math2();
    while (IsOp("~")) {
      const SourcePos pos = Next().pos;
      e = Binary("~", pos, std::move(e), Math2());
    }
    return e;
  }
  ExprPtr Math2() {
    ExprPtr e = Pow();
    while (IsOp("*") || IsOp("/") || IsOp("//") || IsOp("%")) {
      const Token& t = Next();
      e = Binary(t.value, t.pos, std::move(e), Pow());
    }
    return e;
  }
  ExprPtr Pow() {
    ExprPtr e = Unary(true);
    while (IsOp("**")) {
      const SourcePos pos = Next().pos;
      e = Binary("**", pos, std::move(e), Unary(true));
    }
    return e;
  }
  ExprPtr Unary(bool with_filter) {
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

  ExprPtr Primary() {
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
  void Args(Expr* call) {
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

  ExprPtr Postfix(ExprPtr e) {
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

  ExprPtr Subscript(ExprPtr e) {
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

  ExprPtr FilterOrTest(ExprPtr e) {
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

  std::vector<Token> toks_;
  size_t pos_ = 0;
};

}  // namespace

NodeList Parse(std::string_view source) { return Parser(Tokenize(source)).Template(); }

}  // namespace mamba::jinja
