#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds mamba-cli (Release) and runs it on the bundled default model in models/.
# Usage: scripts/demo.sh [extra mamba-cli args]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
jobs=$(nproc 2>/dev/null || sysctl -n hw.ncpu)
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$jobs" --target mamba-cli
exec build/tools/cli/mamba-cli -m models "$@"
