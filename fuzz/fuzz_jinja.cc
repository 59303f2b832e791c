// SPDX-License-Identifier: MIT
// libFuzzer target: arbitrary bytes as a Jinja chat template -> Template::Parse and Render with a
// small conversation (src/server/jinja). Errors must come back as a Status with a message.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "base/check.h"
#include "server/jinja/jinja.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using mamba::jinja::Json;
  static const Json context = {
      {"messages",
       {{{"role", "system"}, {"content", "Be brief."}},
        {{"role", "user"}, {"content", "Hi  there\n"}},
        {{"role", "assistant"}, {"content", nullptr}, {"tool_calls", Json::array({{{"function", {{"name", "f"}, {"arguments", {{"x", 1.5}}}}}}})}},
        {{"role", "user"}, {"content", "ok"}}}},
      {"tools", nullptr},
      {"add_generation_prompt", true},
      {"bos_token", "<s>"},
      {"eos_token", "</s>"}};
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto t = mamba::jinja::Template::Parse(text);
  if (!t.ok()) {
    MAMBA_CHECK(!t.status().message().empty(), "parse error without a message");
    return 0;
  }
  auto out = t->Render(context);
  if (!out.ok()) MAMBA_CHECK(!out.status().message().empty(), "render error without a message");
  return 0;
}
