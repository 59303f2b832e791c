#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Renders tests/data/chat_templates/*.jinja with jinja2 configured as Hugging Face transformers
configures it (ImmutableSandboxedEnvironment, trim_blocks, lstrip_blocks, loopcontrols,
raise_exception, strftime_now, its own tojson) against a set of conversations, and writes the
outputs to tests/data/chat_templates/goldens.json for src/server/jinja/jinja_test.cc.

Run with Debian's python3 and python3-jinja2:  /usr/bin/python3 tools/server/gen_chat_template_goldens.py
"""
import json
import pathlib
from datetime import datetime

import jinja2
from jinja2.ext import loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment

ROOT = pathlib.Path(__file__).resolve().parents[2]
DIR = ROOT / "tests" / "data" / "chat_templates"


def make_env():
    # transformers.utils.chat_template_utils._compile_jinja_template (4.4x), minus the
    # AssistantTracker extension's bookkeeping ({% generation %} renders its body in place).
    class TemplateError(Exception):
        pass

    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators,
                          sort_keys=sort_keys)

    def strftime_now(format):
        return datetime.now().strftime(format)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


TOOLS = [{"type": "function", "function": {
    "name": "get_weather", "description": "Get the weather in a city",
    "parameters": {"type": "object", "properties": {
        "city": {"type": "string"}, "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
        "required": ["city"]}}}]

CONVERSATIONS = {
    "single_user": ([{"role": "user", "content": "Hello"}], None),
    "system_multi": ([
        {"role": "system", "content": "You are a terse assistant."},
        {"role": "user", "content": "What is 2+2?"},
        {"role": "assistant", "content": "4"},
        {"role": "user", "content": "And 3+3?"},
    ], None),
    "unicode_whitespace": ([
        {"role": "user", "content": "  Héllo wörld ☃\n\tsecond line  "},
        {"role": "assistant", "content": " Sure — \"quoted\" 'single' <think>x</think>tail \n"},
        {"role": "user", "content": "{{ not a tag }} {% nor this %} \\n"},
    ], None),
    "roles_not_alternating": ([
        {"role": "user", "content": "one"},
        {"role": "user", "content": "two"},
    ], None),
    "tools": ([
        {"role": "system", "content": "Use tools when useful."},
        {"role": "user", "content": "What's the weather in Paris?"},
        {"role": "assistant", "content": None, "tool_calls": [{"type": "function", "function": {
            "name": "get_weather", "arguments": {"city": "Paris", "unit": "celsius"}}}]},
        {"role": "tool", "content": "{\"temp\": 21.5}"},
        {"role": "tool", "content": "{\"wind\": \"calm\"}"},
        {"role": "assistant", "content": "It is 21.5 °C and calm."},
    ], TOOLS),
}


def main():
    env = make_env()
    cases = []
    for path in sorted(DIR.glob("*.jinja")):
        template = env.from_string(path.read_text(encoding="utf-8"))
        for conv_name, (messages, tools) in CONVERSATIONS.items():
            for gen in (True, False):
                context = {"messages": messages, "tools": tools, "add_generation_prompt": gen,
                           "bos_token": "<s>", "eos_token": "</s>"}
                case = {"template": path.name, "conversation": conv_name, "context": context}
                try:
                    case["output"] = template.render(**context)
                except Exception as e:  # noqa: BLE001 - the C++ side must fail too
                    case["error"] = f"{type(e).__name__}: {e}"
                    case["raised"] = isinstance(e, jinja2.exceptions.TemplateError) and \
                        not isinstance(e, jinja2.exceptions.UndefinedError)
                    case["message"] = str(e)
                cases.append(case)
    out = {"generator": "tools/server/gen_chat_template_goldens.py",
           "jinja2": jinja2.__version__, "cases": cases}
    (DIR / "goldens.json").write_text(json.dumps(out, ensure_ascii=False, indent=1) + "\n",
                                      encoding="utf-8")
    print(f"{len(cases)} cases, {sum('error' in c for c in cases)} errors")


if __name__ == "__main__":
    main()
