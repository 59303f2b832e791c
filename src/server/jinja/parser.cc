// SPDX-License-Identifier: MIT
// Parse: the statements of a template (expressions: parser_expr.cc).
#include "server/jinja/parser.h"

#include <initializer_list>

#include "server/jinja/lexer.h"
#include "server/jinja/parser_expr.h"

namespace mamba::jinja {
namespace {

class Parser : public ExprParser {
 public:
  using ExprParser::ExprParser;

  NodeList Template() {
    std::string end_tag;
    NodeList body = Body({}, &end_tag);
    return body;
  }

 private:

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










};

}  // namespace

NodeList Parse(std::string_view source) { return Parser(Tokenize(source)).Template(); }

}  // namespace mamba::jinja
