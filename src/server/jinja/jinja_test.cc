// SPDX-License-Identifier: MIT
// The Jinja interpreter against jinja2: every template in tests/data/chat_templates rendered with
// every conversation in goldens.json (made by tools/server/gen_chat_template_goldens.py with
// Debian's python3-jinja2, configured as transformers does) must match byte for byte, and fail
// where jinja2 fails; plus unit cases for whitespace control, scoping and error positions.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "server/jinja/jinja.h"

namespace mamba::jinja {
namespace {

const std::string kDir = std::string(MAMBA_SOURCE_DIR) + "/tests/data/chat_templates/";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string Render(const std::string& source, const Json& context = Json::object()) {
  auto t = Template::Parse(source);
  if (!t.ok()) return "PARSE ERROR: " + t.status().message();
  auto out = t->Render(context);
  if (!out.ok()) return "RENDER ERROR: " + out.status().message();
  return *out;
}

TEST(JinjaGolden, MatchesJinja2) {
  const Json goldens = Json::parse(ReadFile(kDir + "goldens.json"));
  ASSERT_GE(goldens["cases"].size(), 100u);
  int outputs = 0, errors = 0;
  for (const Json& c : goldens["cases"]) {
    const std::string name =
        c["template"].get<std::string>() + " / " + c["conversation"].get<std::string>() +
        (c["context"]["add_generation_prompt"].get<bool>() ? " / generation prompt" : "");
    SCOPED_TRACE(name);
    auto t = Template::Parse(ReadFile(kDir + c["template"].get<std::string>()));
    ASSERT_TRUE(t.ok()) << t.status().message();
    auto out = t->Render(c["context"]);
    if (c.contains("output")) {
      ASSERT_TRUE(out.ok()) << out.status().message();
      EXPECT_EQ(*out, c["output"].get<std::string>());
      ++outputs;
    } else {
      ASSERT_FALSE(out.ok()) << "jinja2 failed with " << c["error"] << ", we rendered:\n" << *out;
      if (c["raised"].get<bool>()) {  // raise_exception(message): the message reaches the caller
        EXPECT_NE(out.status().message().find(c["message"].get<std::string>()), std::string::npos)
            << out.status().message();
      }
      ++errors;
    }
  }
  EXPECT_GT(outputs, 80);
  EXPECT_GT(errors, 10);
}

TEST(Jinja, WhitespaceControl) {
  // trim_blocks: the newline after a block tag goes; lstrip_blocks: indentation before it too.
  EXPECT_EQ(Render("a\n  {% if true %}\nb\n  {% endif %}\nc"), "a\nb\nc");
  EXPECT_EQ(Render("a {{- ' b ' -}} c"), "a b c");
  EXPECT_EQ(Render("a  {%- if true %} b {% endif -%}  c"), "a b c");
  EXPECT_EQ(Render("x {{ 1 }}\ny"), "x 1\ny");  // no trimming after }}
  EXPECT_EQ(Render("a\n  {%+ if true %}b{% endif +%}\nc"), "a\n  b\nc");
  EXPECT_EQ(Render("a\n  {# note #}\nb"), "a\nb");
  EXPECT_EQ(Render("text\n"), "text");     // keep_trailing_newline=False
  EXPECT_EQ(Render("text\n\n"), "text\n");
  EXPECT_EQ(Render("a\r\nb"), "a\nb");
}

TEST(Jinja, Scoping) {
  EXPECT_EQ(Render("{% set x = 1 %}{% for i in [1, 2] %}{% set x = i %}{{ x }}{% endfor %}{{ x }}"), "121");
  EXPECT_EQ(Render("{% if true %}{% set y = 3 %}{% endif %}{{ y }}"), "3");
  EXPECT_EQ(Render("{% set ns = namespace(n=0) %}{% for i in range(3) %}{% set ns.n = ns.n + i %}"
                   "{% endfor %}{{ ns.n }}"),
            "3");
  EXPECT_EQ(Render("{% for i in [] %}x{% else %}empty{% endfor %}"), "empty");
  EXPECT_EQ(Render("{{ messages[0].content }}", {{"messages", {{{"content", "hi"}}}}}), "hi");
}

TEST(Jinja, Errors) {
  EXPECT_EQ(Render("{{ raise_exception('bad role') }}"), "RENDER ERROR: line 1, column 19: bad role");
  EXPECT_EQ(Render("a\n{% if x %}"),
            "PARSE ERROR: line 2, column 11: unexpected end of template, expected 'elif' or "
            "'else' or 'endif'");
  EXPECT_EQ(Render("{{ x.y }}"), "RENDER ERROR: line 1, column 5: 'x' is undefined");
  EXPECT_EQ(Render("{% frobnicate %}"), "PARSE ERROR: line 1, column 4: unknown tag 'frobnicate'");
  EXPECT_EQ(Render("{{ 'abc }}"), "PARSE ERROR: line 1, column 4: unterminated string");
  EXPECT_EQ(Render("{{ 1 + 'a' }}").rfind("RENDER ERROR: line 1, column 6: unsupported operand", 0), 0u);
  EXPECT_EQ(Render("{{ (1 }}").rfind("PARSE ERROR", 0), 0u);
  EXPECT_EQ(Render("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"),
            "RENDER ERROR: line 1, column 32: template runs too long");
  // Runaway output stops with an error instead of exhausting memory.
  EXPECT_EQ(Render("{% for i in range(100000) %}{{ 'x' * 10000 }}{% endfor %}")
                .rfind("RENDER ERROR", 0),
            0u);
}

}  // namespace
}  // namespace mamba::jinja
