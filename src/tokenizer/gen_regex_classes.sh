#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Generates regex_class_data.inc: the code points whose class for the GPT-2 split pattern
# (\p{L}, \p{N}, \s or other) in Hugging Face tokenizers differs from what utf8proc's tables say.
# HF's Oniguruma carries Unicode 16.0 data, utf8proc 2.8 carries 15.0 (and Node's ICU 17.0), so
# this is mostly the letters and digits added in 16.0.
#   1. a small C program dumps utf8proc's class of every code point;
#   2. gen_regex_classes.mjs lists those where Node's Unicode (17.0) disagrees, asks HF tokenizers
#      (bench/tokenizer/node_modules, `npm ci` there first) how its pattern treats each, and
#      writes the ranges where HF's class differs from utf8proc's.
# Usage: src/tokenizer/gen_regex_classes.sh > src/tokenizer/regex_class_data.inc
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cat >"$tmp/dump.c" <<'C'
#include <stdio.h>
#include <utf8proc.h>
int main(void) {
  for (int cp = 0; cp < 0x110000; ++cp) {
    char c = 'O';
    switch (cp) {
      case 0x09: case 0x0A: case 0x0B: case 0x0C: case 0x0D: case 0x20: case 0x85: case 0xA0:
      case 0x1680: case 0x2028: case 0x2029: case 0x202F: case 0x205F: case 0x3000:
        c = 'S';
        break;
      default:
        if (cp >= 0x2000 && cp <= 0x200A) { c = 'S'; break; }
        if (cp >= 0xD800 && cp <= 0xDFFF) break;
        switch (utf8proc_get_property(cp)->category) {
          case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL: case UTF8PROC_CATEGORY_LT:
          case UTF8PROC_CATEGORY_LM: case UTF8PROC_CATEGORY_LO: c = 'L'; break;
          case UTF8PROC_CATEGORY_ND: case UTF8PROC_CATEGORY_NL: case UTF8PROC_CATEGORY_NO:
            c = 'N'; break;
          default: break;
        }
    }
    putchar(c);
  }
  fprintf(stderr, "utf8proc %s, Unicode %s\n", utf8proc_version(), utf8proc_unicode_version());
  return 0;
}
C
cc -O1 -o "$tmp/dump" "$tmp/dump.c" $(pkg-config --cflags --libs libutf8proc)
"$tmp/dump" >"$tmp/utf8proc_classes.bin"
cd "$here/../../bench/tokenizer"
node "$here/gen_regex_classes.mjs" "$tmp/utf8proc_classes.bin" \
  "$here/../../tests/data/tokenizer/tokenizer.json"
