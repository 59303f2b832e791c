#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Reproduces the tables of docs/PERFORMANCE.md: mamba-bench on random-weight models of the real
# Mamba shapes written as GGUF files (F32/F16/BF16 and quantized), at 1 and 2 threads; with
# LLAMA_BENCH=/path/to/llama-bench also llama.cpp's llama-bench on the same files, right before
# ours. llama.cpp is not built here: build it yourself, outside this repository.
#
# Usage: [LLAMA_BENCH=...] bench/perf_matrix.sh [BUILD_DIR] [DIR] [GROUP...]
#   BUILD_DIR  a Release build with mamba-bench and mamba-quantize (default build-perf; built here)
#   DIR        where the models are written and reused (default /tmp/mb; ~15 GB)
#   GROUP      any of: 130m 370m 1.4b 2.8b quant (default: all)
# Takes ~40 minutes for everything on 2 cores with llama-bench, ~20 without.
#
# Each file is dropped from the page cache first (posix_fadvise DONTNEED) and faulted back in by
# a short mamba-bench run, whose MADV_HUGEPAGE mapping gets 2 MiB page-cache folios on Linux 6.x
# (ext4/xfs); both engines then read the same cached pages. Run on a quiet machine, or as root:
# the benchmarks then run under SCHED_FIFO so other tenants cannot preempt them.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-perf}
dir=${2:-/tmp/mb}
shift $(($# >= 2 ? 2 : $#))
groups=("$@")
((${#groups[@]})) || groups=(130m 370m 1.4b 2.8b quant)
if [[ ! -x $build/tools/bench/mamba-bench || ! -x $build/tools/quantize/mamba-quantize ]]; then
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release
  cmake --build "$build" --target mamba-bench mamba-quantize
fi
bench=$build/tools/bench/mamba-bench
quantize=$build/tools/quantize/mamba-quantize
rt=""
if chrt -f 50 true 2>/dev/null; then rt="chrt -f 50"; fi
mkdir -p "$dir"

# gguf SHAPE TYPE: $dir/SHAPE-TYPE.gguf from a random-weight checkpoint of the shape, with the
# bundled GPT-NeoX tokenizer so llama.cpp accepts it.
gguf() {
  local shape=$1 type=$2 out="$dir/$1-$2.gguf" src="$dir/$1-src"
  [[ -f $out ]] && return
  if [[ ! -f $src/model.safetensors ]]; then
    local st_dtype=f16
    [[ $type == f32 ]] && st_dtype=f32
    [[ $type == bf16 ]] && st_dtype=bf16
    "$bench" --synthetic "$shape" --dtype "$st_dtype" --synthetic-dir "$dir/tmp" -p 0 -n 1 -r 1 \
      -t 1 --bw-buffer-mb 64 >/dev/null
    rm -rf "$src" && mv "$dir/tmp/$shape-$st_dtype" "$src" && rmdir "$dir/tmp"
    cp models/tokenizer.json "$src/"
  fi
  "$quantize" "$src" "$out" "$type" 2>/dev/null
}

evict() {
  python3 - "$@" <<'EOF'
import os, sys
for f in sys.argv[1:]:
    fd = os.open(f, os.O_RDONLY)
    os.fsync(fd)
    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    os.close(fd)
EOF
}

# run FILE P N REPS
run() {
  local f=$1 p=$2 n=$3 r=$4
  evict "$f"
  $rt "$bench" -m "$f" -p 0 -n 1 -t 1 -r 1 --bw-buffer-mb 64 >/dev/null  # fault in, huge folios
  echo "### $(basename "$f")  ($(uptime | sed 's/.*load/load/'))"
  if [[ -n ${LLAMA_BENCH:-} ]]; then
    $rt "$LLAMA_BENCH" -m "$f" -p "$p" -n "$n" -t 1,2 -r "$r" 2>/dev/null | grep '^|'
  fi
  $rt "$bench" -m "$f" -p "$p" -n "$n" -t 1,2 -r "$r" --bw-buffer-mb 512 2>&1 |
    grep -E '^\||bandwidth|peak RSS'
}

echo "# machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2) / $(nproc) CPUs / $(uname -r)"
echo "# commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
for g in "${groups[@]}"; do
  case $g in
    130m) for t in f32 f16 bf16; do gguf 130m $t && run "$dir/130m-$t.gguf" 512 128 3; done ;;
    370m) for t in f32 f16 bf16; do gguf 370m $t && run "$dir/370m-$t.gguf" 512 128 3; done ;;
    1.4b) gguf 1.4b f16 && run "$dir/1.4b-f16.gguf" 512 32 2 ;;
    2.8b) gguf 2.8b f16 && run "$dir/2.8b-f16.gguf" 512 16 2 ;;
    quant)
      for shape in 370m 1.4b; do
        for t in q8_0 q4_0 q4_k_m; do
          gguf "$shape" "$t" && run "$dir/$shape-$t.gguf" 512 64 2
        done
      done ;;
    *) echo "unknown group '$g'" >&2; exit 2 ;;
  esac
done
