// SPDX-License-Identifier: MIT
// Jinja's built-in filters and tests (jinja2.filters / jinja2.tests), with transformers' tojson.
#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "server/jinja/builtins.h"
#include "server/jinja/text_util.h"

namespace mamba::jinja {
namespace {

bool IsInt(const Value& v) { return v.is_data() && (v.data.is_number_integer() || v.data.is_boolean()); }
bool IsNum(const Value& v) { return v.is_data() && (v.data.is_number() || v.data.is_boolean()); }
int64_t AsInt(const Value& v) {
  return v.data.is_boolean() ? (v.data.get<bool>() ? 1 : 0) : v.data.get<int64_t>();
}
double AsDouble(const Value& v) {
  return v.data.is_boolean() ? (v.data.get<bool>() ? 1.0 : 0.0) : v.data.get<double>();
}

const Value* Arg(const std::vector<Value>& args, const Kwargs& kwargs, size_t i, const char* name) {
  if (i < args.size()) return &args[i];
  for (const auto& [k, v] : kwargs) {
    if (k == name) return &v;
  }
  return nullptr;
}
bool BoolArg(const std::vector<Value>& args, const Kwargs& kwargs, size_t i, const char* name) {
  const Value* v = Arg(args, kwargs, i, name);
  return v != nullptr && Truthy(*v);
}

Json ToData(const Value& v, SourcePos pos) {
  RequireDefined(v, pos);
  if (v.kind == Value::Kind::kNamespace) return *v.ns;
  if (!v.is_data()) throw JinjaError(pos, "a function is not JSON serializable");
  return v.data;
}

Value ListOf(const std::vector<Value>& items, SourcePos pos) {
  Json out = Json::array();
  for (const Value& v : items) out.push_back(ToData(v, pos));
  return Value::Of(std::move(out));
}

// attribute="a.b" or an integer index, as jinja's make_attrgetter.
Value Attribute(const Value& item, const Value& attr, SourcePos pos) {
  if (IsInt(attr)) return GetItem(item, attr, pos);
  Value v = item;
  const std::string path = ToStr(attr);
  size_t start = 0;
  for (;;) {
    const size_t dot = path.find('.', start);
    const std::string part = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    v = GetItem(v, Value::Of(part), pos);
    if (dot == std::string::npos) return v;
    start = dot + 1;
  }
}

// Sort key comparison for sort/dictsort/unique (case-insensitive strings unless asked).
Value SortKey(const Value& v, bool case_sensitive) {
  if (!case_sensitive && v.is_data() && v.data.is_string()) {
    return Value::Of(MapCase(v.data.get<std::string>(), CaseMode::kLower));
  }
  return v;
}

std::string HtmlEscape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&#34;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

}  // namespace

Value ApplyFilter(const std::string& name, const Value& in, const std::vector<Value>& args,
                  const Kwargs& kwargs, SourcePos pos) {
  if (name == "safe") return in;
  if (name == "default" || name == "d") {
    const Value* dflt = Arg(args, kwargs, 0, "default_value");
    const bool boolean = BoolArg(args, kwargs, 1, "boolean");
    if (in.undefined() || (boolean && !Truthy(in))) return dflt ? *dflt : Value::Of("");
    return in;
  }
  if (name == "length" || name == "count") {
    if (in.undefined()) return Value::Of(0);
    if (in.is_data() && in.data.is_string()) {
      return Value::Of(static_cast<int64_t>(DecodeUtf8(in.data.get_ref<const std::string&>()).size()));
    }
    if (in.is_data() && (in.data.is_array() || in.data.is_object())) {
      return Value::Of(static_cast<int64_t>(in.data.size()));
    }
    throw JinjaError(pos, "object of this type has no len()");
  }
  if (name == "tojson") {
    DumpOptions o;
    o.ensure_ascii = BoolArg(args, kwargs, 0, "ensure_ascii");
    if (const Value* indent = Arg(args, kwargs, 1, "indent"); indent && indent->is_data()) {
      if (indent->data.is_string()) o.indent_str = indent->data.get<std::string>(), o.indent = 0;
      else if (IsInt(*indent)) o.indent = static_cast<int>(std::max<int64_t>(0, AsInt(*indent)));
    }
    if (const Value* seps = Arg(args, kwargs, 2, "separators");
        seps && seps->is_data() && seps->data.is_array() && seps->data.size() == 2) {
      o.item_sep = seps->data[0].get<std::string>();
      o.key_sep = seps->data[1].get<std::string>();
    }
    o.sort_keys = BoolArg(args, kwargs, 3, "sort_keys");
    return Value::Of(DumpJson(ToData(in, pos), o));
  }
  if (name == "string") return Value::Of(ToStr(in));
  if (name == "e" || name == "escape") return Value::Of(HtmlEscape(ToStr(in)));
  if (name == "trim") {
    const Value* chars = Arg(args, kwargs, 0, "chars");
    std::optional<std::string> c;
    if (chars && chars->is_data() && chars->data.is_string()) c = chars->data.get<std::string>();
    return Value::Of(Strip(ToStr(in), c, true, true));
  }
  if (name == "upper") return Value::Of(MapCase(ToStr(in), CaseMode::kUpper));
  if (name == "lower") return Value::Of(MapCase(ToStr(in), CaseMode::kLower));
  if (name == "title") return Value::Of(MapCase(ToStr(in), CaseMode::kTitle));
  if (name == "capitalize") return Value::Of(MapCase(ToStr(in), CaseMode::kCapitalize));
  if (name == "replace") {
    const Value* count = Arg(args, kwargs, 2, "count");
    return Value::Of(Replace(ToStr(in), ToStr(args.size() > 0 ? args[0] : Value::Of("")),
                             ToStr(args.size() > 1 ? args[1] : Value::Of("")),
                             count && IsInt(*count) ? AsInt(*count) : -1));
  }
  if (name == "indent") {
    const Value* width = Arg(args, kwargs, 0, "width");
    const std::string pad = width && width->is_data() && width->data.is_string()
                                ? width->data.get<std::string>()
                                : std::string(width && IsInt(*width) ? AsInt(*width) : 4, ' ');
    const bool first = BoolArg(args, kwargs, 1, "first"), blank = BoolArg(args, kwargs, 2, "blank");
    const std::string s = ToStr(in);
    std::string out;
    size_t start = 0;
    for (bool first_line = true;; first_line = false) {
      const size_t nl = s.find('\n', start);
      const std::string line = s.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
      if ((!first_line || first) && (blank || !line.empty())) out += pad;
      out += line;
      if (nl == std::string::npos) break;
      out += '\n';
      start = nl + 1;
    }
    return Value::Of(out);
  }
  if (name == "wordcount") {
    return Value::Of(static_cast<int64_t>(Split(ToStr(in), std::nullopt, -1, false).size()));
  }
  if (name == "int") {
    const Value* dflt = Arg(args, kwargs, 0, "default");
    if (IsNum(in)) return Value::Of(in.data.is_number_float() ? static_cast<int64_t>(std::trunc(AsDouble(in))) : AsInt(in));
    if (in.is_data() && in.data.is_string()) {
      const std::string s = Strip(in.data.get<std::string>(), std::nullopt, true, true);
      char* end = nullptr;
      const long long v = std::strtoll(s.c_str(), &end, 10);
      if (!s.empty() && end == s.c_str() + s.size()) return Value::Of(static_cast<int64_t>(v));
      const double d = std::strtod(s.c_str(), &end);
      if (!s.empty() && end == s.c_str() + s.size()) return Value::Of(static_cast<int64_t>(std::trunc(d)));
    }
    return dflt ? *dflt : Value::Of(0);
  }
  if (name == "float") {
    const Value* dflt = Arg(args, kwargs, 0, "default");
    if (IsNum(in)) return Value::Of(AsDouble(in));
    if (in.is_data() && in.data.is_string()) {
      const std::string s = Strip(in.data.get<std::string>(), std::nullopt, true, true);
      char* end = nullptr;
      const double d = std::strtod(s.c_str(), &end);
      if (!s.empty() && end == s.c_str() + s.size()) return Value::Of(d);
    }
    return dflt ? *dflt : Value::Of(0.0);
  }
  if (name == "abs") {
    if (IsInt(in)) return Value::Of(std::llabs(AsInt(in)));
    if (IsNum(in)) return Value::Of(std::fabs(AsDouble(in)));
    throw JinjaError(pos, "bad operand type for abs()");
  }
  if (name == "round") {
    const Value* precision = Arg(args, kwargs, 0, "precision");
    if (!IsNum(in)) throw JinjaError(pos, "round() takes a number");
    const double scale = std::pow(10.0, precision && IsInt(*precision) ? AsInt(*precision) : 0);
    return Value::Of(std::round(AsDouble(in) * scale) / scale);
  }
  if (name == "items") {
    if (in.undefined()) return Value::Of(Json::array());
    Value r;
    if (!CallMethod(in, "items", {}, {}, pos, &r)) throw JinjaError(pos, "items() takes a dict");
    return r;
  }
  if (name == "dictsort") {
    Value r;
    if (!CallMethod(in, "items", {}, {}, pos, &r)) throw JinjaError(pos, "dictsort takes a dict");
    const bool cs = BoolArg(args, kwargs, 0, "case_sensitive");
    const bool by_value = Arg(args, kwargs, 1, "by") && ToStr(*Arg(args, kwargs, 1, "by")) == "value";
    std::vector<Value> items = Iterate(r, pos);
    std::stable_sort(items.begin(), items.end(), [&](const Value& a, const Value& b) {
      const size_t k = by_value ? 1 : 0;
      return Less(SortKey(Value::Of(a.data[k]), cs), SortKey(Value::Of(b.data[k]), cs), pos);
    });
    if (BoolArg(args, kwargs, 2, "reverse")) std::reverse(items.begin(), items.end());
    return ListOf(items, pos);
  }
  if (name == "list") return ListOf(Iterate(in, pos), pos);
  if (name == "first" || name == "last") {
    std::vector<Value> items = Iterate(in, pos);
    if (items.empty()) return Value::Undefined("No " + name + " item, sequence was empty.");
    return name == "first" ? items.front() : items.back();
  }
  if (name == "reverse") {
    if (in.is_data() && in.data.is_string()) return Slice(in, Value(), Value(), Value::Of(-1), pos);
    std::vector<Value> items = Iterate(in, pos);
    std::reverse(items.begin(), items.end());
    return ListOf(items, pos);
  }
  if (name == "join") {
    const Value* sep = Arg(args, kwargs, 0, "d");
    const Value* attr = Arg(args, kwargs, 1, "attribute");
    std::string out;
    bool first = true;
    for (const Value& v : Iterate(in, pos)) {
      out += (first ? "" : (sep ? ToStr(*sep) : "")) + ToStr(attr ? Attribute(v, *attr, pos) : v);
      first = false;
    }
    return Value::Of(out);
  }
  if (name == "sum") {
    const Value* attr = Arg(args, kwargs, 0, "attribute");
    const Value* start = Arg(args, kwargs, 1, "start");
    Value total = start ? *start : Value::Of(0);
    for (const Value& v : Iterate(in, pos)) total = Arithmetic("+", total, attr ? Attribute(v, *attr, pos) : v, pos);
    return total;
  }
  if (name == "sort" || name == "unique" || name == "min" || name == "max") {
    const bool cs = BoolArg(args, kwargs, name == "sort" ? 1 : 0, "case_sensitive");
    const Value* attr = Arg(args, kwargs, name == "sort" ? 2 : 1, "attribute");
    auto key = [&](const Value& v) { return SortKey(attr ? Attribute(v, *attr, pos) : v, cs); };
    std::vector<Value> items = Iterate(in, pos);
    if (name == "unique") {
      std::vector<Value> out, keys;
      for (const Value& v : items) {
        const Value k = key(v);
        if (std::none_of(keys.begin(), keys.end(), [&](const Value& x) { return Equal(x, k); })) {
          keys.push_back(k);
          out.push_back(v);
        }
      }
      return ListOf(out, pos);
    }
    std::stable_sort(items.begin(), items.end(),
                     [&](const Value& a, const Value& b) { return Less(key(a), key(b), pos); });
    if (name == "min" || name == "max") {
      if (items.empty()) return Value::Undefined("No aggregated item, sequence was empty.");
      return name == "min" ? items.front() : items.back();
    }
    if (BoolArg(args, kwargs, 0, "reverse")) std::reverse(items.begin(), items.end());
    return ListOf(items, pos);
  }
  if (name == "map") {
    std::vector<Value> out;
    const Value* attr = Arg({}, kwargs, 0, "attribute");
    for (const Value& v : Iterate(in, pos)) {
      if (attr) {
        Value r = Attribute(v, *attr, pos);
        if (r.undefined()) {
          if (const Value* d = Arg({}, kwargs, 0, "default")) r = *d;
        }
        out.push_back(r);
      } else {
        if (args.empty()) throw JinjaError(pos, "map() needs a filter name or attribute=");
        out.push_back(ApplyFilter(ToStr(args[0]), v, std::vector<Value>(args.begin() + 1, args.end()),
                                  {}, pos));
      }
    }
    Json list = Json::array();
    for (const Value& v : out) list.push_back(v.undefined() ? Json(nullptr) : ToData(v, pos));
    return Value::Of(std::move(list));
  }
  if (name == "select" || name == "reject" || name == "selectattr" || name == "rejectattr") {
    const bool by_attr = name == "selectattr" || name == "rejectattr";
    const bool want = name == "select" || name == "selectattr";
    const size_t test_at = by_attr ? 1 : 0;
    std::vector<Value> out;
    for (const Value& v : Iterate(in, pos)) {
      const Value subject = by_attr ? Attribute(v, args.at(0), pos) : v;
      bool ok;
      if (args.size() > test_at) {
        ok = ApplyTest(ToStr(args[test_at]), subject,
                       std::vector<Value>(args.begin() + test_at + 1, args.end()), pos);
      } else {
        ok = Truthy(subject);
      }
      if (ok == want) out.push_back(v);
    }
    return ListOf(out, pos);
  }
  throw JinjaError(pos, "no filter named '" + name + "'");
}

bool ApplyTest(const std::string& name, const Value& v, const std::vector<Value>& args,
               SourcePos pos) {
  const Json* j = v.is_data() ? &v.data : nullptr;
  auto arg = [&]() -> const Value& {
    if (args.empty()) throw JinjaError(pos, "test '" + name + "' needs an argument");
    return args[0];
  };
  if (name == "defined") return !v.undefined();
  if (name == "undefined") return v.undefined();
  if (name == "none") return j && j->is_null();
  if (name == "string") return j && j->is_string();
  if (name == "number") return j && (j->is_number() || j->is_boolean());
  if (name == "integer") return j && j->is_number_integer();
  if (name == "float") return j && j->is_number_float();
  if (name == "boolean") return j && j->is_boolean();
  if (name == "true") return j && j->is_boolean() && j->get<bool>();
  if (name == "false") return j && j->is_boolean() && !j->get<bool>();
  if (name == "mapping") return j && j->is_object();
  if (name == "sequence") return j && (j->is_array() || j->is_string() || j->is_object());
  if (name == "iterable") return v.undefined() || (j && (j->is_array() || j->is_string() || j->is_object()));
  if (name == "callable") return v.kind == Value::Kind::kBuiltin || v.kind == Value::Kind::kMacro;
  if (name == "odd" || name == "even") {
    if (!IsInt(v)) throw JinjaError(pos, "test '" + name + "' takes an integer");
    return (AsInt(v) % 2 != 0) == (name == "odd");
  }
  if (name == "divisibleby") {
    if (!IsInt(v) || !IsInt(arg()) || AsInt(arg()) == 0) throw JinjaError(pos, "divisibleby takes integers");
    return AsInt(v) % AsInt(arg()) == 0;
  }
  if (name == "eq" || name == "equalto" || name == "==") return Equal(v, arg());
  if (name == "ne" || name == "!=") return !Equal(v, arg());
  if (name == "lt" || name == "lessthan" || name == "<") return Less(v, arg(), pos);
  if (name == "gt" || name == "greaterthan" || name == ">") return Less(arg(), v, pos);
  if (name == "le" || name == "<=") return !Less(arg(), v, pos);
  if (name == "ge" || name == ">=") return !Less(v, arg(), pos);
  if (name == "sameas") return Equal(v, arg()) && (!j || j->type() == arg().data.type());
  if (name == "in") {
    for (const Value& x : Iterate(arg(), pos)) {
      if (Equal(x, v)) return true;
    }
    if (arg().is_data() && arg().data.is_string() && j && j->is_string()) {
      return arg().data.get<std::string>().find(j->get<std::string>()) != std::string::npos;
    }
    return false;
  }
  if (name == "lower" || name == "upper") {
    const std::string s = ToStr(v);
    return MapCase(s, name == "lower" ? CaseMode::kLower : CaseMode::kUpper) == s;
  }
  if (name == "escaped") return false;
  throw JinjaError(pos, "no test named '" + name + "'");
}

}  // namespace mamba::jinja
