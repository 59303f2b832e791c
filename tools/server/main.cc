// SPDX-License-Identifier: MIT
// mamba-server: an OpenAI-compatible HTTP server with continuous batching. Loads a model and its
// tokenizer, starts the BatchScheduler and serves the API (api.h) over cpp-httplib
// (http_transport.h) until SIGINT or SIGTERM.
#include <CLI/CLI.hpp>

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "api.h"
#include "http_transport.h"
#include "model/model.h"
#include "model_chat_template.h"
#include "server/batch_scheduler.h"
#include "threading/thread_pool.h"
#include "tokenizer/gguf_vocab.h"
#include "tokenizer/model_files.h"
#include "tokenizer/tokenizer.h"

namespace mamba::server {
namespace {

int Fail(const std::string& msg) {
  std::fprintf(stderr, "mamba-server: error: %s\n", msg.c_str());
  return 1;
}

// SIGINT / SIGTERM, whichever thread takes them, are written to this pipe; a watcher thread
// reads it. (Blocking the signals and sigwait-ing them instead only covers threads started after
// the mask is set; a BLAS library's own threads, started before main, would take the signal's
// default action and kill the process mid-response.)
int g_signal_pipe[2] = {-1, -1};

void OnStopSignal(int sig) {
  const char byte = static_cast<char>(sig);
  [[maybe_unused]] const ssize_t n = write(g_signal_pipe[1], &byte, 1);  // async-signal-safe
}

bool InstallStopSignals() {
  // (pipe + FD_CLOEXEC rather than pipe2, which macOS lacks.)
  if (pipe(g_signal_pipe) != 0) return false;
  for (int fd : g_signal_pipe) fcntl(fd, F_SETFD, FD_CLOEXEC);
  struct sigaction sa {};
  sa.sa_handler = OnStopSignal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  return sigaction(SIGINT, &sa, nullptr) == 0 && sigaction(SIGTERM, &sa, nullptr) == 0;
}

int Run(int argc, char** argv) {
  CLI::App app{"mamba-server: OpenAI-compatible HTTP API for Mamba models (docs/server.md)"};
  std::string model_path = "models", config_path, tokenizer_path, host = "127.0.0.1", api_key,
              alias, chat_template_path, chat_template_file;
  int port = 8080, parallel = 4, queue = 64, threads = 0, http_threads = 0;
  int32_t max_tokens_limit = 4096;
  size_t max_body = 1 << 20;
  app.add_option("-m,--model", model_path, "model directory or weights file (default: models)");
  app.add_option("-c,--config", config_path, "config.json (default: the model folder's)");
  bool no_mmap = false;
  app.add_flag("--no-mmap", no_mmap,
               "read the weights into memory instead of mapping them (slower load; decode then "
               "streams huge pages whatever state the page cache is in)");
  bool no_regroup = false;
  app.add_flag("--no-regroup,--no-repack", no_regroup, kNoRegroupHelp);
  app.add_option("--tokenizer", tokenizer_path, "tokenizer.json (default: the model folder's)");
  app.add_option("--host", host, "address to listen on (default 127.0.0.1)");
  app.add_option("--port", port, "port (default 8080; 0 = any free port)")
      ->check(CLI::Range(0, 65535));
  app.add_option("--parallel,--np", parallel, "sequences decoded together (default 4)")
      ->check(CLI::Range(1, 256));
  app.add_option("--queue", queue, "requests waiting beyond --parallel before 429 (default 64)")
      ->check(CLI::Range(0, 100000));
  auto* jinja_opt = app.add_option(
      "--chat-template-file", chat_template_file,
      "Jinja chat template for /v1/chat/completions (default: the model's own, docs/server.md)");
  app.add_option("--chat-template", chat_template_path,
                 "JSON chat template of plain parts (docs/server.md); replaces the model's own")
      ->excludes(jinja_opt);
  app.add_option("--api-key", api_key, "require 'Authorization: Bearer KEY' on /v1/*");
  app.add_option("--alias", alias, "model name reported by the API (default: the folder name)");
  app.add_option("--max-tokens-limit", max_tokens_limit,
                 "largest max_tokens accepted (default 4096)")
      ->check(CLI::Range(1, 1 << 24));
  app.add_option("--max-body", max_body, "largest request body in bytes (default 1 MiB)");
  app.add_option("-t,--threads", threads, "compute threads (default: physical cores)");
  app.add_option("--http-threads", http_threads,
                 "connections served at once (default: parallel + queue + 4, at most 256)");
  CLI11_PARSE(app, argc, argv);

  // Signals wake a watcher thread (below) through a pipe.
  if (!InstallStopSignals()) return Fail("cannot install the SIGINT / SIGTERM handlers");
  signal(SIGPIPE, SIG_IGN);

  auto loaded = Model::Load(model_path, config_path, no_mmap ? FileAccess::kRead : FileAccess::kMap,
                            !no_regroup);
  if (!loaded.ok()) return Fail(loaded.status().ToString());
  std::unique_ptr<Model> model = std::move(loaded).value();
  const std::string dir = model->checkpoint().dir;
  const GgufFile* gguf = model->checkpoint().gguf.get();
  // --tokenizer, else tokenizer.json in the model folder, else a GGUF's own vocabulary.
  auto tok = LoadTokenizerForModel(dir, tokenizer_path, gguf);
  if (!tok.ok()) return Fail(tok.status().ToString());
  const Tokenizer tokenizer = std::move(tok).value();
  auto ids = LoadGenerationTokenIds(dir, tokenizer);
  if (!ids.ok()) return Fail(ids.status().ToString());

  ThreadPool pool(threads > 0 ? threads : ThreadPool::DefaultThreadCount());
  SchedulerOptions sched_opt;
  sched_opt.max_slots = parallel;
  sched_opt.max_queue = queue;
  sched_opt.eos_ids =
      ids->eos.empty() ? std::vector<int32_t>{model->config().eos_token_id} : ids->eos;
  BatchScheduler scheduler(*model, &tokenizer, &pool, sched_opt);

  ApiOptions api_opt;
  api_opt.api_key = api_key;
  api_opt.max_tokens_limit = max_tokens_limit;
  api_opt.model_name = alias.empty() ? std::filesystem::path(dir).filename().string() : alias;
  if (api_opt.model_name.empty()) api_opt.model_name = "mamba";
  api_opt.bos_token = ids->bos.value_or(sched_opt.eos_ids.front());
  // The chat template: --chat-template-file (Jinja), --chat-template (JSON parts), the model's
  // own Jinja template, else the documented default.
  const SpecialTokenTexts special = FindSpecialTokenTexts(dir, gguf, tokenizer, *ids);
  if (!chat_template_file.empty()) {
    auto t = ChatTemplate::FromJinjaFile(chat_template_file, special.bos, special.eos);
    if (!t.ok()) return Fail(t.status().ToString());
    api_opt.chat_template = std::move(t).value();
  } else if (!chat_template_path.empty()) {
    auto t = ChatTemplate::FromFile(chat_template_path);
    if (!t.ok()) return Fail(t.status().ToString());
    api_opt.chat_template = std::move(t).value();
  } else {
    auto own = FindModelChatTemplate(dir, gguf);
    if (!own.ok()) return Fail(own.status().ToString());
    if (*own) {
      auto t = ChatTemplate::FromJinja((*own)->source, (*own)->origin, special.bos, special.eos);
      if (t.ok()) {
        api_opt.chat_template = std::move(t).value();
      } else {
        // A template using Jinja this interpreter lacks should not keep the server from running.
        std::fprintf(stderr,
                     "mamba-server: warning: cannot use the model's chat template (%s); "
                     "/v1/chat/completions uses the default template instead "
                     "(--chat-template-file FILE to give one)\n",
                     t.status().message().c_str());
      }
    }
  }
  std::fprintf(stderr, "mamba-server: chat template: %s\n", api_opt.chat_template.origin.c_str());
  Api api(scheduler, tokenizer, api_opt);

  HttpServerOptions http_opt;
  http_opt.host = host;
  http_opt.port = port;
  http_opt.max_body_bytes = max_body;
  http_opt.threads = http_threads > 0 ? http_threads : std::min(parallel + queue + 4, 256);
  http_opt.error_body = [](int status, const std::string& message) {
    return ErrorJson(message, ErrorTypeForStatus(status));
  };
  HttpServer http(http_opt);
  api.Register(http);
  if (Status st = http.Bind(); !st.ok()) return Fail(st.message());
  std::fprintf(stderr, "mamba-server: model '%s', %d slots, listening on http://%s:%d\n",
               api_opt.model_name.c_str(), parallel, host.c_str(), http.port());

  std::thread watcher([&] {
    char sig = 0;
    while (read(g_signal_pipe[0], &sig, 1) < 0 && errno == EINTR) {
    }
    // End every generation first so that waiting connections finish, then stop listening.
    scheduler.Shutdown();
    http.Stop();
  });
  http.Run();
  // Run also returns when listening fails; wake the watcher so it can be joined.
  OnStopSignal(SIGTERM);
  watcher.join();
  std::fprintf(stderr, "mamba-server: stopped\n");
  return 0;
}

}  // namespace
}  // namespace mamba::server

int main(int argc, char** argv) { return mamba::server::Run(argc, argv); }
