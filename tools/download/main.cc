// SPDX-License-Identifier: MIT
// mamba-download: fetches a Mamba model from the Hugging Face Hub into the Hugging Face cache and
// prints the snapshot directory on stdout, so `mamba-cli -m "$(mamba-download ORG/NAME)"` works.
// Progress goes to stderr, one line per file.
#include <CLI/CLI.hpp>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>

#include "base/log.h"
#include "download/hub_download.h"

namespace {

using Clock = std::chrono::steady_clock;

// Draws "name  42%  12.3/27.1 MB  5.2 MB/s" in place with \r; a newline when a file completes.
class ProgressBar {
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

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "Download a Mamba model from the Hugging Face Hub into the Hugging Face cache\n"
      "(honours HF_HOME, HF_HUB_CACHE, HF_ENDPOINT, HF_TOKEN, HF_HUB_OFFLINE) and print the\n"
      "snapshot directory, e.g.  mamba-cli -m \"$(mamba-download state-spaces/mamba-130m-hf)\""};
  mamba::DownloadOptions options = mamba::DownloadOptionsFromEnv();
  std::string repo_id;
  bool quiet = false;
  app.add_option("repo", repo_id, "model id, ORG/NAME (e.g. state-spaces/mamba-130m-hf)")
      ->required();
  app.add_option("-r,--revision", options.revision, "branch, tag or commit hash")
      ->capture_default_str();
  app.add_option("--cache-dir", options.cache_dir, "hub cache directory")->capture_default_str();
  app.add_option("--endpoint", options.endpoint, "Hub URL (or set HF_ENDPOINT)")
      ->capture_default_str();
  app.add_flag("--offline", options.offline, "use only the cache (or set HF_HUB_OFFLINE=1)");
  app.add_flag("-q,--quiet", quiet, "no progress output");
  CLI11_PARSE(app, argc, argv);

  ProgressBar bar(!quiet);
  options.progress = [&bar](const std::string& file, uint64_t done, uint64_t total) {
    bar.Update(file, done, total);
  };
  mamba::SetLogSink([quiet](mamba::LogLevel level, std::string_view msg) {
    if (!quiet || level >= mamba::LogLevel::kWarning) {
      std::fprintf(stderr, "mamba-download: %.*s\n", static_cast<int>(msg.size()), msg.data());
    }
  });
  mamba::StatusOr<std::string> dir = mamba::DownloadModel(repo_id, options);
  bar.Finish();
  if (!dir.ok()) {
    std::fprintf(stderr, "mamba-download: error: %s\n", dir.status().message().c_str());
    return 1;
  }
  std::printf("%s\n", dir->c_str());
  return 0;
}
