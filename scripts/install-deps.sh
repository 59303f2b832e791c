#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs the system packages mamba-ssm needs to build and test. Debian/Ubuntu: apt-get (as root
# or through sudo), only for what is missing. macOS: prints the Homebrew command.
# Usage: scripts/install-deps.sh [--test]   (--test adds what the test suite needs)
set -euo pipefail

want_test=0
[[ "${1:-}" == "--test" ]] && want_test=1

if [[ "$(uname -s)" == "Darwin" ]]; then
  echo "On macOS install the dependencies with Homebrew:"
  echo "  brew install cmake ninja highway nlohmann-json cli11 cpp-httplib utf8proc googletest google-benchmark"
  exit 0
fi

packages=(build-essential cmake ninja-build pkg-config libhwy-dev nlohmann-json3-dev libcli11-dev
          libutf8proc-dev libcpp-httplib-dev)
if (( want_test )); then
  packages+=(libgtest-dev libgmock-dev libbenchmark-dev python3)
  # mamba-server's Node tests (tools/server/js): the openai npm client and the page in headless
  # Chromium. Judged by the commands, not the package names, so that a NodeSource nodejs (which
  # bundles npm and conflicts with Debian's npm package) counts as installed.
  command -v node >/dev/null 2>&1 || packages+=(nodejs)
  command -v npm >/dev/null 2>&1 || packages+=(npm)
  [[ -x "${CHROMIUM:-/usr/bin/chromium}" ]] || packages+=(chromium fonts-dejavu-core)
fi

if ! command -v dpkg-query >/dev/null 2>&1; then
  echo "install-deps: not a Debian/Ubuntu system; install these yourself: ${packages[*]}" >&2
  exit 0
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if (( ${#missing[@]} == 0 )); then
  exit 0
fi

echo "install-deps: installing ${missing[*]}" >&2
if [[ $(id -u) -eq 0 ]]; then
  SUDO=()
elif command -v sudo >/dev/null 2>&1; then
  SUDO=(sudo)
else
  echo "install-deps: need root or sudo to install: ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
