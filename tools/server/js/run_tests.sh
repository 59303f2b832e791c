#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs mamba-server's Node tests by hand against BUILD_DIR/tools/server/mamba-server (default:
# build): npm ci, the openai client test, then the browser test (needs Chromium). The same steps
# run under ctest as server_node_setup, server_node_openai_test and server_node_browser_test.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
build="${1:-build}"
case "$build" in /*) ;; *) build="$root/$build" ;; esac
export MAMBA_SERVER="${MAMBA_SERVER:-$build/tools/server/mamba-server}"
export MAMBA_TEST_ARTIFACTS="${MAMBA_TEST_ARTIFACTS:-$build/test-artifacts}"
[[ -x "$MAMBA_SERVER" ]] || { echo "run_tests.sh: no $MAMBA_SERVER (build mamba-server first)" >&2; exit 1; }
status=0
for step in "setup" "test openai_test.mjs" "test browser_test.mjs"; do
  rc=0
  # shellcheck disable=SC2086
  "$here/ctest_node.sh" $step || rc=$?
  if (( rc == 77 )); then
    echo "run_tests.sh: skipped: $step"
  elif (( rc != 0 )); then
    echo "run_tests.sh: FAILED: $step" >&2
    status=1
    [[ "$step" == setup ]] && exit 1
  fi
done
exit $status
