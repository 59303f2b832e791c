// SPDX-License-Identifier: MIT
// Runs a tool the way a user would (a shell command line), capturing exit code, stdout and stderr.
#pragma once

#include <filesystem>
#include <string>

namespace mamba::testing {

struct CommandResult {
  int exit_code = -1;  // -1 when the command could not run or was killed by a signal
  std::string out;
  std::string err;
};

// Runs `binary` with `args` (shell syntax, already quoted) in `cwd`, with `env` (shell
// assignments like "A=1 B=2 ", may be empty) in front and `stdin_text` on standard input.
CommandResult RunCommand(const std::string& binary, const std::string& args,
                         const std::string& stdin_text = "",
                         const std::filesystem::path& cwd = std::filesystem::current_path(),
                         const std::string& env = "");

}  // namespace mamba::testing
