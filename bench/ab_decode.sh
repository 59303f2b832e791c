#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Decode (tg) of two or more mamba-bench binaries (e.g. before and after a change) on one file,
# alternating binaries in rounds; prints each binary's tokens/s per round, and the medians of its
# tokens/s and of its paired fraction of the bandwidth limit. On a shared host whose memory
# bandwidth moves from minute to minute, runs seconds apart are the comparable figures.
#
# Usage: bench/ab_decode.sh MODEL THREADS ROUNDS N BIN...
#   MODEL    any file mamba-bench loads; THREADS one thread count; N tokens per tg test
#   BIN      mamba-bench binaries (copy a build's tools/bench/mamba-bench aside per version)
set -euo pipefail
if (($# < 5)); then
  sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
fi
model=$1 threads=$2 rounds=$3 n=$4
shift 4
for ((r = 1; r <= rounds; ++r)); do
  for bin in "$@"; do
    echo -n "$bin "
    "$bin" -m "$model" -p 0 -n "$n" -t "$threads" -r 2 --bw-buffer-mb 256 -o json 2>/dev/null |
      python3 -c '
import json, sys
for row in json.load(sys.stdin):
    if row.get("test", "").startswith("tg"):
        print(row["avg_ts"], 100 * row["fraction_of_paired_bandwidth"])'
  done
done | python3 -c '
import statistics, sys
runs = {}
for line in sys.stdin:
    bin, ts, paired = line.split()
    runs.setdefault(bin, []).append((float(ts), float(paired)))
for bin, v in runs.items():
    print(f"{bin}: tok/s {[round(t, 2) for t, _ in v]} median {statistics.median(t for t, _ in v):.2f},"
          f" paired median {statistics.median(p for _, p in v):.1f} %")'
