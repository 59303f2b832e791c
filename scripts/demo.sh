#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds mamba-cli (Release) and runs it on the bundled default model in models/.
# Usage: scripts/demo.sh [extra mamba-cli args]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
jobs=$(nproc 2>/dev/null || sysctl -n hw.ncpu)
log=build/demo-build.log
mkdir -p build
echo "building mamba-cli (log: $log) ..." >&2
if ! { cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release &&
       cmake --build build -j "$jobs" --target mamba-cli; } >"$log" 2>&1; then
  tail -30 "$log" >&2
  echo "demo: build failed (full log: $log)" >&2
  exit 1
fi
exec build/tools/cli/mamba-cli -m models "$@"
