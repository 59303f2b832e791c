// SPDX-License-Identifier: MIT
// mamba-cli beyond the golden interface: sampling flags and their one-line errors, seed
// determinism, --stop (with escapes), prompt from stdin, the timing summary, and the errors a new
// user hits (no model, unreadable prompt file, unknown flag).
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>
#include "command_runner.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace mamba {
namespace {

namespace fs = std::filesystem;
const std::string kModel = std::string(MAMBA_SOURCE_DIR) + "/tests/data/models/mamba1-tiny";
const std::string kTokenizer =
    std::string(MAMBA_SOURCE_DIR) + "/tests/data/tokenizer/tokenizer.json";
const std::string kTiny = "-m '" + kModel + "' --tokenizer '" + kTokenizer + "' -t 1 ";

using RunResult = testing::CommandResult;

// Runs mamba-cli with `args` (shell syntax) in `cwd`, stdin from `stdin_text`.
RunResult RunCli(const std::string& args, const std::string& stdin_text = "",
                 const fs::path& cwd = fs::current_path()) {
  return testing::RunCommand(MAMBA_CLI_PATH, args, stdin_text, cwd);
}

// The error is exactly one line, starts with "mamba-cli: error:" and contains every `needle`.
void ExpectOneLineError(const RunResult& r, std::initializer_list<std::string> needles) {
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_EQ(r.err.rfind("mamba-cli: error: ", 0), 0u) << r.err;
  for (const std::string& n : needles) EXPECT_NE(r.err.find(n), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
}

TEST(CliSamplingTest, BadValuesGiveOneClearLine) {
  ExpectOneLineError(RunCli(kTiny + "-p x --top-p 2"), {"--top-p", "[0, 1]", "2"});
  ExpectOneLineError(RunCli(kTiny + "-p x --min-p -0.5"), {"--min-p", "-0.5"});
  ExpectOneLineError(RunCli(kTiny + "-p x --temp -1"), {"--temp", "-1"});
  ExpectOneLineError(RunCli(kTiny + "-p x --repeat-penalty 0"), {"--repeat-penalty"});
  ExpectOneLineError(RunCli(kTiny + "-p x --repeat-last-n -5"), {"--repeat-last-n"});
  ExpectOneLineError(RunCli(kTiny + "-p x -n -7"), {"-n", "-7"});
  ExpectOneLineError(RunCli(kTiny + "-p x --top-k abc"), {"--top-k", "abc"});
  ExpectOneLineError(RunCli(kTiny + "-p x --stop ''"), {"--stop"});
  ExpectOneLineError(RunCli(kTiny + "-p x --frobnicate"), {"--frobnicate"});
}

TEST(CliSamplingTest, NoModelSaysHowToGetOne) {
  const fs::path tmp =
      fs::temp_directory_path() / ("mamba_cli_nomodel_" + std::to_string(getpid()));
  fs::create_directories(tmp);
  const RunResult r = RunCli("-p hello", "", tmp);
  fs::remove_all(tmp);
  ExpectOneLineError(r, {"no model at 'models'", "-m", "download"});
}

TEST(CliSamplingTest, UnreadablePromptFileIsNamed) {
  ExpectOneLineError(RunCli(kTiny + "-f /nonexistent/prompt.txt"),
                     {"/nonexistent/prompt.txt", "No such file"});
  ExpectOneLineError(RunCli(kTiny + "-f /tmp"), {"'/tmp'", "directory"});
}

TEST(CliSamplingTest, PromptFromStdinEqualsPromptFlag) {
  const std::string gen = "-n 8 --temp 0 --no-stats ";
  const RunResult a = RunCli(kTiny + gen + "-p '#x'");
  const RunResult b = RunCli(kTiny + gen + "-f -", "#x");
  ASSERT_EQ(a.exit_code, 0) << a.err;
  EXPECT_EQ(b.exit_code, 0) << b.err;
  EXPECT_EQ(a.out, b.out);
  EXPECT_EQ(a.out.rfind("#x", 0), 0u);  // the prompt is echoed
}

TEST(CliSamplingTest, SameSeedSameTokens) {
  const std::string gen =
      "--prompt-ids 5,6,7 -n 24 --ignore-eos --print-ids --no-stats "
      "--temp 1.2 --top-k 0 --top-p 1 --min-p 0 ";
  const RunResult a = RunCli(kTiny + gen + "--seed 7");
  const RunResult b = RunCli(kTiny + gen + "--seed 7");
  const RunResult c = RunCli(kTiny + gen + "--seed 8");
  ASSERT_EQ(a.exit_code, 0) << a.err;
  EXPECT_EQ(a.out, b.out);
  EXPECT_NE(a.out, c.out);
  // Greedy ignores the seed; --top-k 1 at any temperature is greedy too.
  const std::string ids = "--prompt-ids 5,6,7 -n 16 --ignore-eos --print-ids --no-stats ";
  const RunResult g0 = RunCli(kTiny + ids + "--temp 0 --seed 1");
  const RunResult g1 = RunCli(kTiny + ids + "--temp 0 --seed 2");
  const RunResult k1 = RunCli(kTiny + ids + "--temp 0.9 --top-k 1 --seed 3");
  EXPECT_EQ(g0.out, g1.out);
  EXPECT_EQ(g0.out, k1.out);
}

TEST(CliSamplingTest, StopStringCutsTheOutputAndIsNotPrinted) {
  const std::string gen = "-p '#' -n 48 --temp 0 --ignore-eos --no-stats ";
  const RunResult full = RunCli(kTiny + gen);
  ASSERT_EQ(full.exit_code, 0) << full.err;
  ASSERT_EQ(full.out.rfind("#", 0), 0u);
  const std::string text = full.out.substr(1, full.out.size() - 2);  // without echo and "\n"
  ASSERT_GT(text.size(), 12u);
  // A printable-ASCII stop string from the middle of the generated text.
  size_t pos = text.size() / 3;
  auto printable = [&](size_t i) {
    return i + 2 < text.size() && std::all_of(text.begin() + i, text.begin() + i + 2, [](char c) {
             return std::isalpha(static_cast<unsigned char>(c));
           });
  };
  while (pos < text.size() && !printable(pos)) ++pos;
  if (pos >= text.size()) GTEST_SKIP() << "no ASCII pair in: " << text;
  const std::string stop = text.substr(pos, 2);
  const RunResult cut = RunCli(kTiny + gen + "--stop '" + stop + "' --stop 'never-there'");
  ASSERT_EQ(cut.exit_code, 0) << cut.err;
  std::string want = "#";  // built with += : GCC 12 warns falsely (-Wrestrict) on "#" + ...
  want += text.substr(0, text.find(stop));
  want += "\n";
  EXPECT_EQ(cut.out, want);

  // --stop '\n' (an escape) stops at the first newline, when there is one.
  const size_t nl = text.find('\n');
  if (nl != std::string::npos) {
    const RunResult line = RunCli(kTiny + gen + "--stop '\\n'");
    std::string want_line = "#";
    want_line += text.substr(0, nl);
    want_line += "\n";
    EXPECT_EQ(line.out, want_line);
  }
}

TEST(CliSamplingTest, EosStopsUnlessIgnored) {
  // mamba1-tiny with the NeoX tokenizer: eos is <|endoftext|> = 0. Feed a prompt and compare the
  // run that stops at EOS with --ignore-eos: the former is a prefix of the latter.
  const std::string ids = "--prompt-ids 0 -n 200 --temp 0 --print-ids --no-stats ";
  const RunResult stop = RunCli(kTiny + ids);
  const RunResult all = RunCli(kTiny + ids + "--ignore-eos");
  ASSERT_EQ(stop.exit_code, 0) << stop.err;
  EXPECT_EQ(all.out.rfind(stop.out.substr(0, stop.out.size() - 1), 0), 0u);
  const bool stopped_early = stop.out.size() < all.out.size();
  if (stopped_early) {
    EXPECT_EQ(stop.out.substr(stop.out.size() - 3), " 0\n");
  }
}

TEST(CliSamplingTest, TimingSummaryOnStderr) {
  const RunResult r = RunCli(kTiny + "-p x -n 4 --temp 0");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* k : {"load time", "prompt eval time", "eval time", "tokens per second"}) {
    EXPECT_NE(r.err.find(k), std::string::npos) << r.err;
  }
  EXPECT_EQ(r.out.find("tokens per second"), std::string::npos);
  const RunResult quiet = RunCli(kTiny + "-p x -n 4 --temp 0 --no-stats");
  EXPECT_TRUE(quiet.err.empty()) << quiet.err;
  const RunResult verbose = RunCli(kTiny + "-p x -n 4 --temp 0 --verbose --seed 5");
  EXPECT_NE(verbose.err.find("d_model 64"), std::string::npos) << verbose.err;
  EXPECT_NE(verbose.err.find("seed 5"), std::string::npos) << verbose.err;
}

TEST(CliSamplingTest, HelpListsTheSamplingFlags) {
  const RunResult r = RunCli("--help");
  EXPECT_EQ(r.exit_code, 0);
  for (const char* f : {"--top-k", "--top-p", "--min-p", "--repeat-penalty", "--presence-penalty",
                        "--frequency-penalty", "--stop", "--interactive"}) {
    EXPECT_NE(r.out.find(f), std::string::npos) << f;
  }
}

}  // namespace
}  // namespace mamba
