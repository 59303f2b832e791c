#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds mamba-ssm (Release) and runs the whole test suite with ctest.
# Usage: scripts/test.sh [extra ctest args]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --test
# The Node tests of mamba-server fail (not skip) here when node, npm or chromium are missing.
export MAMBA_REQUIRE_NODE_TESTS="${MAMBA_REQUIRE_NODE_TESTS:-1}"
jobs=$(nproc 2>/dev/null || sysctl -n hw.ncpu)
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DMAMBA_BUILD_TESTS=ON
cmake --build build -j "$jobs"
ctest --test-dir build --output-on-failure -j "$jobs" "$@"
