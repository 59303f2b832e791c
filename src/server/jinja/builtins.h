// SPDX-License-Identifier: MIT
// Jinja's built-in filters and tests, the Python str/dict methods templates call
// (message.content.strip(), tools.items(), ...), and the global functions transformers provides
// (raise_exception, strftime_now) plus namespace() and range(). ImmutableSandboxedEnvironment
// forbids mutating methods (list.append, dict.update), so none exist here.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "server/jinja/value.h"

namespace mamba::jinja {

using Kwargs = std::vector<std::pair<std::string, Value>>;

// The items a for loop or a filter iterates: list elements, dict keys, string characters;
// Undefined is empty. Anything else is a JinjaError at `pos`.
std::vector<Value> Iterate(const Value& v, SourcePos pos);
// Fails with "'...' is undefined" when `v` is Undefined (every use but printing and tests).
void RequireDefined(const Value& v, SourcePos pos);
// obj.name / obj[key] as Jinja resolves them (missing -> Undefined).
Value GetAttr(const Value& obj, const std::string& name, SourcePos pos);
Value GetItem(const Value& obj, const Value& key, SourcePos pos);
Value Slice(const Value& obj, const Value& start, const Value& stop, const Value& step, SourcePos pos);

Value ApplyFilter(const std::string& name, const Value& input, const std::vector<Value>& args,
                  const Kwargs& kwargs, SourcePos pos);
bool ApplyTest(const std::string& name, const Value& input, const std::vector<Value>& args,
               SourcePos pos);
// Whether `obj.method(...)` is a built-in method call; if so *result receives its value.
bool CallMethod(const Value& obj, const std::string& method, const std::vector<Value>& args,
                const Kwargs& kwargs, SourcePos pos, Value* result);
// A global function by name (raise_exception throws its message); nullopt-like: false when the
// name is not a built-in.
bool IsGlobalFunction(const std::string& name);
Value CallGlobal(const std::string& name, const std::vector<Value>& args, const Kwargs& kwargs,
                 SourcePos pos);

// The binary operators + - * / // % ** ~ (comparisons and logic live in the interpreter).
Value Arithmetic(const std::string& op, const Value& a, const Value& b, SourcePos pos);

}  // namespace mamba::jinja
