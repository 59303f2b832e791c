#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# ctest check of the mamba-tokenize interface: encode and decode a few golden cases, the model
# directory lookup, and the error exits. Usage: tokenize_cli_test.sh MAMBA_TOKENIZE DATA_DIR
set -u
bin="$1"
data="$2"
tok="$data/tokenizer.json"
fail=0
pass=0
check() {  # check NAME EXPECTED ACTUAL
  if [[ "$2" == "$3" ]]; then
    pass=$((pass + 1))
  else
    echo "FAIL $1: expected [$2] got [$3]"
    fail=$((fail + 1))
  fi
}

check "encode" "12092 1533" "$(printf 'Hello world' | "$bin" -t "$tok")"
check "encode special glued" "12092 0 14947" "$(printf 'Hello<|endoftext|>World' | "$bin" -t "$tok")"
check "encode spaces" "66 50276 67" "$(printf 'a  b' | "$bin" -t "$tok")"
check "encode trailing newline" "12092 1533 187" "$(echo 'Hello world' | "$bin" -t "$tok")"
check "encode empty" "" "$(printf '' | "$bin" -t "$tok")"
check "decode" "Hello<|endoftext|> world" "$(echo '12092 0 1533' | "$bin" -t "$tok" --decode)"
check "decode skip" "Hello world" "$(echo '12092 0 1533' | "$bin" -t "$tok" --decode --skip-special)"
check "decode brackets" "Hello world" "$(echo '[12092, 1533]' | "$bin" -t "$tok" -d)"
check "decode unknown ids" "Hello" "$(echo '12092 50277 50279 60000 -5' | "$bin" -t "$tok" -d)"
check "decode stream" "é" "$(echo '127 104' | "$bin" -t "$tok" -d --stream)"
check "decode exact bytes" "$(printf 'a\n' | od -An -tx1)" "$(echo '66 187' | "$bin" -t "$tok" -d | od -An -tx1)"
check "model dir" "12092 1533" "$(printf 'Hello world' | "$bin" -m "$data")"

# Every 10th golden case through the tool (python3 reads the JSON; the tool does the work; the
# library itself is checked on all of them by tokenizer_test).
if command -v python3 >/dev/null; then
  out="$(python3 - "$bin" "$tok" "$data/cases.jsonl" <<'PY'
import json, subprocess, sys
bin_, tok, cases = sys.argv[1:4]
bad = 0
n = 0
for i, line in enumerate(open(cases, encoding="utf-8")):
    if i % 10:
        continue
    c = json.loads(line)
    n += 1
    got = subprocess.run([bin_, "-t", tok], input=c["text"].encode(), capture_output=True).stdout
    if got.decode().split() != [str(i) for i in c["ids"]]:
        bad += 1
        print("encode mismatch", c["id"], file=sys.stderr)
    ids = " ".join(map(str, c["ids"])).encode()
    text = subprocess.run([bin_, "-t", tok, "-d"], input=ids, capture_output=True).stdout
    if text != c["decoded"].encode():
        bad += 1
        print("decode mismatch", c["id"], file=sys.stderr)
print(f"{n - bad}/{n}" if bad == 0 else f"{bad} mismatches")
PY
)"
  check "golden cases via the tool" "56/56" "$out"
fi

"$bin" -t "$tok" -d <<<'12 abc' >/dev/null 2>&1
check "bad id exit code" "2" "$?"
"$bin" -t "$tok" -d <<<'99999999999' >/dev/null 2>&1
check "overflow id exit code" "2" "$?"
"$bin" -t /nonexistent/tokenizer.json </dev/null >/dev/null 2>&1
check "missing tokenizer exit code" "1" "$?"
"$bin" </dev/null >/dev/null 2>&1
check "no tokenizer exit code" "2" "$?"

echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]
