#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds mamba-ssm (Release) and runs the whole test suite with ctest.
# Usage: scripts/test.sh [extra ctest args]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --test
jobs=$(nproc 2>/dev/null || sysctl -n hw.ncpu)
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DMAMBA_BUILD_TESTS=ON
cmake --build build -j "$jobs"
ctest --test-dir build --output-on-failure -j "$jobs" "$@"
