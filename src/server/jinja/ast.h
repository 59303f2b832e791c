// SPDX-License-Identifier: MIT
// The parsed form of a Jinja template: expression and statement nodes (parser.h builds them,
// interpreter.cc walks them).
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "server/jinja/error.h"
#include "server/jinja/value.h"

namespace mamba::jinja {

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Expr {
  enum class Kind {
    kLiteral,  // literal
    kName,     // name
    kList,     // args: elements
    kDict,     // args: key0, value0, key1, value1, ...
    kAttr,     // args[0].name
    kItem,     // args[0][args[1]]
    kSlice,    // args[0][args[1]:args[2]:args[3]] (null = omitted)
    kCall,     // args[0](args[1:], kwargs)
    kFilter,   // args[0] | name(args[1:], kwargs)
    kTest,     // args[0] is [not] name(args[1:])
    kUnary,    // name ("-", "+", "not") args[0]
    kBinary,   // args[0] name args[1]; name: + - * / // % ** ~ == != < <= > >= in notin and or
    kCond,     // args[0] if args[1] else args[2] (null: undefined)
  };
  Kind kind;
  SourcePos pos;
  Json literal;
  std::string name;
  std::vector<ExprPtr> args;
  std::vector<std::pair<std::string, ExprPtr>> kwargs;
  bool negated = false;  // kTest: "is not"
};

struct Node;
using NodeList = std::vector<std::unique_ptr<Node>>;

struct Node {
  enum class Kind {
    kText,      // text
    kOutput,    // {{ expr }}
    kIf,        // branches (condition, body), else_body
    kFor,       // for targets in expr [if filter]: body, else_body
    kSet,       // set targets = expr; attr_target: targets = {namespace, attribute}
    kSetBlock,  // {% set targets[0] %}body{% endset %}
    kBreak,
    kContinue,
    kScope,     // {% generation %}body{% endgeneration %}: rendered in place
    kMacro,     // {% macro name(params) %}body{% endmacro %}: params in targets, defaults
  };
  Kind kind;
  SourcePos pos;
  std::string text;
  ExprPtr expr;
  ExprPtr filter;
  std::vector<std::string> targets;
  std::vector<ExprPtr> defaults;  // kMacro: default of each parameter (null = required)
  bool attr_target = false;
  std::vector<std::pair<ExprPtr, NodeList>> branches;
  NodeList body;
  NodeList else_body;
};

}  // namespace mamba::jinja
