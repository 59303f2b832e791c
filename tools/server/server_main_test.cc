// SPDX-License-Identifier: MIT
// The mamba-server binary as a subprocess: it reports its port, answers, exits 0 on SIGTERM even
// with a stream running, and fails with a clear message (exit 1) on a bad model path or flag.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <thread>
#include <vector>

namespace {

struct Child {
  pid_t pid = -1;
  int err_fd = -1;  // the child's stderr
};

Child Spawn(std::vector<std::string> args) {
  args.insert(args.begin(), MAMBA_SERVER_PATH);
  int fds[2];
  EXPECT_EQ(pipe(fds), 0);
  Child c;
  c.pid = fork();
  if (c.pid == 0) {
    dup2(fds[1], 2);
    close(fds[0]);
    close(fds[1]);
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(fds[1]);
  c.err_fd = fds[0];
  return c;
}

// Reads the child's stderr until `pattern` matches or `seconds` pass; returns what was read.
std::string ReadUntil(int fd, const std::regex& pattern, int seconds) {
  std::string out;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (!std::regex_search(out, pattern) && std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    char buf[512];
    const ssize_t n = read(fd, buf, sizeof(buf));
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

int WaitExit(pid_t pid, int seconds) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  int status = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    if (waitpid(pid, &status, WNOHANG) == pid) {
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
  return -1;
}

TEST(ServerMainTest, ServesAndExitsCleanlyOnSigterm) {
  // (--no-mmap: the weights read into memory serve the same way.)
  Child c = Spawn({"-m", std::string(MAMBA_SOURCE_DIR) + "/models", "--port", "0", "-t", "1",
                   "--max-tokens-limit", "1000000", "--no-mmap"});
  const std::string err = ReadUntil(c.err_fd, std::regex("listening on http://[^:]+:(\\d+)"), 60);
  std::smatch m;
  ASSERT_TRUE(std::regex_search(err, m, std::regex("listening on http://[^:]+:(\\d+)"))) << err;
  const int port = std::stoi(m[1]);
  httplib::Client client("127.0.0.1", port);
  auto r = client.Get("/health");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  // A long stream is running when SIGTERM arrives: it is cancelled and the server exits.
  std::thread streamer([port] {
    httplib::Client c2("127.0.0.1", port);
    c2.set_read_timeout(60, 0);
    c2.Post("/v1/completions",
            R"({"prompt": "A", "max_tokens": 1000000, "ignore_eos": true, "stream": true})",
            "application/json");
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  kill(c.pid, SIGTERM);
  EXPECT_EQ(WaitExit(c.pid, 30), 0);
  streamer.join();
  close(c.err_fd);
}

// Starts the binary, returns its port (or -1) and the stderr read until it listens.
int StartAndPort(Child* c, std::vector<std::string> args, std::string* err) {
  *c = Spawn(std::move(args));
  *err = ReadUntil(c->err_fd, std::regex("listening on http://[^:]+:(\\d+)"), 60);
  std::smatch m;
  if (!std::regex_search(*err, m, std::regex("listening on http://[^:]+:(\\d+)"))) return -1;
  return std::stoi(m[1]);
}

TEST(ServerMainTest, ChatTemplateFromTheModelOrAFile) {
  namespace fs = std::filesystem;
  // The demo model plus a tokenizer_config.json carrying a Jinja chat_template.
  const fs::path dir = fs::temp_directory_path() / ("mamba_server_tpl_" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  for (const char* f : {"config.json", "model.safetensors", "tokenizer.json"}) {
    fs::create_symlink(fs::path(MAMBA_SOURCE_DIR) / "models" / f, dir / f);
  }
  std::ofstream(dir / "tokenizer_config.json")
      << R"({"eos_token": "<|endoftext|>", "chat_template": "{% for m in messages %})"
      << R"({{ m.role }}> {{ m.content }}\n{% endfor %}{% if add_generation_prompt %}assistant>{% endif %}"})";
  Child c;
  std::string err;
  int port = StartAndPort(&c, {"-m", dir.string(), "--port", "0", "-t", "1"}, &err);
  ASSERT_GT(port, 0) << err;
  EXPECT_NE(err.find("chat template: '" + (dir / "tokenizer_config.json").string() +
                     "' chat_template"),
            std::string::npos)
      << err;
  {
    httplib::Client client("127.0.0.1", port);
    client.set_read_timeout(60, 0);
    auto r = client.Post("/v1/chat/completions",
                         R"({"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 4})",
                         "application/json");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << r->body;
  }
  kill(c.pid, SIGTERM);
  EXPECT_EQ(WaitExit(c.pid, 30), 0);
  close(c.err_fd);

  // --chat-template-file wins over the model's own; its raise_exception is a 400.
  const std::string mistral =
      std::string(MAMBA_SOURCE_DIR) + "/tests/data/chat_templates/mistral.jinja";
  port = StartAndPort(&c, {"-m", dir.string(), "--port", "0", "-t", "1", "--chat-template-file",
                           mistral}, &err);
  ASSERT_GT(port, 0) << err;
  EXPECT_NE(err.find("chat template: '" + mistral + "'"), std::string::npos) << err;
  {
    httplib::Client client("127.0.0.1", port);
    client.set_read_timeout(60, 0);
    auto r = client.Post("/v1/chat/completions",
                         R"({"messages": [{"role": "system", "content": "S"}], "max_tokens": 4})",
                         "application/json");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400) << r->body;
    EXPECT_NE(r->body.find("Conversation roles must alternate"), std::string::npos) << r->body;
  }
  kill(c.pid, SIGTERM);
  EXPECT_EQ(WaitExit(c.pid, 30), 0);
  close(c.err_fd);

  // A template this interpreter cannot parse: a warning, and the default template.
  std::ofstream(dir / "tokenizer_config.json") << R"({"chat_template": "{% frobnicate %}"})";
  port = StartAndPort(&c, {"-m", dir.string(), "--port", "0", "-t", "1"}, &err);
  ASSERT_GT(port, 0) << err;
  EXPECT_NE(err.find("warning: cannot use the model's chat template"), std::string::npos) << err;
  EXPECT_NE(err.find("chat template: default"), std::string::npos) << err;
  kill(c.pid, SIGTERM);
  EXPECT_EQ(WaitExit(c.pid, 30), 0);
  close(c.err_fd);
  // --chat-template-file with a syntax error stops the server.
  c = Spawn({"-m", dir.string(), "--port", "0", "--chat-template-file",
             (dir / "tokenizer_config.json").string()});
  err = ReadUntil(c.err_fd, std::regex("error"), 30);
  EXPECT_EQ(WaitExit(c.pid, 30), 1);
  close(c.err_fd);
  fs::remove_all(dir);
}

TEST(ServerMainTest, BadModelOrFlagFails) {
  Child c = Spawn({"-m", "/nonexistent/model", "--port", "0"});
  const std::string err = ReadUntil(c.err_fd, std::regex("error"), 30);
  EXPECT_EQ(WaitExit(c.pid, 30), 1);
  EXPECT_NE(err.find("mamba-server: error:"), std::string::npos) << err;
  close(c.err_fd);
  c = Spawn({"--parallel", "0"});
  EXPECT_NE(WaitExit(c.pid, 30), 0);
  close(c.err_fd);
}

}  // namespace
