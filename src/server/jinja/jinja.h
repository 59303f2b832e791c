// SPDX-License-Identifier: MIT
// A Jinja2 interpreter for Hugging Face chat templates (tokenizer_config.json "chat_template",
// GGUF "tokenizer.chat_template"). It covers the language those templates use, rendered as
// transformers renders them (ImmutableSandboxedEnvironment, trim_blocks, lstrip_blocks,
// loopcontrols, raise_exception, strftime_now, tojson without HTML escaping):
//   text, {{ }}, {% %}, {# #}, whitespace control with - and +;
//   if/elif/else, for (loop.index/index0/revindex/first/last/length/previtem/nextitem/cycle,
//   for-else, "for x in xs if cond", break/continue), set (incl. namespace attributes and
//   {% set x %}...{% endset %}), macro, generation;
//   literals (str, int, float, bool, none, list, tuple, dict), attribute/subscript/slice access,
//   calls, filters, tests, and/or/not, in/not in, comparisons, + - * / // % ** ~, x if c else y;
//   the filters and tests in filters.cc, the str/dict methods in builtins.cc.
// Undefined values print as nothing and are false (jinja2.Undefined); using one otherwise fails.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "base/status.h"
#include "server/jinja/value.h"

namespace mamba::jinja {

struct Node;

class Template {
 public:
  // Parses `source`. InvalidArgument "line L, column C: message" on a syntax error.
  static StatusOr<Template> Parse(std::string_view source);

  // Renders with `context` (a JSON object; its keys are the template's global variables).
  // InvalidArgument "line L, column C: message" on a runtime error, including
  // raise_exception(message).
  StatusOr<std::string> Render(const Json& context) const;

 private:
  std::shared_ptr<const std::vector<std::unique_ptr<Node>>> nodes_;
};

}  // namespace mamba::jinja
