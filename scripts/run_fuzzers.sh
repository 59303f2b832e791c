#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds the libFuzzer targets (clang-14, ASan+UBSan) and runs each for a bounded time on a copy
# of its seed corpus plus fuzz/regressions/<target>/ (neither folder is modified). Prints, per
# target, the number of executions and whether it crashed; exits non-zero if any target crashed.
#
# Usage: scripts/run_fuzzers.sh [seconds_per_target] [target ...]
# Env:   MAMBA_FUZZ_BUILD_DIR (default build-fuzz), MAMBA_FUZZ_WORK_DIR (default: a new temp dir;
#        crash artifacts and logs are kept there), JOBS (build parallelism, default 2).
set -euo pipefail

seconds="${1:-60}"
shift || true
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${MAMBA_FUZZ_BUILD_DIR:-${root}/build-fuzz}"
work="${MAMBA_FUZZ_WORK_DIR:-$(mktemp -d /tmp/mamba-fuzz.XXXXXX)}"
jobs="${JOBS:-2}"
all_targets=(fuzz_safetensors fuzz_pytorch_bin fuzz_pickle fuzz_model_config fuzz_tokenizer_json
             fuzz_tokenizer_encode fuzz_gguf fuzz_jinja)
targets=("$@")
[[ ${#targets[@]} -eq 0 ]] && targets=("${all_targets[@]}")

CC=clang-14 CXX=clang++-14 cmake -S "${root}" -B "${build}" -G Ninja \
  -DMAMBA_BUILD_FUZZERS=ON -DMAMBA_BUILD_TESTS=OFF -DMAMBA_BUILD_TOOLS=OFF \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >"${work}/configure.log" 2>&1 ||
  { cat "${work}/configure.log"; exit 2; }

built=()
for t in "${targets[@]}"; do
  # A target may be absent (fuzz_model_config needs the mamba_model_config library).
  if cmake --build "${build}" -j "${jobs}" --target "${t}" >"${work}/build-${t}.log" 2>&1; then
    built+=("${t}")
  else
    echo "${t}: BUILD FAILED (see ${work}/build-${t}.log)"
    tail -20 "${work}/build-${t}.log"
    exit 2
  fi
done

failed=0
printf '%-20s %12s %8s  %s\n' target executions result details
for t in "${built[@]}"; do
  corpus="${work}/${t}-corpus"
  mkdir -p "${corpus}"
  [[ -d "${root}/fuzz/corpus/${t}" ]] && cp -r "${root}/fuzz/corpus/${t}/." "${corpus}/"
  # Inputs that once crashed a target run first, so a regression fails immediately.
  [[ -d "${root}/fuzz/regressions/${t}" ]] && cp -r "${root}/fuzz/regressions/${t}/." "${corpus}/"
  dict=()
  [[ -f "${root}/fuzz/dicts/${t}.dict" ]] && dict=("-dict=${root}/fuzz/dicts/${t}.dict")
  log="${work}/${t}.log"
  set +e
  "${build}/fuzz/${t}" "${corpus}" "${dict[@]}" -max_total_time="${seconds}" -timeout=10 \
    -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
    -artifact_prefix="${work}/${t}-" >"${log}" 2>&1
  rc=$?
  set -e
  execs="$(grep -o 'stat::number_of_executed_units: *[0-9]*' "${log}" | grep -o '[0-9]*$' | tail -1)"
  if [[ ${rc} -eq 0 ]]; then
    printf '%-20s %12s %8s  %s\n' "${t}" "${execs:-?}" ok "corpus ${corpus}"
  else
    failed=1
    artifact="$(ls "${work}/${t}-"{crash,leak,timeout,oom}-* 2>/dev/null | head -1 || true)"
    printf '%-20s %12s %8s  %s\n' "${t}" "${execs:-?}" CRASH "exit ${rc}; log ${log}; input ${artifact:-none}"
    grep -m5 -E 'ERROR|runtime error|Check failed|SUMMARY' "${log}" || true
  fi
done
echo "logs and corpora: ${work}"
exit "${failed}"
