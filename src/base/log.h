// SPDX-License-Identifier: MIT
// The library's only way to say something: a process-wide log sink set by the application.
// With no sink installed, messages are dropped (the library never prints on its own).
#pragma once

#include <functional>
#include <string_view>

namespace mamba {

enum class LogLevel { kDebug, kInfo, kWarning, kError };

using LogSink = std::function<void(LogLevel, std::string_view)>;

// Installs `sink` (or removes it when empty). Thread-safe.
void SetLogSink(LogSink sink);

// Formats printf-style and hands the message to the sink, if any. Thread-safe.
void Log(LogLevel level, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

}  // namespace mamba
