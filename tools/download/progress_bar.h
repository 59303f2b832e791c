// SPDX-License-Identifier: MIT
// A per-file download progress line for terminals (stderr, redrawn in place with \r), shared by
// mamba-download and mamba-cli --hf. Header-only; link the `mamba_download_progress` target.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace mamba_tools {

// Feed it DownloadOptions::progress calls: Update(file, done, total). Draws
// "name  42%  12.3/27.1 MB  5.2 MB/s" in place with \r (at most 10 times a second), and ends the
// line when the file completes. Not thread-safe.
class ProgressBar {
  using Clock = std::chrono::steady_clock;

 public:
  explicit ProgressBar(bool enabled) : enabled_(enabled) {}

  void Update(const std::string& file, uint64_t done, uint64_t total) {
    if (!enabled_) return;
    const Clock::time_point now = Clock::now();
    if (file != file_) {
      if (!file_.empty() && !finished_) std::fputc('\n', stderr);
      file_ = file;
      start_ = now;
      start_bytes_ = done;
      finished_ = false;
      last_draw_ = Clock::time_point();
    }
    if (finished_) return;
    const bool complete = total > 0 && done >= total;
    if (!complete && now - last_draw_ < std::chrono::milliseconds(100)) return;
    last_draw_ = now;
    const double secs = std::chrono::duration<double>(now - start_).count();
    const double rate = secs > 0 ? (done - start_bytes_) / secs / 1e6 : 0.0;
    if (total > 0) {
      std::fprintf(stderr, "\r%-40s %3d%%  %8.1f/%.1f MB  %6.1f MB/s", file.c_str(),
                   static_cast<int>(100.0 * done / total), done / 1e6, total / 1e6, rate);
    } else {
      std::fprintf(stderr, "\r%-40s %8.1f MB  %6.1f MB/s", file.c_str(), done / 1e6, rate);
    }
    if (complete) {
      std::fputc('\n', stderr);
      finished_ = true;
    }
    std::fflush(stderr);
  }

  void Finish() {
    if (enabled_ && !file_.empty() && !finished_) std::fputc('\n', stderr);
    finished_ = true;
  }

 private:
  bool enabled_;
  std::string file_;
  bool finished_ = true;
  Clock::time_point start_, last_draw_;
  uint64_t start_bytes_ = 0;
};

}  // namespace mamba_tools
