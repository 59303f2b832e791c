#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# ctest driver for mamba-server's Node tests (registered in tools/server/CMakeLists.txt).
#
#   ctest_node.sh setup            npm ci into tools/server/js/node_modules (skipped when the
#                                  installed tree already matches package-lock.json)
#   ctest_node.sh test FILE.mjs    node --test FILE.mjs against $MAMBA_SERVER
#
# Node >= 18 and npm are needed; browser_test.mjs also needs Chromium ($CHROMIUM, default
# /usr/bin/chromium). When something is missing the script exits 77 (ctest reports the test as
# skipped) unless the tests are required: MAMBA_REQUIRE_NODE_TESTS=1 (scripts/test.sh, hence CI,
# sets it) or CI set to anything but ""/0/false. Then a missing tool is a loud failure (exit 1).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"

required=0
if [[ "${MAMBA_REQUIRE_NODE_TESTS:-}" == 1 ]]; then
  required=1
elif [[ -z "${MAMBA_REQUIRE_NODE_TESTS:-}" && -n "${CI:-}" && "${CI}" != 0 && "${CI}" != false ]]; then
  required=1
fi

# Missing prerequisite: skip (77) or, when required, fail.
missing() {
  if (( required )); then
    echo "ctest_node.sh: FAIL: $1" >&2
    echo "ctest_node.sh: the Node tests are required here (MAMBA_REQUIRE_NODE_TESTS=1 or CI);" \
         "scripts/install-deps.sh --test installs nodejs, npm and chromium" >&2
    exit 1
  fi
  echo "ctest_node.sh: SKIP: $1 (set MAMBA_REQUIRE_NODE_TESTS=1 to make this a failure)" >&2
  exit 77
}

command -v node >/dev/null 2>&1 || missing "no 'node' on PATH (apt-get install nodejs npm)"
node_major="$(node -p 'process.versions.node.split(".")[0]')"
(( node_major >= 18 )) || missing "node $(node --version) is too old (need 18 or newer)"

case "${1:-}" in
  setup)
    command -v npm >/dev/null 2>&1 || missing "no 'npm' on PATH (apt-get install npm)"
    stamp=node_modules/.mamba-package-lock.json
    if [[ -f "$stamp" ]] && cmp -s package-lock.json "$stamp"; then
      echo "ctest_node.sh: node_modules matches package-lock.json"
      exit 0
    fi
    # The npm cache goes next to node_modules (gitignored), so HOME need not be writable.
    if ! npm ci --no-audit --no-fund --cache "$here/node_modules.cache"; then
      missing "'npm ci' failed in $here (no network to the npm registry?)"
    fi
    cp package-lock.json "$stamp"
    ;;
  test)
    file="${2:?usage: ctest_node.sh test FILE.mjs}"
    [[ -n "${MAMBA_SERVER:-}" && -x "${MAMBA_SERVER}" ]] ||
      { echo "ctest_node.sh: MAMBA_SERVER='${MAMBA_SERVER:-}' is not an executable" >&2; exit 1; }
    [[ -d node_modules/openai && -d node_modules/playwright-core ]] ||
      missing "no node_modules in $here (the server_node_setup test runs npm ci)"
    if [[ "$file" == browser_test.mjs ]]; then
      chromium="${CHROMIUM:-/usr/bin/chromium}"
      [[ -x "$chromium" ]] || missing "no Chromium at $chromium (apt-get install chromium)"
    fi
    exec node --test "$file"
    ;;
  *)
    echo "usage: ctest_node.sh setup | test FILE.mjs" >&2
    exit 2
    ;;
esac
