// SPDX-License-Identifier: MIT
// mamba-download: fetches a Mamba model from the Hugging Face Hub into the Hugging Face cache and
// prints the snapshot directory on stdout, so `mamba-cli -m "$(mamba-download ORG/NAME)"` works.
// Progress goes to stderr, one line per file.
#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <string>

#include "base/log.h"
#include "download/hub_download.h"
#include "download/progress_bar.h"

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

  mamba_tools::ProgressBar bar(!quiet);
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
