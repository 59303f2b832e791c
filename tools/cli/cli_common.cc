// SPDX-License-Identifier: MIT
// mamba-cli error line and timing summary.
#include "cli_common.h"

#include <algorithm>
#include <cstdio>

namespace mamba::cli {

int Fail(const std::string& msg) {
  std::fprintf(stderr, "mamba-cli: error: %s\n", msg.c_str());
  return 1;
}

namespace {

void Line(const char* name, double seconds, int64_t n, const char* unit) {
  const double ms = seconds * 1e3;
  if (n <= 0) {
    std::fprintf(stderr, "%-16s = %10.2f ms / %5lld %s\n", name, ms, static_cast<long long>(n),
                 unit);
    return;
  }
  std::fprintf(stderr,
               "%-16s = %10.2f ms / %5lld %s (%8.2f ms per token, %8.2f tokens per second)\n", name,
               ms, static_cast<long long>(n), unit, ms / n, n / std::max(seconds, 1e-9));
}

}  // namespace

void PrintTimings(double load_s, int64_t n_prompt, double prompt_s, int64_t n_gen, double gen_s) {
  std::fprintf(stderr, "\n%-16s = %10.2f ms\n", "load time", load_s * 1e3);
  Line("prompt eval time", prompt_s, n_prompt, "tokens");
  Line("eval time", gen_s, n_gen, "runs  ");
  std::fprintf(stderr, "%-16s = %10.2f ms / %5lld tokens\n", "total time",
               (load_s + prompt_s + gen_s) * 1e3, static_cast<long long>(n_prompt + n_gen));
}

}  // namespace mamba::cli
