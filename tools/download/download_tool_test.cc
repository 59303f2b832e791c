// SPDX-License-Identifier: MIT
// Runs the mamba-download binary against the in-process fake Hub: stdout is exactly the snapshot
// directory, errors are one line on stderr with exit status 1.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "download/fake_hub_server.h"

namespace mamba {
namespace {

namespace fs = std::filesystem;

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Runs `args` through the shell; returns the exit status, stdout in `out`, stderr in `err`.
int RunTool(const std::string& args, const fs::path& tmp, std::string* out, std::string* err) {
  const fs::path err_file = tmp / "stderr.txt";
  const std::string cmd = std::string("env -u HF_HUB_OFFLINE -u HF_TOKEN ") + MAMBA_DOWNLOAD_TOOL +
                          " " + args + " 2>" + err_file.string();
  FILE* pipe = ::popen(cmd.c_str(), "r");
  if (!pipe) return -1;
  out->clear();
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, pipe)) > 0;) out->append(buf, n);
  const int status = ::pclose(pipe);
  *err = ReadFile(err_file);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(DownloadTool, PrintsSnapshotDirAndProgress) {
  FakeHub hub;
  const std::string data = std::string(MAMBA_SOURCE_DIR) + "/tests/data/";
  hub.AddFile("state-spaces/tiny", "config.json", ReadFile(data + "models/mamba1-tiny/config.json"),
              false);
  hub.AddFile("state-spaces/tiny", "model.safetensors",
              ReadFile(data + "models/mamba1-tiny/model.safetensors"), true);
  hub.AddFile("EleutherAI/gpt-neox-20b", "tokenizer.json", "{\"model\": {}}", true);
  const fs::path tmp =
      fs::temp_directory_path() / ("mamba_download_tool_" + std::to_string(::getpid()));
  fs::remove_all(tmp);
  fs::create_directories(tmp);
  const std::string common =
      " --endpoint " + hub.endpoint() + " --cache-dir " + (tmp / "hub").string();
  std::string out, err;
  ASSERT_EQ(RunTool("state-spaces/tiny" + common, tmp, &out, &err), 0) << err;
  const fs::path snapshot =
      tmp / "hub" / "models--state-spaces--tiny" / "snapshots" / hub.Commit("state-spaces/tiny");
  EXPECT_EQ(out, snapshot.string() + "\n");
  EXPECT_TRUE(fs::exists(snapshot / "model.safetensors"));
  EXPECT_TRUE(fs::exists(snapshot / "tokenizer.json"));
  EXPECT_NE(err.find("model.safetensors"), std::string::npos) << err;
  EXPECT_NE(err.find("100%"), std::string::npos) << err;

  EXPECT_EQ(RunTool("nobody/nothing" + common, tmp, &out, &err), 1);
  EXPECT_EQ(out, "");
  EXPECT_EQ(err, "mamba-download: error: repository 'nobody/nothing' not found on " +
                     hub.endpoint() + " (or it is private: set HF_TOKEN)\n");
  fs::remove_all(tmp);
}

}  // namespace
}  // namespace mamba
