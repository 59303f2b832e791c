// SPDX-License-Identifier: MIT
// Values of the Jinja interpreter: JSON data (nlohmann ordered_json, so objects keep their key
// order as Python dicts do), Jinja's Undefined, namespace() objects, built-in functions and
// macros; and the Python semantics templates rely on: truthiness, str()/repr(), ==, <, and
// json.dumps (transformers' tojson).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "server/jinja/error.h"

namespace mamba::jinja {

using Json = nlohmann::ordered_json;
struct Node;

struct Value {
  enum class Kind { kUndefined, kData, kNamespace, kBuiltin, kMacro };
  Kind kind = Kind::kUndefined;
  Json data;                  // kData
  std::shared_ptr<Json> ns;   // kNamespace: an object shared by every copy of the value
  std::string name;           // kUndefined: the missing name (for errors); kBuiltin: the function
  const Node* macro = nullptr;  // kMacro

  static Value Undefined(std::string missing) {
    Value v;
    v.name = std::move(missing);
    return v;
  }
  static Value Of(Json j) {
    Value v;
    v.kind = Kind::kData;
    v.data = std::move(j);
    return v;
  }
  static Value Builtin(std::string function) {
    Value v;
    v.kind = Kind::kBuiltin;
    v.name = std::move(function);
    return v;
  }
  bool undefined() const { return kind == Kind::kUndefined; }
  bool is_data() const { return kind == Kind::kData; }
};

// Python truthiness (Undefined is false).
bool Truthy(const Value& v);
// Python str(): what {{ v }} prints (Undefined prints nothing).
std::string ToStr(const Value& v);
// Python repr() of JSON data (strings quoted, None/True/False).
std::string Repr(const Json& j);
// Python's repr of a float: shortest round trip, "1.0", "1e-05", "1.5e+20", "inf", "nan".
std::string FloatRepr(double d);
// Python == (1 == 1.0 == True; dicts compare regardless of key order; Undefined == Undefined).
bool Equal(const Value& a, const Value& b);
// Python <: numbers, strings (code point order), lists lexicographically; else JinjaError.
bool Less(const Value& a, const Value& b, SourcePos pos);

struct DumpOptions {
  int indent = -1;          // -1: one line with ", " and ": "; >= 0: newlines and this indent
  std::string indent_str;   // used instead of `indent` spaces when non-empty
  std::string item_sep;     // overrides the item separator when non-empty
  std::string key_sep;      // overrides the key separator when non-empty
  bool sort_keys = false;
  bool ensure_ascii = false;
};
// Python json.dumps (transformers' tojson filter: ensure_ascii=False by default).
std::string DumpJson(const Json& j, const DumpOptions& options);

// UTF-8 <-> code points (invalid bytes become U+FFFD-free raw code points 0xDC80+byte, kept).
std::vector<uint32_t> DecodeUtf8(std::string_view s);
std::string EncodeUtf8(const std::vector<uint32_t>& cps);
void AppendUtf8(std::string* out, uint32_t cp);
// Python str.isspace() for one code point.
bool IsPySpace(uint32_t cp);

}  // namespace mamba::jinja
