// SPDX-License-Identifier: MIT
#include "command_runner.h"

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <sstream>

namespace mamba::testing {

namespace fs = std::filesystem;

CommandResult RunCommand(const std::string& binary, const std::string& args,
                         const std::string& stdin_text, const fs::path& cwd,
                         const std::string& env) {
  static std::atomic<int> counter{0};
  const std::string tag = std::to_string(getpid()) + "_" + std::to_string(counter++);
  const fs::path err_file = fs::temp_directory_path() / ("mamba_cmd_err_" + tag);
  const fs::path in_file = fs::temp_directory_path() / ("mamba_cmd_in_" + tag);
  std::ofstream(in_file, std::ios::binary) << stdin_text;
  const std::string cmd = "cd '" + cwd.string() + "' && " + env + "'" + binary + "' " + args +
                          " <'" + in_file.string() + "' 2>'" + err_file.string() + "'";
  CommandResult r;
  FILE* p = popen(cmd.c_str(), "r");
  if (p != nullptr) {
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
    const int status = pclose(p);
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  std::stringstream ss;
  ss << std::ifstream(err_file).rdbuf();
  r.err = ss.str();
  fs::remove(err_file);
  fs::remove(in_file);
  return r;
}

}  // namespace mamba::testing
