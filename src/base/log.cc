// SPDX-License-Identifier: MIT
#include "base/log.h"

#include <cstdarg>
#include <cstdio>
#include <mutex>
#include <string>

namespace mamba {

namespace {
std::mutex& SinkMutex() {
  static std::mutex m;
  return m;
}
LogSink& Sink() {
  static LogSink sink;
  return sink;
}
}  // namespace

void SetLogSink(LogSink sink) {
  std::lock_guard<std::mutex> lock(SinkMutex());
  Sink() = std::move(sink);
}

void Log(LogLevel level, const char* fmt, ...) {
  std::lock_guard<std::mutex> lock(SinkMutex());
  if (!Sink()) return;
  va_list args;
  va_start(args, fmt);
  va_list copy;
  va_copy(copy, args);
  const int n = std::vsnprintf(nullptr, 0, fmt, copy);
  va_end(copy);
  std::string msg(n > 0 ? static_cast<size_t>(n) : 0, '\0');
  if (n > 0) std::vsnprintf(msg.data(), msg.size() + 1, fmt, args);
  va_end(args);
  Sink()(level, msg);
}

}  // namespace mamba
