// SPDX-License-Identifier: MIT
// Python semantics of Jinja values: truthiness, str/repr, ==, <, json.dumps, UTF-8.
#include "server/jinja/value.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

namespace mamba::jinja {
namespace {

bool IsNumber(const Json& j) { return j.is_number() || j.is_boolean(); }

double AsDouble(const Json& j) {
  if (j.is_boolean()) return j.get<bool>() ? 1.0 : 0.0;
  return j.get<double>();
}

std::string TypeName(const Value& v) {
  if (v.undefined()) return "Undefined";
  if (v.kind == Value::Kind::kNamespace) return "Namespace";
  if (v.kind != Value::Kind::kData) return "function";
  switch (v.data.type()) {
    case Json::value_t::null: return "NoneType";
    case Json::value_t::boolean: return "bool";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned: return "int";
    case Json::value_t::number_float: return "float";
    case Json::value_t::string: return "str";
    case Json::value_t::array: return "list";
    case Json::value_t::object: return "dict";
    default: return "object";
  }
}

std::string ReprString(const std::string& s) {
  const bool has_single = s.find('\'') != std::string::npos;
  const bool has_double = s.find('"') != std::string::npos;
  const char quote = has_single && !has_double ? '"' : '\'';
  std::string out(1, quote);
  for (unsigned char c : s) {
    if (c == quote || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + quote;
}

void DumpString(const std::string& s, bool ensure_ascii, std::string* out) {
  *out += '"';
  for (uint32_t cp : DecodeUtf8(s)) {
    char buf[16];
    switch (cp) {
      case '"': *out += "\\\""; break;
      case '\\': *out += "\\\\"; break;
      case '\n': *out += "\\n"; break;
      case '\r': *out += "\\r"; break;
      case '\t': *out += "\\t"; break;
      case '\b': *out += "\\b"; break;
      case '\f': *out += "\\f"; break;
      default:
        if (cp < 0x20 || (ensure_ascii && cp > 0x7e && cp != 0x7f)) {
          if (cp >= 0x10000 && cp < 0x110000) {
            const uint32_t v = cp - 0x10000;
            std::snprintf(buf, sizeof buf, "\\u%04x\\u%04x", 0xD800 + (v >> 10),
                          0xDC00 + (v & 0x3FF));
          } else {
            std::snprintf(buf, sizeof buf, "\\u%04x", cp);
          }
          *out += buf;
        } else {
          AppendUtf8(out, cp);
        }
    }
  }
  *out += '"';
}

void Dump(const Json& j, const DumpOptions& o, int level, std::string* out) {
  const bool pretty = o.indent >= 0 || !o.indent_str.empty();
  const std::string unit = !o.indent_str.empty() ? o.indent_str : std::string(std::max(o.indent, 0), ' ');
  const std::string item_sep = !o.item_sep.empty() ? o.item_sep : pretty ? "," : ", ";
  const std::string key_sep = !o.key_sep.empty() ? o.key_sep : ": ";
  auto newline = [&](int l) {
    if (!pretty) return;
    *out += '\n';
    for (int i = 0; i < l; ++i) *out += unit;
  };
  switch (j.type()) {
    case Json::value_t::null: *out += "null"; return;
    case Json::value_t::boolean: *out += j.get<bool>() ? "true" : "false"; return;
    case Json::value_t::number_integer: *out += std::to_string(j.get<int64_t>()); return;
    case Json::value_t::number_unsigned: *out += std::to_string(j.get<uint64_t>()); return;
    case Json::value_t::number_float: {
      const double d = j.get<double>();
      *out += std::isnan(d) ? "NaN" : std::isinf(d) ? (d > 0 ? "Infinity" : "-Infinity") : FloatRepr(d);
      return;
    }
    case Json::value_t::string: DumpString(j.get_ref<const std::string&>(), o.ensure_ascii, out); return;
    case Json::value_t::array: {
      if (j.empty()) {
        *out += "[]";
        return;
      }
      *out += '[';
      bool first = true;
      for (const Json& e : j) {
        if (!first) *out += item_sep;
        first = false;
        newline(level + 1);
        Dump(e, o, level + 1, out);
      }
      newline(level);
      *out += ']';
      return;
    }
    case Json::value_t::object: {
      if (j.empty()) {
        *out += "{}";
        return;
      }
      std::vector<std::pair<std::string, const Json*>> items;
      for (auto it = j.begin(); it != j.end(); ++it) items.emplace_back(it.key(), &it.value());
      if (o.sort_keys) {
        std::stable_sort(items.begin(), items.end(),
                         [](const auto& a, const auto& b) { return a.first < b.first; });
      }
      *out += '{';
      bool first = true;
      for (const auto& [k, v] : items) {
        if (!first) *out += item_sep;
        first = false;
        newline(level + 1);
        DumpString(k, o.ensure_ascii, out);
        *out += key_sep;
        Dump(*v, o, level + 1, out);
      }
      newline(level);
      *out += '}';
      return;
    }
    default: *out += "null"; return;
  }
}

bool JsonEqual(const Json& a, const Json& b) {
  if (IsNumber(a) && IsNumber(b)) {
    if (a.is_number_float() || b.is_number_float()) return AsDouble(a) == AsDouble(b);
    auto as_int = [](const Json& j) -> int64_t {
      return j.is_boolean() ? (j.get<bool>() ? 1 : 0) : j.get<int64_t>();
    };
    return as_int(a) == as_int(b);
  }
  if (a.type() != b.type()) return false;
  if (a.is_array()) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
      if (!JsonEqual(a[i], b[i])) return false;
    }
    return true;
  }
  if (a.is_object()) {
    if (a.size() != b.size()) return false;
    for (auto it = a.begin(); it != a.end(); ++it) {
      auto other = b.find(it.key());
      if (other == b.end() || !JsonEqual(it.value(), *other)) return false;
    }
    return true;
  }
  return a == b;
}

}  // namespace

bool Truthy(const Value& v) {
  if (v.undefined()) return false;
  if (!v.is_data()) return true;
  const Json& j = v.data;
  switch (j.type()) {
    case Json::value_t::null: return false;
    case Json::value_t::boolean: return j.get<bool>();
    case Json::value_t::number_integer: return j.get<int64_t>() != 0;
    case Json::value_t::number_unsigned: return j.get<uint64_t>() != 0;
    case Json::value_t::number_float: return j.get<double>() != 0.0;
    case Json::value_t::string: return !j.get_ref<const std::string&>().empty();
    default: return !j.empty();
  }
}

std::string FloatRepr(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  std::string s(buf, res.ptr);
  std::string sign;
  if (s[0] == '-') {
    sign = "-";
    s.erase(0, 1);
  }
  const size_t e = s.find('e');
  const int exp = std::stoi(s.substr(e + 1));
  std::string digits = s.substr(0, e);
  digits.erase(std::remove(digits.begin(), digits.end(), '.'), digits.end());
  while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
  if (exp >= -4 && exp < 16) {
    std::string out;
    if (exp >= 0) {
      std::string int_part = digits.substr(0, std::min<size_t>(digits.size(), exp + 1));
      int_part.append(exp + 1 > static_cast<int>(digits.size()) ? exp + 1 - digits.size() : 0, '0');
      std::string frac = digits.size() > static_cast<size_t>(exp + 1) ? digits.substr(exp + 1) : "";
      out = int_part + "." + (frac.empty() ? "0" : frac);
    } else {
      out = "0." + std::string(-exp - 1, '0') + digits;
    }
    return sign + out;
  }
  std::string mant = digits.substr(0, 1);
  if (digits.size() > 1) mant += "." + digits.substr(1);
  char ebuf[16];
  std::snprintf(ebuf, sizeof ebuf, "e%c%02d", exp < 0 ? '-' : '+', std::abs(exp));
  return sign + mant + ebuf;
}

std::string Repr(const Json& j) {
  switch (j.type()) {
    case Json::value_t::null: return "None";
    case Json::value_t::boolean: return j.get<bool>() ? "True" : "False";
    case Json::value_t::number_integer: return std::to_string(j.get<int64_t>());
    case Json::value_t::number_unsigned: return std::to_string(j.get<uint64_t>());
    case Json::value_t::number_float: return FloatRepr(j.get<double>());
    case Json::value_t::string: return ReprString(j.get_ref<const std::string&>());
    case Json::value_t::array: {
      std::string out = "[";
      for (size_t i = 0; i < j.size(); ++i) out += (i ? ", " : "") + Repr(j[i]);
      return out + "]";
    }
    case Json::value_t::object: {
      std::string out = "{";
      bool first = true;
      for (auto it = j.begin(); it != j.end(); ++it) {
        out += (first ? "" : ", ") + ReprString(it.key()) + ": " + Repr(it.value());
        first = false;
      }
      return out + "}";
    }
    default: return "None";
  }
}

std::string ToStr(const Value& v) {
  switch (v.kind) {
    case Value::Kind::kUndefined: return "";
    case Value::Kind::kNamespace: return "<Namespace " + Repr(*v.ns) + ">";
    case Value::Kind::kBuiltin: return "<built-in function " + v.name + ">";
    case Value::Kind::kMacro: return "<Macro>";
    case Value::Kind::kData: break;
  }
  if (v.data.is_string()) return v.data.get<std::string>();
  return Repr(v.data);
}

bool Equal(const Value& a, const Value& b) {
  if (a.undefined() || b.undefined()) return a.undefined() && b.undefined();
  if (a.kind != b.kind) return false;
  switch (a.kind) {
    case Value::Kind::kNamespace: return a.ns == b.ns;
    case Value::Kind::kBuiltin: return a.name == b.name;
    case Value::Kind::kMacro: return a.macro == b.macro;
    default: return JsonEqual(a.data, b.data);
  }
}

bool Less(const Value& a, const Value& b, SourcePos pos) {
  if (a.is_data() && b.is_data()) {
    const Json& x = a.data;
    const Json& y = b.data;
    if (IsNumber(x) && IsNumber(y)) {
      if (x.is_number_float() || y.is_number_float()) return AsDouble(x) < AsDouble(y);
      if (x.is_number_unsigned() && y.is_number_unsigned()) return x.get<uint64_t>() < y.get<uint64_t>();
      auto as_int = [](const Json& j) -> int64_t {
        return j.is_boolean() ? (j.get<bool>() ? 1 : 0) : j.get<int64_t>();
      };
      return as_int(x) < as_int(y);
    }
    if (x.is_string() && y.is_string()) {
      return x.get_ref<const std::string&>() < y.get_ref<const std::string&>();
    }
    if (x.is_array() && y.is_array()) {
      for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
        if (!JsonEqual(x[i], y[i])) return Less(Value::Of(x[i]), Value::Of(y[i]), pos);
      }
      return x.size() < y.size();
    }
  }
  throw JinjaError(pos, "'<' not supported between instances of '" + TypeName(a) + "' and '" +
                            TypeName(b) + "'");
}

std::string DumpJson(const Json& j, const DumpOptions& options) {
  std::string out;
  Dump(j, options, 0, &out);
  return out;
}

void AppendUtf8(std::string* out, uint32_t cp) {
  if (cp >= 0xDC80 && cp <= 0xDCFF) {  // a raw byte kept from invalid input
    *out += static_cast<char>(cp - 0xDC00);
  } else if (cp < 0x80) {
    *out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    *out += static_cast<char>(0xC0 | (cp >> 6));
    *out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    *out += static_cast<char>(0xE0 | (cp >> 12));
    *out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    *out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    *out += static_cast<char>(0xF0 | (cp >> 18));
    *out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    *out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    *out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

std::vector<uint32_t> DecodeUtf8(std::string_view s) {
  std::vector<uint32_t> out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    int n = c < 0x80 ? 0 : (c >> 5) == 6 ? 1 : (c >> 4) == 14 ? 2 : (c >> 3) == 30 ? 3 : -1;
    uint32_t cp = n == 0 ? c : n == 1 ? (c & 0x1F) : n == 2 ? (c & 0x0F) : (c & 0x07);
    bool ok = n >= 0;
    for (int k = 1; ok && k <= n; ++k) {
      if (i + k >= s.size() || (static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) {
        ok = false;
      } else {
        cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
      }
    }
    if (!ok) {
      out.push_back(0xDC00 + c);
      ++i;
    } else {
      out.push_back(cp);
      i += n + 1;
    }
  }
  return out;
}

std::string EncodeUtf8(const std::vector<uint32_t>& cps) {
  std::string out;
  for (uint32_t cp : cps) AppendUtf8(&out, cp);
  return out;
}

bool IsPySpace(uint32_t cp) {
  return (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x20) || cp == 0x85 || cp == 0xA0 ||
         cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 ||
         cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

}  // namespace mamba::jinja
