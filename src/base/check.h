// SPDX-License-Identifier: MIT
// Always-on invariant checks. A failed MAMBA_CHECK is a bug in the engine (never bad user input,
// which gets a Status): it reports file:line and the formatted message, then aborts.
// MAMBA_DCHECK is for hot loops and compiles away unless MAMBA_DEBUG_CHECKS is defined.
#pragma once

namespace mamba::internal {
[[noreturn]] void CheckFailed(const char* file, int line, const char* cond, const char* fmt, ...)
    __attribute__((format(printf, 4, 5)));
[[noreturn]] void CheckFailed(const char* file, int line, const char* cond);
}  // namespace mamba::internal

#define MAMBA_CHECK(cond, ...)                                                  \
  do {                                                                          \
    if (__builtin_expect(!(cond), 0)) {                                         \
      ::mamba::internal::CheckFailed(__FILE__, __LINE__, #cond, ##__VA_ARGS__); \
    }                                                                           \
  } while (0)

#if defined(MAMBA_DEBUG_CHECKS) || !defined(NDEBUG)
#define MAMBA_DCHECK(cond, ...) MAMBA_CHECK(cond, ##__VA_ARGS__)
#else
#define MAMBA_DCHECK(cond, ...) \
  do {                          \
  } while (0)
#endif
