#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Reproduces the tables of docs/PERFORMANCE.md: mamba-bench on random-weight models of the real
# Mamba shapes (130m, 370m, 1.4b, 2.8b; F32/F16/BF16) and quantized GGUF files made from them,
# at 1 and 2 threads. Takes ~15 minutes on 2 cores and ~25 GB of disk under $DIR; run it on a
# quiet machine (`uptime` load < 0.5), or as root: mamba-bench then runs under SCHED_FIFO.
#
# Usage: bench/perf_matrix.sh [BUILD_DIR] [DIR]
#   BUILD_DIR  a Release build with mamba-bench and mamba-quantize (default build-perf; built here)
#   DIR        where the synthetic models are written and reused (default /tmp/mb)
#
# Before each group the model files are dropped from the page cache (posix_fadvise DONTNEED), so
# mamba-bench faults them back in through its MADV_HUGEPAGE mapping: on Linux 6.x with ext4/xfs
# that gives 2 MiB page-cache folios, as a model read fresh from disk gets. Files that were just
# written may sit in the cache as 4 KiB pages, which caps decode ~30 % lower (mamba-bench prints
# the mapped-weights bandwidth next to the anonymous one, so this shows).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-perf}
dir=${2:-/tmp/mb}
if [[ ! -x $build/tools/bench/mamba-bench ]]; then
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release
  cmake --build "$build" --target mamba-bench mamba-quantize
fi
bench=$build/tools/bench/mamba-bench
# Real-time priority where permitted (root): other tenants of a shared machine cannot preempt the
# benchmark threads (the kernel still keeps 5 % of each second for them).
rt=""
if chrt -f 50 true 2>/dev/null; then rt="chrt -f 50"; fi
quantize=$build/tools/quantize/mamba-quantize
mkdir -p "$dir"

evict() {  # drop the given files (or directories' files) from the page cache
  python3 - "$@" <<'EOF'
import os, sys
for p in sys.argv[1:]:
    files = [os.path.join(p, f) for f in os.listdir(p)] if os.path.isdir(p) else [p]
    for f in files:
        fd = os.open(f, os.O_RDONLY)
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        os.close(fd)
EOF
}

run() {  # run ARGS...: mamba-bench on the -m models in ARGS, each evicted first
  local models=() prev=""
  for a in "$@"; do
    [[ $prev == -m ]] && models+=("$a")
    prev=$a
  done
  evict "${models[@]}"
  echo "# uptime: $(uptime)"
  $rt "$bench" --bw-buffer-mb 512 "$@"
}

echo "# machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2) / $(nproc) CPUs / $(uname -r)"
echo "# commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"

# Write the synthetic models once (reused on later runs).
"$bench" --synthetic 130m,370m --dtype f32,f16,bf16 --synthetic-dir "$dir" -p 0 -n 1 -r 1 -t 1 \
  --bw-buffer-mb 64 >/dev/null
"$bench" --synthetic 1.4b --dtype f32,f16 --synthetic-dir "$dir" -p 0 -n 1 -r 1 -t 1 \
  --bw-buffer-mb 64 >/dev/null
"$bench" --synthetic 2.8b --dtype f16 --synthetic-dir "$dir" -p 0 -n 1 -r 1 -t 1 \
  --bw-buffer-mb 64 >/dev/null
for shape in 370m 1.4b; do
  for type in q8_0 q4_0 q4_k_m; do
    [[ -f $dir/$shape-$type.gguf ]] || "$quantize" "$dir/$shape-f16" "$dir/$shape-$type.gguf" "$type"
  done
done

run -m "$dir/130m-f32" -m "$dir/130m-f16" -m "$dir/130m-bf16" -p 512 -n 128 -t 1,2 -r 3
run -m "$dir/370m-f32" -m "$dir/370m-f16" -m "$dir/370m-bf16" -p 512 -n 64 -t 1,2 -r 2
run -m "$dir/1.4b-f32" -m "$dir/1.4b-f16" -p 512 -n 32 -t 1,2 -r 2
run -m "$dir/2.8b-f16" -p 512 -n 16 -t 1,2 -r 2
run -m "$dir/370m-q8_0.gguf" -m "$dir/370m-q4_0.gguf" -m "$dir/370m-q4_k_m.gguf" -p 512 -n 64 \
  -t 1,2 -r 2
run -m "$dir/1.4b-q8_0.gguf" -m "$dir/1.4b-q4_0.gguf" -m "$dir/1.4b-q4_k_m.gguf" -p 512 -n 32 \
  -t 1,2 -r 2
