// SPDX-License-Identifier: MIT
// Template::Render: walks the statement list with Jinja's scoping (a for loop body and a macro
// call get their own scope, so `set` inside them does not leak out; if does not scope).
#include <map>

#include "server/jinja/ast.h"
#include "server/jinja/builtins.h"
#include "server/jinja/jinja.h"
#include "server/jinja/parser.h"

namespace mamba::jinja {
namespace {

constexpr size_t kMaxOutput = 64u << 20;  // a template that runs away stops here
constexpr int kMaxDepth = 200;            // macro recursion
constexpr int64_t kMaxSteps = 1'000'000;  // statements executed: a template that loops too long

enum class Flow { kNormal, kBreak, kContinue };

class Interpreter {
 public:
  explicit Interpreter(const Json& context) {
    scopes_.emplace_back();
    if (context.is_object()) {
      for (auto it = context.begin(); it != context.end(); ++it) {
        scopes_.back()[it.key()] = Value::Of(it.value());
      }
    }
  }

  Flow Exec(const NodeList& nodes, std::string* out) {
    for (const auto& n : nodes) {
      const Flow f = ExecOne(*n, out);
      if (f != Flow::kNormal) return f;
      if (out->size() > kMaxOutput) throw JinjaError(n->pos, "template output too large");
      if (++steps_ > kMaxSteps) throw JinjaError(n->pos, "template runs too long");
    }
    return Flow::kNormal;
  }

 private:
  Value Lookup(const std::string& name) const {
    for (auto it = scopes_.rbegin(); it != scopes_.rend(); ++it) {
      auto found = it->find(name);
      if (found != it->end()) return found->second;
    }
    if (IsGlobalFunction(name)) return Value::Builtin(name);
    return Value::Undefined("'" + name + "' is undefined");
  }

  void Assign(const std::string& name, Value v) { scopes_.back()[name] = std::move(v); }

  Flow ExecOne(const Node& n, std::string* out) {
    switch (n.kind) {
      case Node::Kind::kText: *out += n.text; return Flow::kNormal;
      case Node::Kind::kOutput: *out += ToStr(Eval(*n.expr)); return Flow::kNormal;
      case Node::Kind::kIf:
        for (const auto& [cond, body] : n.branches) {
          if (Truthy(Eval(*cond))) return Exec(body, out);
        }
        return Exec(n.else_body, out);
      case Node::Kind::kFor: return For(n, out);
      case Node::Kind::kSet: {
        Value v = Eval(*n.expr);
        if (n.attr_target) {
          Value ns = Lookup(n.targets[0]);
          if (ns.kind != Value::Kind::kNamespace) {
            throw JinjaError(n.pos, "can only set attributes of a namespace() object");
          }
          if (v.undefined()) {
            (*ns.ns).erase(n.targets[1]);
          } else {
            if (!v.is_data()) throw JinjaError(n.pos, "a namespace attribute must be data");
            (*ns.ns)[n.targets[1]] = v.data;
          }
        } else if (n.targets.size() == 1) {
          Assign(n.targets[0], std::move(v));
        } else {
          Unpack(n.targets, v, n.pos);
        }
        return Flow::kNormal;
      }
      case Node::Kind::kSetBlock: {
        std::string captured;
        Exec(n.body, &captured);
        Assign(n.targets[0], Value::Of(captured));
        return Flow::kNormal;
      }
      case Node::Kind::kBreak: return Flow::kBreak;
      case Node::Kind::kContinue: return Flow::kContinue;
      case Node::Kind::kScope: return Exec(n.body, out);
      case Node::Kind::kMacro: {
        Value m;
        m.kind = Value::Kind::kMacro;
        m.macro = &n;
        Assign(n.text, m);
        return Flow::kNormal;
      }
    }
    return Flow::kNormal;
  }

  void Unpack(const std::vector<std::string>& targets, const Value& v, SourcePos pos) {
    std::vector<Value> items = Iterate(v, pos);
    if (items.size() != targets.size()) {
      throw JinjaError(pos, "cannot unpack " + std::to_string(items.size()) + " values into " +
                                std::to_string(targets.size()));
    }
    for (size_t i = 0; i < targets.size(); ++i) Assign(targets[i], items[i]);
  }

  Flow For(const Node& n, std::string* out) {
    std::vector<Value> items = Iterate(Eval(*n.expr), n.expr->pos);
    if (n.filter) {  // "for x in xs if cond": the loop sees only the kept items
      std::vector<Value> kept;
      for (const Value& item : items) {
        scopes_.emplace_back();
        Bind(n, item);
        if (Truthy(Eval(*n.filter))) kept.push_back(item);
        scopes_.pop_back();
      }
      items = std::move(kept);
    }
    if (items.empty()) return Exec(n.else_body, out);
    const auto len = static_cast<int64_t>(items.size());
    for (int64_t i = 0; i < len; ++i) {
      Json loop = {{"index", i + 1},        {"index0", i},          {"revindex", len - i},
                   {"revindex0", len - i - 1}, {"first", i == 0},    {"last", i == len - 1},
                   {"length", len},         {"depth", 1},           {"depth0", 0}};
      if (i > 0 && items[i - 1].is_data()) loop["previtem"] = items[i - 1].data;
      if (i + 1 < len && items[i + 1].is_data()) loop["nextitem"] = items[i + 1].data;
      if (++steps_ > kMaxSteps) throw JinjaError(n.pos, "template runs too long");
      scopes_.emplace_back();
      Assign("loop", Value::Of(std::move(loop)));
      Bind(n, items[i]);
      const Flow f = Exec(n.body, out);
      scopes_.pop_back();
      if (f == Flow::kBreak) break;
    }
    return Flow::kNormal;
  }

  void Bind(const Node& n, const Value& item) {
    if (n.targets.size() == 1) {
      Assign(n.targets[0], item);
    } else {
      Unpack(n.targets, item, n.pos);
    }
  }

  Value CallMacro(const Node& m, const std::vector<Value>& args, const Kwargs& kwargs,
                  SourcePos pos) {
    if (++depth_ > kMaxDepth) throw JinjaError(pos, "macro recursion too deep");
    if (args.size() > m.targets.size()) throw JinjaError(pos, "macro '" + m.text + "' takes " +
                                                                  std::to_string(m.targets.size()) +
                                                                  " arguments");
    scopes_.emplace_back();
    for (size_t i = 0; i < m.targets.size(); ++i) {
      Value v = i < args.size() ? args[i] : Value::Undefined("'" + m.targets[i] + "' is undefined");
      for (const auto& [k, kv] : kwargs) {
        if (k == m.targets[i]) v = kv;
      }
      if (v.undefined() && i >= args.size() && m.defaults[i]) v = Eval(*m.defaults[i]);
      Assign(m.targets[i], v);
    }
    std::string out;
    Exec(m.body, &out);
    scopes_.pop_back();
    --depth_;
    return Value::Of(out);
  }

  Value Eval(const Expr& e) {
    switch (e.kind) {
      case Expr::Kind::kLiteral: return Value::Of(e.literal);
      case Expr::Kind::kName: return Lookup(e.name);
      case Expr::Kind::kList: {
        Json list = Json::array();
        for (const auto& a : e.args) list.push_back(Data(Eval(*a), a->pos));
        return Value::Of(std::move(list));
      }
      case Expr::Kind::kDict: {
        Json obj = Json::object();
        for (size_t i = 0; i + 1 < e.args.size(); i += 2) {
          Value k = Eval(*e.args[i]);
          if (!k.is_data() || !k.data.is_string()) {
            throw JinjaError(e.args[i]->pos, "dict keys must be strings here");
          }
          obj[k.data.get<std::string>()] = Data(Eval(*e.args[i + 1]), e.args[i + 1]->pos);
        }
        return Value::Of(std::move(obj));
      }
      case Expr::Kind::kAttr: return GetAttr(Eval(*e.args[0]), e.name, e.pos);
      case Expr::Kind::kItem: return GetItem(Eval(*e.args[0]), Eval(*e.args[1]), e.pos);
      case Expr::Kind::kSlice: {
        auto part = [&](size_t i) { return e.args[i] ? Eval(*e.args[i]) : Value(); };
        return Slice(Eval(*e.args[0]), part(1), part(2), part(3), e.pos);
      }
      case Expr::Kind::kCall: return Call(e);
      case Expr::Kind::kFilter: {
        std::vector<Value> args;
        Kwargs kwargs;
        EvalArgs(e, &args, &kwargs);
        return ApplyFilter(e.name, Eval(*e.args[0]), args, kwargs, e.pos);
      }
      case Expr::Kind::kTest: {
        std::vector<Value> args;
        Kwargs kwargs;
        EvalArgs(e, &args, &kwargs);
        Value subject;
        if (e.name == "defined" || e.name == "undefined") {
          subject = Eval(*e.args[0]);
        } else {
          subject = Eval(*e.args[0]);
        }
        return Value::Of(ApplyTest(e.name, subject, args, e.pos) != e.negated);
      }
      case Expr::Kind::kUnary: {
        Value v = Eval(*e.args[0]);
        if (e.name == "not") return Value::Of(!Truthy(v));
        return Arithmetic(e.name == "-" ? "-" : "+", Value::Of(0), v, e.pos);
      }
      case Expr::Kind::kBinary: return Binary(e);
      case Expr::Kind::kCond:
        if (Truthy(Eval(*e.args[1]))) return Eval(*e.args[0]);
        return e.args[2] ? Eval(*e.args[2]) : Value::Undefined("the if expression was false");
    }
    return Value();
  }

  static Json Data(const Value& v, SourcePos pos) {
    if (v.is_data()) return v.data;
    if (v.kind == Value::Kind::kNamespace) return *v.ns;
    if (v.undefined()) return nullptr;  // (a list holding Undefined: printed as None)
    throw JinjaError(pos, "a function cannot be stored in a list or dict");
  }

  void EvalArgs(const Expr& e, std::vector<Value>* args, Kwargs* kwargs) {
    for (size_t i = 1; i < e.args.size(); ++i) args->push_back(Eval(*e.args[i]));
    for (const auto& [k, v] : e.kwargs) kwargs->emplace_back(k, Eval(*v));
  }

  Value Call(const Expr& e) {
    std::vector<Value> args;
    Kwargs kwargs;
    const Expr& callee = *e.args[0];
    if (callee.kind == Expr::Kind::kAttr) {
      Value obj = Eval(*callee.args[0]);
      EvalArgs(e, &args, &kwargs);
      Value result;
      if (CallMethod(obj, callee.name, args, kwargs, e.pos, &result)) return result;
      return CallValue(GetAttr(obj, callee.name, callee.pos), args, kwargs, e.pos);
    }
    Value f = Eval(callee);
    EvalArgs(e, &args, &kwargs);
    return CallValue(f, args, kwargs, e.pos);
  }

  Value CallValue(const Value& f, const std::vector<Value>& args, const Kwargs& kwargs,
                  SourcePos pos) {
    if (f.kind == Value::Kind::kBuiltin) return CallGlobal(f.name, args, kwargs, pos);
    if (f.kind == Value::Kind::kMacro) return CallMacro(*f.macro, args, kwargs, pos);
    RequireDefined(f, pos);
    throw JinjaError(pos, "object is not callable");
  }

  Value Binary(const Expr& e) {
    const std::string& op = e.name;
    if (op == "and" || op == "or") {
      Value a = Eval(*e.args[0]);
      if (Truthy(a) == (op == "or")) return a;
      return Eval(*e.args[1]);
    }
    Value a = Eval(*e.args[0]);
    Value b = Eval(*e.args[1]);
    if (op == "==") return Value::Of(Equal(a, b));
    if (op == "!=") return Value::Of(!Equal(a, b));
    if (op == "<") return Value::Of(Less(a, b, e.pos));
    if (op == ">") return Value::Of(Less(b, a, e.pos));
    if (op == "<=") return Value::Of(!Less(b, a, e.pos));
    if (op == ">=") return Value::Of(!Less(a, b, e.pos));
    if (op == "in" || op == "notin") return Value::Of(Contains(b, a, e.pos) == (op == "in"));
    return Arithmetic(op, a, b, e.pos);
  }

  static bool Contains(const Value& container, const Value& item, SourcePos pos) {
    if (container.is_data() && container.data.is_string()) {
      if (!item.is_data() || !item.data.is_string()) {
        throw JinjaError(pos, "'in <string>' requires string as left operand");
      }
      return container.data.get<std::string>().find(item.data.get<std::string>()) !=
             std::string::npos;
    }
    if (container.kind == Value::Kind::kNamespace) {
      throw JinjaError(pos, "argument of type 'Namespace' is not iterable");
    }
    for (const Value& v : Iterate(container, pos)) {
      if (Equal(v, item)) return true;
    }
    return false;
  }

  std::vector<std::map<std::string, Value>> scopes_;
  int depth_ = 0;
  int64_t steps_ = 0;
};

std::string Located(const JinjaError& e) {
  return "line " + std::to_string(e.pos().line) + ", column " + std::to_string(e.pos().column) +
         ": " + e.what();
}

}  // namespace

StatusOr<Template> Template::Parse(std::string_view source) {
  try {
    Template t;
    t.nodes_ = std::make_shared<const NodeList>(jinja::Parse(source));
    return t;
  } catch (const JinjaError& e) {
    return InvalidArgumentError(Located(e));
  } catch (const std::exception& e) {
    return InvalidArgumentError(std::string("template error: ") + e.what());
  }
}

StatusOr<std::string> Template::Render(const Json& context) const {
  try {
    Interpreter interp(context);
    std::string out;
    interp.Exec(*nodes_, &out);
    return out;
  } catch (const JinjaError& e) {
    return InvalidArgumentError(Located(e));
  } catch (const std::exception& e) {  // nlohmann type errors and the like
    return InvalidArgumentError(std::string("template error: ") + e.what());
  }
}

}  // namespace mamba::jinja
