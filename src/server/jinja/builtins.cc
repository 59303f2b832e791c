// SPDX-License-Identifier: MIT
// Attribute/item access, iteration, arithmetic, Python methods and global functions.
#include <chrono>
#include <cmath>
#include <ctime>

#include "server/jinja/builtins.h"
#include "server/jinja/text_util.h"

namespace mamba::jinja {
namespace {

constexpr size_t kMaxSize = 64u << 20;  // the longest string / list an operator may build

Value Checked(Value v, SourcePos pos) {
  const Json& j = v.data;
  if ((j.is_string() && j.get_ref<const std::string&>().size() > kMaxSize) ||
      (j.is_array() && j.size() > kMaxSize / 16)) {
    throw JinjaError(pos, "value too large");
  }
  return v;
}

std::string Describe(const Value& v) {
  if (v.undefined()) return "Undefined";
  if (v.kind == Value::Kind::kNamespace) return "Namespace";
  if (!v.is_data()) return "function";
  const Json& j = v.data;
  if (j.is_null()) return "NoneType";
  if (j.is_boolean()) return "bool";
  if (j.is_number_float()) return "float";
  if (j.is_number()) return "int";
  if (j.is_string()) return "str";
  if (j.is_array()) return "list";
  return "dict";
}

bool IsInt(const Value& v) { return v.is_data() && (v.data.is_number_integer() || v.data.is_boolean()); }
bool IsNum(const Value& v) { return v.is_data() && (v.data.is_number() || v.data.is_boolean()); }
int64_t AsInt(const Value& v) {
  return v.data.is_boolean() ? (v.data.get<bool>() ? 1 : 0) : v.data.get<int64_t>();
}
double AsDouble(const Value& v) {
  return v.data.is_boolean() ? (v.data.get<bool>() ? 1.0 : 0.0) : v.data.get<double>();
}

[[noreturn]] void TypeError(const std::string& op, const Value& a, const Value& b, SourcePos pos) {
  throw JinjaError(pos, "unsupported operand type(s) for " + op + ": '" + Describe(a) + "' and '" +
                            Describe(b) + "'");
}

const Value* Arg(const std::vector<Value>& args, const Kwargs& kwargs, size_t i, const char* name) {
  if (i < args.size()) return &args[i];
  for (const auto& [k, v] : kwargs) {
    if (k == name) return &v;
  }
  return nullptr;
}

std::string StrArg(const std::vector<Value>& args, const Kwargs& kwargs, size_t i, const char* name,
                   SourcePos pos) {
  const Value* v = Arg(args, kwargs, i, name);
  if (v == nullptr || !v->is_data() || !v->data.is_string()) {
    throw JinjaError(pos, std::string("argument '") + name + "' must be a string");
  }
  return v->data.get<std::string>();
}

}  // namespace

void RequireDefined(const Value& v, SourcePos pos) {
  if (v.undefined()) throw JinjaError(pos, v.name.empty() ? "value is undefined" : v.name);
}

std::vector<Value> Iterate(const Value& v, SourcePos pos) {
  std::vector<Value> out;
  if (v.undefined()) return out;
  if (v.kind == Value::Kind::kNamespace || !v.is_data()) {
    throw JinjaError(pos, "'" + Describe(v) + "' object is not iterable");
  }
  const Json& j = v.data;
  if (j.is_array()) {
    for (const Json& e : j) out.push_back(Value::Of(e));
  } else if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) out.push_back(Value::Of(it.key()));
  } else if (j.is_string()) {
    for (uint32_t cp : DecodeUtf8(j.get_ref<const std::string&>())) {
      std::string s;
      AppendUtf8(&s, cp);
      out.push_back(Value::Of(s));
    }
  } else {
    throw JinjaError(pos, "'" + Describe(v) + "' object is not iterable");
  }
  return out;
}

Value GetAttr(const Value& obj, const std::string& name, SourcePos pos) {
  RequireDefined(obj, pos);
  if (obj.kind == Value::Kind::kNamespace) {
    auto it = obj.ns->find(name);
    if (it != obj.ns->end()) return Value::Of(*it);
    return Value::Undefined("'Namespace' object has no attribute '" + name + "'");
  }
  if (obj.is_data() && obj.data.is_object()) {
    auto it = obj.data.find(name);
    if (it != obj.data.end()) return Value::Of(*it);
    return Value::Undefined("'dict object' has no attribute '" + name + "'");
  }
  return Value::Undefined("'" + Describe(obj) + " object' has no attribute '" + name + "'");
}

Value GetItem(const Value& obj, const Value& key, SourcePos pos) {
  RequireDefined(obj, pos);
  if (obj.is_data()) {
    const Json& j = obj.data;
    if (j.is_object() && key.is_data() && key.data.is_string()) {
      auto it = j.find(key.data.get<std::string>());
      if (it != j.end()) return Value::Of(*it);
      return Value::Undefined("'dict object' has no attribute '" + key.data.get<std::string>() + "'");
    }
    if ((j.is_array() || j.is_string()) && IsInt(key)) {
      if (j.is_array()) {
        int64_t i = AsInt(key);
        const auto n = static_cast<int64_t>(j.size());
        if (i < 0) i += n;
        if (i >= 0 && i < n) return Value::Of(j[static_cast<size_t>(i)]);
        return Value::Undefined("list object has no element " + std::to_string(AsInt(key)));
      }
      std::vector<uint32_t> cps = DecodeUtf8(j.get_ref<const std::string&>());
      int64_t i = AsInt(key);
      const auto n = static_cast<int64_t>(cps.size());
      if (i < 0) i += n;
      if (i >= 0 && i < n) {
        std::string s;
        AppendUtf8(&s, cps[static_cast<size_t>(i)]);
        return Value::Of(s);
      }
      return Value::Undefined("str object has no element " + std::to_string(AsInt(key)));
    }
  }
  if (key.is_data() && key.data.is_string()) return GetAttr(obj, key.data.get<std::string>(), pos);
  return Value::Undefined("'" + Describe(obj) + " object' has no element " + ToStr(key));
}

Value Slice(const Value& obj, const Value& start, const Value& stop, const Value& step,
            SourcePos pos) {
  RequireDefined(obj, pos);
  const bool is_str = obj.is_data() && obj.data.is_string();
  if (!obj.is_data() || (!is_str && !obj.data.is_array())) {
    throw JinjaError(pos, "'" + Describe(obj) + "' object is not subscriptable");
  }
  auto bound = [&](const Value& v) -> std::optional<int64_t> {
    if (v.undefined() || (v.is_data() && v.data.is_null())) return std::nullopt;
    if (!IsInt(v)) throw JinjaError(pos, "slice indices must be integers or None");
    return AsInt(v);
  };
  std::vector<uint32_t> cps;
  if (is_str) cps = DecodeUtf8(obj.data.get_ref<const std::string&>());
  const int64_t n = is_str ? static_cast<int64_t>(cps.size()) : static_cast<int64_t>(obj.data.size());
  const int64_t st = bound(step).value_or(1);
  if (st == 0) throw JinjaError(pos, "slice step cannot be zero");
  auto clamp = [&](std::optional<int64_t> v, int64_t dflt) {
    if (!v) return dflt;
    int64_t i = *v < 0 ? *v + n : *v;
    if (st > 0) return std::clamp<int64_t>(i, 0, n);
    return std::clamp<int64_t>(i, -1, n - 1);
  };
  const int64_t b = clamp(bound(start), st > 0 ? 0 : n - 1);
  const int64_t e = clamp(bound(stop), st > 0 ? n : -1);
  std::vector<size_t> idx;
  for (int64_t i = b; st > 0 ? i < e : i > e; i += st) idx.push_back(static_cast<size_t>(i));
  if (is_str) {
    std::string s;
    for (size_t i : idx) AppendUtf8(&s, cps[i]);
    return Value::Of(s);
  }
  Json out = Json::array();
  for (size_t i : idx) out.push_back(obj.data[i]);
  return Value::Of(std::move(out));
}

Value Arithmetic(const std::string& op, const Value& a, const Value& b, SourcePos pos) {
  if (op == "~") return Checked(Value::Of(ToStr(a) + ToStr(b)), pos);
  RequireDefined(a, pos);
  RequireDefined(b, pos);
  if (IsNum(a) && IsNum(b)) {
    const bool ints = IsInt(a) && IsInt(b);
    if (op == "+") return ints ? Value::Of(AsInt(a) + AsInt(b)) : Value::Of(AsDouble(a) + AsDouble(b));
    if (op == "-") return ints ? Value::Of(AsInt(a) - AsInt(b)) : Value::Of(AsDouble(a) - AsDouble(b));
    if (op == "*") return ints ? Value::Of(AsInt(a) * AsInt(b)) : Value::Of(AsDouble(a) * AsDouble(b));
    if (op == "**") {
      if (ints && AsInt(b) >= 0) {
        int64_t r = 1;
        for (int64_t i = 0; i < AsInt(b) && i < 64; ++i) r *= AsInt(a);
        return Value::Of(r);
      }
      return Value::Of(std::pow(AsDouble(a), AsDouble(b)));
    }
    if ((ints && AsInt(b) == 0) || (!ints && AsDouble(b) == 0.0)) {
      throw JinjaError(pos, op == "/" ? "division by zero" : "integer division or modulo by zero");
    }
    if (op == "/") return Value::Of(AsDouble(a) / AsDouble(b));
    if (op == "//") {
      if (ints) {
        int64_t q = AsInt(a) / AsInt(b);
        if ((AsInt(a) % AsInt(b) != 0) && ((AsInt(a) < 0) != (AsInt(b) < 0))) --q;
        return Value::Of(q);
      }
      return Value::Of(std::floor(AsDouble(a) / AsDouble(b)));
    }
    if (op == "%") {
      if (ints) {
        int64_t r = AsInt(a) % AsInt(b);
        if (r != 0 && ((r < 0) != (AsInt(b) < 0))) r += AsInt(b);
        return Value::Of(r);
      }
      double r = std::fmod(AsDouble(a), AsDouble(b));
      if (r != 0 && ((r < 0) != (AsDouble(b) < 0))) r += AsDouble(b);
      return Value::Of(r);
    }
  }
  if (a.is_data() && b.is_data()) {
    if (op == "+" && a.data.is_string() && b.data.is_string()) {
      return Checked(Value::Of(a.data.get<std::string>() + b.data.get<std::string>()), pos);
    }
    if (op == "+" && a.data.is_array() && b.data.is_array()) {
      Json out = a.data;
      for (const Json& e : b.data) out.push_back(e);
      return Checked(Value::Of(std::move(out)), pos);
    }
    if (op == "*" && IsInt(a) && (b.data.is_string() || b.data.is_array())) {
      return Arithmetic(op, b, a, pos);
    }
    if (op == "*" && (a.data.is_string() || a.data.is_array()) && IsInt(b)) {
      const size_t unit = a.data.is_string() ? a.data.get_ref<const std::string&>().size()
                                             : a.data.size() * 16;
      if (AsInt(b) > 0 && unit > 0 && static_cast<uint64_t>(AsInt(b)) > kMaxSize / unit) {
        throw JinjaError(pos, "value too large");
      }
      Json out = a.data.is_string() ? Json("") : Json::array();
      for (int64_t i = 0; i < AsInt(b) && i < (1 << 26); ++i) {
        if (out.is_string()) {
          out.get_ref<std::string&>() += a.data.get<std::string>();
        } else {
          for (const Json& e : a.data) out.push_back(e);
        }
      }
      return Value::Of(std::move(out));
    }
  }
  TypeError(op, a, b, pos);
}

bool IsGlobalFunction(const std::string& name) {
  return name == "raise_exception" || name == "namespace" || name == "range" ||
         name == "strftime_now" || name == "dict";
}

Value CallGlobal(const std::string& name, const std::vector<Value>& args, const Kwargs& kwargs,
                 SourcePos pos) {
  if (name == "raise_exception") {
    throw JinjaError(pos, args.empty() ? std::string("raise_exception() called") : ToStr(args[0]));
  }
  if (name == "namespace" || name == "dict") {
    Json obj = Json::object();
    for (const Value& a : args) {
      if (!a.is_data() || !a.data.is_object()) throw JinjaError(pos, name + "() takes a dict");
      for (auto it = a.data.begin(); it != a.data.end(); ++it) obj[it.key()] = it.value();
    }
    for (const auto& [k, v] : kwargs) {
      RequireDefined(v, pos);
      if (!v.is_data()) throw JinjaError(pos, name + "(): '" + k + "' must be data");
      obj[k] = v.data;
    }
    if (name == "dict") return Value::Of(std::move(obj));
    Value ns;
    ns.kind = Value::Kind::kNamespace;
    ns.ns = std::make_shared<Json>(std::move(obj));
    return ns;
  }
  if (name == "range") {
    for (const Value& a : args) {
      if (!IsInt(a)) throw JinjaError(pos, "range() takes integers");
    }
    int64_t start = 0, stop = 0, step = 1;
    if (args.size() == 1) {
      stop = AsInt(args[0]);
    } else if (args.size() == 2 || args.size() == 3) {
      start = AsInt(args[0]);
      stop = AsInt(args[1]);
      if (args.size() == 3) step = AsInt(args[2]);
    } else {
      throw JinjaError(pos, "range() takes 1 to 3 arguments");
    }
    if (step == 0) throw JinjaError(pos, "range() arg 3 must not be zero");
    Json out = Json::array();
    for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) {
      if (out.size() >= 100000) throw JinjaError(pos, "range() too big");
      out.push_back(i);
    }
    return Value::Of(std::move(out));
  }
  if (name == "strftime_now") {
    const std::string fmt = StrArg(args, kwargs, 0, "format", pos);
    const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
    std::tm tm{};
    localtime_r(&now, &tm);
    char buf[256];
    const size_t n = std::strftime(buf, sizeof buf, fmt.c_str(), &tm);
    return Value::Of(std::string(buf, n));
  }
  throw JinjaError(pos, "'" + name + "' is undefined");
}

bool CallMethod(const Value& obj, const std::string& m, const std::vector<Value>& args,
                const Kwargs& kwargs, SourcePos pos, Value* result) {
  if (!obj.is_data()) return false;
  const Json& j = obj.data;
  if (j.is_string()) {
    const std::string& s = j.get_ref<const std::string&>();
    const Value* a0 = Arg(args, kwargs, 0, "chars");
    auto chars = [&]() -> std::optional<std::string> {
      if (a0 == nullptr || (a0->is_data() && a0->data.is_null())) return std::nullopt;
      return StrArg(args, kwargs, 0, "chars", pos);
    };
    if (m == "strip") return *result = Value::Of(Strip(s, chars(), true, true)), true;
    if (m == "lstrip") return *result = Value::Of(Strip(s, chars(), true, false)), true;
    if (m == "rstrip") return *result = Value::Of(Strip(s, chars(), false, true)), true;
    if (m == "upper") return *result = Value::Of(MapCase(s, CaseMode::kUpper)), true;
    if (m == "lower") return *result = Value::Of(MapCase(s, CaseMode::kLower)), true;
    if (m == "title") return *result = Value::Of(MapCase(s, CaseMode::kTitle)), true;
    if (m == "capitalize") return *result = Value::Of(MapCase(s, CaseMode::kCapitalize)), true;
    if (m == "startswith" || m == "endswith") {
      const Value* p = Arg(args, kwargs, 0, "prefix");
      if (p == nullptr || !p->is_data()) throw JinjaError(pos, m + "() takes a string");
      std::vector<std::string> options;
      if (p->data.is_string()) options.push_back(p->data.get<std::string>());
      else if (p->data.is_array()) {
        for (const Json& e : p->data) {
          if (e.is_string()) options.push_back(e.get<std::string>());
        }
      } else {
        throw JinjaError(pos, m + "() takes a string or a tuple of strings");
      }
      bool hit = false;
      for (const std::string& o : options) {
        hit = hit || (m == "startswith" ? s.compare(0, o.size(), o) == 0 && s.size() >= o.size()
                                        : s.size() >= o.size() &&
                                              s.compare(s.size() - o.size(), o.size(), o) == 0);
      }
      return *result = Value::Of(hit), true;
    }
    if (m == "split" || m == "rsplit") {
      const Value* sep = Arg(args, kwargs, 0, "sep");
      const Value* maxsplit = Arg(args, kwargs, 1, "maxsplit");
      std::optional<std::string> sep_s;
      if (sep != nullptr && sep->is_data() && !sep->data.is_null()) sep_s = StrArg(args, kwargs, 0, "sep", pos);
      const int64_t max = maxsplit != nullptr && IsInt(*maxsplit) ? AsInt(*maxsplit) : -1;
      if (sep_s && sep_s->empty()) throw JinjaError(pos, "empty separator");
      return *result = Value::Of(Split(s, sep_s, max, m == "rsplit")), true;
    }
    if (m == "replace") {
      const Value* count = Arg(args, kwargs, 2, "count");
      return *result = Value::Of(Replace(s, StrArg(args, kwargs, 0, "old", pos),
                                         StrArg(args, kwargs, 1, "new", pos),
                                         count != nullptr && IsInt(*count) ? AsInt(*count) : -1)),
             true;
    }
    if (m == "find" || m == "count") {
      const std::string sub = StrArg(args, kwargs, 0, "sub", pos);
      if (m == "find") {
        const size_t at = s.find(sub);
        return *result = Value::Of(at == std::string::npos ? int64_t{-1} : CodePointIndex(s, at)), true;
      }
      int64_t n = 0;
      if (sub.empty()) {
        n = static_cast<int64_t>(DecodeUtf8(s).size()) + 1;
      } else {
        for (size_t at = s.find(sub); at != std::string::npos; at = s.find(sub, at + sub.size())) ++n;
      }
      return *result = Value::Of(n), true;
    }
    if (m == "join") {
      const Value* it = Arg(args, kwargs, 0, "iterable");
      if (it == nullptr) throw JinjaError(pos, "join() takes an iterable");
      std::string out;
      bool first = true;
      for (const Value& v : Iterate(*it, pos)) {
        if (!v.is_data() || !v.data.is_string()) throw JinjaError(pos, "join() takes strings");
        out += (first ? "" : s) + v.data.get<std::string>();
        first = false;
      }
      return *result = Value::Of(out), true;
    }
    return false;
  }
  if (j.is_object()) {
    if (m == "items" || m == "keys" || m == "values") {
      Json out = Json::array();
      for (auto it = j.begin(); it != j.end(); ++it) {
        if (m == "items") out.push_back(Json::array({it.key(), it.value()}));
        else if (m == "keys") out.push_back(it.key());
        else out.push_back(it.value());
      }
      return *result = Value::Of(std::move(out)), true;
    }
    if (m == "get") {
      const Value* key = Arg(args, kwargs, 0, "key");
      const Value* dflt = Arg(args, kwargs, 1, "default");
      if (key != nullptr && key->is_data() && key->data.is_string()) {
        auto it = j.find(key->data.get<std::string>());
        if (it != j.end()) return *result = Value::Of(*it), true;
      }
      return *result = dflt != nullptr ? *dflt : Value::Of(nullptr), true;
    }
    // loop.cycle(a, b, ...)
    if (m == "cycle" && j.contains("index0") && j.contains("revindex0") && !args.empty()) {
      return *result = args[static_cast<size_t>(j["index0"].get<int64_t>()) % args.size()], true;
    }
  }
  return false;
}

}  // namespace mamba::jinja
