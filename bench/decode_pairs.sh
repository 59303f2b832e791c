#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Decode (tg) of llama.cpp and mamba-ssm on the same GGUF files in interleaved rounds, both with
# the file mapped (mmap, the default of both) and read into memory (llama-bench -mmp 0,
# mamba-bench --mmap 0), at 1 and 2 threads; prints the per-round tokens/s, the per-round ratios
# and their median. On a shared host whose memory bandwidth moves from minute to minute, the
# ratio of two runs a few seconds apart is the stable figure; single numbers are not.
# llama.cpp is not built here: build it yourself, outside this repository.
#
# Usage: LLAMA_BENCH=/path/to/llama-bench bench/decode_pairs.sh BUILD_DIR ROUNDS OUT.csv FILE...
#   BUILD_DIR  a Release build with mamba-bench (e.g. build-perf)
#   ROUNDS     rounds over all files (3 takes ~45 min for 3 370m and 4 1.4b files on 2 cores)
#   OUT.csv    appended to: round,file,engine,mmap,threads,tok/s[,limit,% of best,% of median,
#              % paired]
# N=64 (tokens per tg test) and THREADS=1,2 may be set in the environment, and MAMBA_BENCH_ARGS
# (e.g. "--kernels avx2", to compare with a llama.cpp built for AVX2 only).
#
# Each file is first dropped from the page cache (GNU dd iflag=nocache) and faulted back in by a
# short mamba-bench run, so the mapped runs of both engines read the same 2 MiB page-cache folios
# (see docs/PERFORMANCE.md, "Page cache"). As root the benchmarks run under SCHED_FIFO.
set -euo pipefail
if (($# < 4)) || [[ -z ${LLAMA_BENCH:-} ]]; then
  sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
fi
build=$1 rounds=$2 out=$3
shift 3
bench=$build/tools/bench/mamba-bench
n=${N:-64}
threads=${THREADS:-1,2}
rt=""
if chrt -f 50 true 2>/dev/null; then rt="chrt -f 50"; fi
export LD_LIBRARY_PATH=$(dirname "$LLAMA_BENCH")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}

for f in "$@"; do
  dd if="$f" iflag=nocache count=0 status=none
  "$bench" -m "$f" -p 0 -n 4 -r 1 -t 1 --bw-buffer-mb 16 >/dev/null 2>&1
done
for ((r = 1; r <= rounds; r++)); do
  for f in "$@"; do
    name=$(basename "$f")
    for m in 1 0; do
      # llama-bench markdown: | model | size | params | backend | threads | [mmap |] test | t/s |
      # (the mmap column only when it is not the default); columns found by their header.
      $rt "$LLAMA_BENCH" -m "$f" -p 0 -n "$n" -t "$threads" -r 3 -mmp "$m" 2>/dev/null |
        awk -F'|' -v r="$r" -v f="$name" -v m="$m" '
          /threads/ && /t\/s/ { for (i = 1; i <= NF; i++) { h = $i; gsub(/ /, "", h); col[h] = i } }
          col["test"] && $col["test"] ~ /tg/ {
            t = $col["threads"]; gsub(/ /, "", t); split($col["t/s"], a, " ")
            print r "," f ",llama.cpp," m "," t "," a[1] }' >>"$out"
      # mamba-bench markdown: | model | size | type | threads | test | t/s | limit | % | % med |
      # paired |
      # shellcheck disable=SC2086  # MAMBA_BENCH_ARGS: words on purpose
      $rt "$bench" -m "$f" -p 0 -n "$n" -t "$threads" -r 3 --mmap "$m" ${MAMBA_BENCH_ARGS:-} 2>/dev/null |
        awk -F'|' -v r="$r" -v f="$name" -v m="$m" \
          '$6 ~ /tg/ {gsub(/ /, "", $5); split($7, a, " "); gsub(/ /, "", $8); split($9, b, " ");
                      split($10, c, " "); split($11, d, " ");
                      print r "," f ",mamba-ssm," m "," $5 "," a[1] "," $8 "," b[1] "," c[1] "," d[1]}' \
          >>"$out"
    done
  done
done

python3 - "$out" <<'EOF'
import collections, csv, statistics, sys
runs = collections.defaultdict(lambda: collections.defaultdict(dict))
for row in csv.reader(open(sys.argv[1])):
    rnd, name, engine, mmap, thr, tps = row[:6]
    runs[(name, mmap, int(thr))][rnd][engine] = row[5:]
print("| file | mmap | threads | llama.cpp | mamba-ssm | ratio per round | median | of median probe | paired |")
print("|---|---:|---:|---|---|---|---:|---|---|")
for (name, mmap, thr), by_round in sorted(runs.items()):
    pairs = [v for _, v in sorted(by_round.items()) if len(v) == 2]
    if not pairs:
        continue
    ratios = [float(p["mamba-ssm"][0]) / float(p["llama.cpp"][0]) for p in pairs]
    cols = lambda e, i: " / ".join(p[e][i] for p in pairs)
    print(f"| {name} | {mmap} | {thr} | {cols('llama.cpp', 0)} | {cols('mamba-ssm', 0)} | "
          + " / ".join(f"{x:.2f}" for x in ratios)
          + f" | {statistics.median(ratios):.2f}x | {cols('mamba-ssm', 3)} % | {cols('mamba-ssm', 4)} % |")
EOF
