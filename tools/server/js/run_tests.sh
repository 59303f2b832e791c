#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs the npm packages (openai, playwright-core) and runs mamba-server's Node tests against
# BUILD_DIR/tools/server/mamba-server (default: build). The browser test needs Debian's chromium
# (apt-get install chromium) and is skipped with a note when /usr/bin/chromium is missing.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
build="${1:-build}"
case "$build" in /*) ;; *) build="$root/$build" ;; esac
export MAMBA_SERVER="${MAMBA_SERVER:-$build/tools/server/mamba-server}"
[[ -x "$MAMBA_SERVER" ]] || { echo "run_tests.sh: no $MAMBA_SERVER (build mamba-server first)" >&2; exit 1; }
cd "$here"
npm install --no-audit --no-fund --silent
node --test openai_test.mjs
if [[ -x "${CHROMIUM:-/usr/bin/chromium}" ]]; then
  node --test browser_test.mjs
else
  echo "run_tests.sh: skipping browser_test.mjs (no /usr/bin/chromium; apt-get install chromium)"
fi
