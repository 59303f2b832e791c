// SPDX-License-Identifier: MIT
// mamba-cli -i driven through a pseudo-terminal, as a person would use it: type a line, read the
// streamed continuation, /reset, Ctrl-C during a generation, Ctrl-C and Ctrl-D at the prompt.
// Set MAMBA_PTY_TRANSCRIPT_DIR to keep the transcripts.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#if __has_include(<pty.h>)
#include <pty.h>  // Linux
#else
#include <util.h>  // macOS, BSD
#endif
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace mamba {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

const std::string kModel = "tests/data/models/mamba1-tiny";
const std::string kTokenizer = "tests/data/tokenizer/tokenizer.json";
constexpr int kTimeoutMs = 10000;

// A mamba-cli child on the slave side of a pty; the test holds the master.
class PtyCli {
 public:
  explicit PtyCli(const std::vector<std::string>& args) {
    pid_ = forkpty(&master_, nullptr, nullptr, nullptr);
    if (pid_ == 0) {
      if (chdir(MAMBA_SOURCE_DIR) != 0) _exit(126);
      std::vector<char*> argv;
      argv.push_back(const_cast<char*>(MAMBA_CLI_PATH));
      for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      execv(MAMBA_CLI_PATH, argv.data());
      _exit(127);
    }
  }
  ~PtyCli() {
    if (pid_ > 0 && !reaped_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (master_ >= 0) close(master_);
  }

  bool started() const { return pid_ > 0; }
  void Send(const std::string& keys) {
    ASSERT_EQ(write(master_, keys.data(), keys.size()), static_cast<ssize_t>(keys.size()));
  }
  // Reads until the transcript contains `needle` at or after `from`; returns its position or npos
  // on timeout or when the child closed the terminal.
  size_t WaitFor(const std::string& needle, size_t from) {
    const auto deadline = Clock::now() + std::chrono::milliseconds(kTimeoutMs);
    for (;;) {
      if (const size_t pos = text_.find(needle, from); pos != std::string::npos) return pos;
      if (!ReadSome(deadline)) return std::string::npos;
    }
  }
  // Reads until the transcript is at least `size` bytes long; false on timeout.
  bool WaitForSize(size_t size) {
    const auto deadline = Clock::now() + std::chrono::milliseconds(kTimeoutMs);
    while (text_.size() < size) {
      if (!ReadSome(deadline)) return false;
    }
    return true;
  }
  // Reads everything until the child closes the terminal, then returns its exit status (or -1).
  int WaitExit() {
    const auto deadline = Clock::now() + std::chrono::milliseconds(kTimeoutMs);
    while (ReadSome(deadline)) {
    }
    int status = 0;
    for (;;) {
      const pid_t r = waitpid(pid_, &status, WNOHANG);
      if (r == pid_) break;
      if (Clock::now() > deadline) return -1;
      usleep(10000);
    }
    reaped_ = true;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  // Everything the terminal showed, with the pty's "\r\n" turned back into "\n".
  const std::string& text() const { return text_; }

 private:
  bool ReadSome(Clock::time_point deadline) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return false;
    pollfd p{master_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
    char buf[4096];
    const ssize_t n = read(master_, buf, sizeof buf);
    if (n <= 0) return false;  // EIO: the child closed the terminal
    for (ssize_t i = 0; i < n; ++i) {
      if (buf[i] != '\r') text_ += buf[i];
    }
    return true;
  }

  pid_t pid_ = -1;
  int master_ = -1;
  bool reaped_ = false;
  std::string text_;
};

void SaveTranscript(const std::string& name, const std::string& text) {
  const char* dir = std::getenv("MAMBA_PTY_TRANSCRIPT_DIR");
  if (dir == nullptr) return;
  std::ofstream(fs::path(dir) / (name + ".txt"), std::ios::binary) << text;
}

// Types `line` + Enter and returns what the model printed for it: the text between the echoed
// line and the next prompt marker.
std::string Turn(PtyCli& cli, const std::string& line) {
  const size_t start = cli.text().size();
  cli.Send(line + "\n");
  const size_t echo = cli.WaitFor(line + "\n", start);
  if (echo == std::string::npos) return "<no echo>";
  const size_t body = echo + line.size() + 1;
  const size_t prompt = cli.WaitFor("> ", body);
  if (prompt == std::string::npos) return "<no prompt>";
  return cli.text().substr(body, prompt - body);
}

TEST(InteractiveTest, TurnsKeepStateAndResetClearsIt) {
  PtyCli cli({"-m", kModel, "--tokenizer", kTokenizer, "-i", "--temp", "0", "-n", "12", "-t", "1",
              "--no-stats"});
  ASSERT_TRUE(cli.started());
  ASSERT_NE(cli.WaitFor("> ", 0), std::string::npos) << cli.text();
  const std::string first = Turn(cli, "x");
  const std::string second = Turn(cli, "x");
  const size_t before_reset = cli.text().size();
  cli.Send("/reset\n");
  ASSERT_NE(cli.WaitFor("[state cleared]\n> ", before_reset), std::string::npos) << cli.text();
  const std::string after_reset = Turn(cli, "x");
  SCOPED_TRACE(cli.text());
  EXPECT_FALSE(first.empty());
  // The second "x" continues from the first turn's state, so the model sees another history.
  EXPECT_NE(second, first);
  // After /reset the state is zero again: the same input gives the first answer again.
  EXPECT_EQ(after_reset, first);
  // Ctrl-D at the prompt exits cleanly.
  cli.Send("\x04");
  EXPECT_EQ(cli.WaitExit(), 0);
  SaveTranscript("turns_and_reset", cli.text());
}

TEST(InteractiveTest, CtrlCStopsGenerationAndReturnsToThePrompt) {
  // -n -1 --ignore-eos: a generation that only Ctrl-C can end.
  PtyCli cli({"-m", kModel, "--tokenizer", kTokenizer, "-i", "--temp", "0.8", "--seed", "1", "-n",
              "-1", "--ignore-eos", "-t", "1"});
  ASSERT_TRUE(cli.started());
  ASSERT_NE(cli.WaitFor("> ", 0), std::string::npos) << cli.text();
  for (int round = 0; round < 2; ++round) {
    const size_t start = cli.text().size();
    cli.Send("x\n");
    const size_t echo = cli.WaitFor("x\n", start);
    ASSERT_NE(echo, std::string::npos);
    // Text is streaming: wait for a good amount of it, then interrupt.
    ASSERT_TRUE(cli.WaitForSize(echo + 200)) << "generation produced no output: " << cli.text();
    cli.Send("\x03");
    const size_t stopped = cli.WaitFor("[interrupted]\n> ", echo);
    ASSERT_NE(stopped, std::string::npos) << cli.text();
  }
  // Ctrl-C at the prompt quits, with the timing summary.
  cli.Send("\x03");
  EXPECT_EQ(cli.WaitExit(), 0);
  EXPECT_NE(cli.text().find("eval time"), std::string::npos);
  SaveTranscript("ctrl_c", cli.text());
}

TEST(InteractiveTest, CommandsAndEmptyLine) {
  PtyCli cli({"-m", kModel, "--tokenizer", kTokenizer, "-i", "--temp", "0", "-n", "4", "-t", "1",
              "--no-stats", "-p", "#"});
  ASSERT_TRUE(cli.started());
  // -p is the first turn: echoed, continued, then the prompt.
  ASSERT_NE(cli.WaitFor("> ", 0), std::string::npos) << cli.text();
  const size_t start = cli.text().size();
  cli.Send("/help\n");
  ASSERT_NE(cli.WaitFor("/reset", start), std::string::npos) << cli.text();
  ASSERT_NE(cli.WaitFor("> ", start), std::string::npos);
  // An empty line keeps generating from the state.
  EXPECT_NE(Turn(cli, ""), "<no prompt>");
  cli.Send("/exit\n");
  EXPECT_EQ(cli.WaitExit(), 0);
  SaveTranscript("commands", cli.text());
}

}  // namespace
}  // namespace mamba
