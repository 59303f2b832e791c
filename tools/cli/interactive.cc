// SPDX-License-Identifier: MIT
// The interactive loop: line reading that a SIGINT can interrupt, turn handling, /commands.
#include "interactive.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>

namespace mamba::cli {
namespace {

std::atomic<bool> g_interrupted{false};
// Self-pipe: the handler also writes a byte here, so a poll() at the prompt wakes up even when
// the signal lands between checking the flag and starting to wait.
int g_wake_pipe[2] = {-1, -1};

extern "C" void OnSigint(int) {
  g_interrupted.store(true);
  if (g_wake_pipe[1] >= 0) {
    const char byte = 1;
    [[maybe_unused]] ssize_t n = ::write(g_wake_pipe[1], &byte, 1);
  }
}

// Installs OnSigint without SA_RESTART, so a read() waiting at the prompt returns EINTR.
void InstallSigint() {
  if (g_wake_pipe[0] < 0 && ::pipe(g_wake_pipe) == 0) {
    ::fcntl(g_wake_pipe[0], F_SETFL, O_NONBLOCK);
    ::fcntl(g_wake_pipe[1], F_SETFL, O_NONBLOCK);
  }
  struct sigaction sa;
  std::memset(&sa, 0, sizeof sa);
  sa.sa_handler = OnSigint;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
}

enum class ReadResult { kLine, kEof, kInterrupted };

// Reads stdin line by line with read(2) (std::getline cannot tell EINTR from EOF).
class LineReader {
 public:
  ReadResult Read(std::string& line) {
    line.clear();
    for (;;) {
      if (const size_t nl = buffer_.find('\n'); nl != std::string::npos) {
        line = buffer_.substr(0, nl);
        buffer_.erase(0, nl + 1);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        return ReadResult::kLine;
      }
      if (g_interrupted.load()) return ReadResult::kInterrupted;
      // Wait for input or a Ctrl-C (the wake pipe), whichever comes first.
      pollfd fds[2] = {{STDIN_FILENO, POLLIN, 0}, {g_wake_pipe[0], POLLIN, 0}};
      if (::poll(fds, g_wake_pipe[0] >= 0 ? 2 : 1, -1) < 0 && errno != EINTR) {
        return ReadResult::kEof;
      }
      if (g_wake_pipe[0] >= 0 && (fds[1].revents & POLLIN)) {
        char drain[64];
        while (::read(g_wake_pipe[0], drain, sizeof drain) > 0) {
        }
      }
      if (g_interrupted.load()) return ReadResult::kInterrupted;
      if (!(fds[0].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char chunk[4096];
      const ssize_t n = ::read(STDIN_FILENO, chunk, sizeof chunk);
      if (n > 0) {
        buffer_.append(chunk, static_cast<size_t>(n));
        continue;
      }
      if (n < 0 && errno == EINTR) {
        if (g_interrupted.load()) return ReadResult::kInterrupted;
        continue;
      }
      if (n < 0) return ReadResult::kEof;
      // EOF (Ctrl-D at the start of a line): a last unterminated line still counts.
      if (buffer_.empty()) return ReadResult::kEof;
      line = std::move(buffer_);
      buffer_.clear();
      return ReadResult::kLine;
    }
  }

 private:
  std::string buffer_;
};

void Out(std::string_view text) {
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
}

constexpr const char* kHelp =
    "  type text and press Enter: the model continues from everything so far\n"
    "  empty line: keep generating      /reset: forget everything (zero the state)\n"
    "  Ctrl-C: stop the current generation (at the prompt: quit)      Ctrl-D or /exit: quit\n";

}  // namespace

int RunInteractive(const CliOptions& options, Runtime& rt, Session& session, Sampler& sampler,
                   const GenerateOptions& gen_in, const std::vector<int32_t>& first_prompt,
                   const std::string& first_text) {
  const Tokenizer& tokenizer = *rt.tokenizer;
  GenerateOptions gen = gen_in;
  gen.cancel = &g_interrupted;
  gen.feed_last_token = true;
  InstallSigint();
  std::fprintf(stderr, "== interactive mode ==\n%s\n", kHelp);

  std::vector<int32_t> history;
  int64_t total_prompt = 0, total_gen = 0;
  double prompt_s = 0, gen_s = 0;
  bool at_line_start = true;

  // One turn: prefill `ids` on top of the state and stream the continuation.
  auto turn = [&](const std::vector<int32_t>& ids) -> bool {
    g_interrupted.store(false);
    auto r = Generate(session, sampler, &tokenizer, ids, history, gen,
                      [&](int32_t, std::string_view text) {
                        if (!text.empty()) {
                          Out(text);
                          at_line_start = text.back() == '\n';
                        }
                        return true;
                      });
    if (!r.ok()) {
      std::fprintf(stderr, "%smamba-cli: error: %s\n", at_line_start ? "" : "\n",
                   r.status().ToString().c_str());
      at_line_start = true;
      return false;
    }
    total_prompt += r->n_prompt;
    total_gen += static_cast<int64_t>(r->tokens.size());
    prompt_s += r->prompt_seconds;
    gen_s += r->generate_seconds;
    if (r->stop_reason == StopReason::kCancelled) {
      Out(at_line_start ? "[interrupted]\n" : " [interrupted]\n");
      at_line_start = true;
    }
    return true;
  };

  if (!first_prompt.empty()) {
    Out(first_text);
    at_line_start = first_text.empty() || first_text.back() == '\n';
    turn(first_prompt);
  }
  LineReader reader;
  std::string line;
  for (;;) {
    // Clear the flag before showing the prompt: a Ctrl-C typed as soon as "> " appears must
    // count (Read() also checks the flag before it blocks, closing the race with read()).
    g_interrupted.store(false);
    if (!at_line_start) Out("\n");
    Out("> ");
    at_line_start = false;
    const ReadResult got = reader.Read(line);
    if (got != ReadResult::kLine) {
      Out("\n");  // after "^C" or "^D", leave the terminal on a fresh line
      break;
    }
    at_line_start = true;  // the terminal echoed the Enter
    if (line == "/exit" || line == "/quit") break;
    if (line == "/help") {
      Out(kHelp);
      continue;
    }
    if (line == "/reset") {
      session.Reset();
      history.clear();
      Out("[state cleared]\n");
      continue;
    }
    if (line.empty()) {
      if (session.logits().empty()) continue;  // nothing yet to continue from
      turn({});
      continue;
    }
    turn(tokenizer.Encode(line + "\n"));
  }
  if (!options.no_stats) PrintTimings(rt.load_seconds, total_prompt, prompt_s, total_gen, gen_s);
  return 0;
}

}  // namespace mamba::cli
