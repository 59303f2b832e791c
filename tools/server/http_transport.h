// SPDX-License-Identifier: MIT
// HttpServer: the HTTP transport of mamba-server, a small interface in front of cpp-httplib
// (which stays in http_transport.cc behind a pimpl). Handlers get a plain request and return a
// plain response, either a whole body or a stream written piece by piece (server-sent events).
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "base/status.h"

namespace mamba::server {

struct HttpRequest {
  std::string method;  // "GET", "POST"
  std::string path;
  std::string body;
  std::map<std::string, std::string> headers;  // names lower-cased

  // The value of header `name` (lower-case), or "".
  std::string Header(const std::string& name) const;
};

// Writes one piece of a streamed response. Returns false once the client is gone (the stream
// should then stop and release what it holds).
using StreamWrite = std::function<bool(std::string_view data)>;

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::map<std::string, std::string> headers;
  // When set, `body` is ignored and the response is sent chunked: `stream` runs on the
  // connection's thread and writes until it returns.
  std::function<void(const StreamWrite& write)> stream;
  // Called once when the connection is done with this response, whether or not `stream` ran
  // (the client may leave before it starts): the place to release what a stream holds.
  std::function<void()> on_close;
};

using HttpHandler = std::function<HttpResponse(const HttpRequest& request)>;

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;                  // 0 = any free port (see port())
  size_t max_body_bytes = 1 << 20;  // larger request bodies get 413
  int threads = 8;                  // connections served at once
  // The JSON body of errors the transport produces itself (404, 405, 413): called with the
  // status and a message.
  std::function<std::string(int status, const std::string& message)> error_body;
};

class HttpServer {
 public:
  explicit HttpServer(HttpServerOptions options);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Registers `handler` for `method` ("GET" or "POST") and the exact `path`. Call before Bind.
  void Handle(const std::string& method, const std::string& path, HttpHandler handler);

  // Binds the listening socket (IoError naming host:port on failure).
  Status Bind();
  // The bound port (after Bind).
  int port() const;
  // Serves until Stop() is called (from another thread or a signal-safe watcher). Call after Bind.
  void Run();
  // Stops Run; safe from any thread.
  void Stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mamba::server
