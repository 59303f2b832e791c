// SPDX-License-Identifier: MIT
#include "base/check.h"

#include <cstdarg>
#include <cstdio>
#include <cstdlib>

namespace mamba::internal {

// Invariant failures are the one place the library writes to stderr: the process is about to
// abort and there may be no log sink left to call.
void CheckFailed(const char* file, int line, const char* cond, const char* fmt, ...) {
  std::fprintf(stderr, "%s:%d: MAMBA_CHECK failed: %s: ", file, line, cond);
  va_list args;
  va_start(args, fmt);
  std::vfprintf(stderr, fmt, args);
  va_end(args);
  std::fputc('\n', stderr);
  std::abort();
}

void CheckFailed(const char* file, int line, const char* cond) {
  std::fprintf(stderr, "%s:%d: MAMBA_CHECK failed: %s\n", file, line, cond);
  std::abort();
}

}  // namespace mamba::internal
