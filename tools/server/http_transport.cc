// SPDX-License-Identifier: MIT
// HttpServer on cpp-httplib: routes, body limit, JSON bodies for transport errors, chunked
// streaming through a blocking provider that runs the handler's stream function once.
#include "http_transport.h"

#include <httplib.h>
#include <sys/socket.h>

#include <algorithm>

#include "base/ascii.h"

namespace mamba::server {

std::string HttpRequest::Header(const std::string& name) const {
  auto it = headers.find(name);
  return it == headers.end() ? std::string() : it->second;
}

struct HttpServer::Impl {
  HttpServerOptions options;
  httplib::Server server;
  int port = 0;
  int listen_fd = -1;  // the socket httplib created last (the one that bound)
};

namespace {

HttpRequest Convert(const httplib::Request& req) {
  HttpRequest r;
  r.method = req.method;
  r.path = req.path;
  r.body = req.body;
  for (const auto& [k, v] : req.headers) r.headers[AsciiLower(k)] = v;
  return r;
}

void Apply(HttpResponse response, httplib::Response& res) {
  res.status = response.status;
  for (const auto& [k, v] : response.headers) res.set_header(k, v);
  if (!response.stream) {
    res.set_content(response.body, response.content_type);
    if (response.on_close) response.on_close();
    return;
  }
  auto stream =
      std::make_shared<std::function<void(const StreamWrite&)>>(std::move(response.stream));
  res.set_chunked_content_provider(
      response.content_type,
      [stream](size_t, httplib::DataSink& sink) {
        const StreamWrite write = [&sink](std::string_view data) {
          return sink.write(data.data(), data.size());
        };
        (*stream)(write);
        sink.done();
        return true;
      },
      [on_close = std::move(response.on_close)](bool) {
        if (on_close) on_close();
      });
}

}  // namespace

HttpServer::HttpServer(HttpServerOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  const int threads = std::max(impl_->options.threads, 2);
  impl_->server.new_task_queue = [threads] {
    return new httplib::ThreadPool(static_cast<size_t>(threads));
  };
  impl_->server.set_payload_max_length(impl_->options.max_body_bytes);
  // Remember the listening socket: httplib (Debian's compiled 0.11) listens with a backlog of 5,
  // so a burst of new connections (8 streaming clients at once) overflows the accept queue and
  // the kernel drops SYNs, which clients retry only after a second. Bind() enlarges it.
  impl_->server.set_socket_options([impl = impl_.get()](socket_t sock) {
    httplib::default_socket_options(sock);
    impl->listen_fd = sock;
  });
  // Bodies for the errors httplib answers by itself (unknown path, body too large, ...); a
  // handler's own error bodies are kept.
  auto error_body = impl_->options.error_body;
  const httplib::Server::HandlerWithResponse on_error = [error_body](const httplib::Request&,
                                                                     httplib::Response& res) {
    if (!res.body.empty() || !error_body) return httplib::Server::HandlerResponse::Unhandled;
    std::string message;
    switch (res.status) {
      case 404:
        message = "no such endpoint";
        break;
      case 413:
        message = "the request body is too large";
        break;
      default:
        message = "HTTP error " + std::to_string(res.status);
    }
    res.set_content(error_body(res.status, message), "application/json");
    return httplib::Server::HandlerResponse::Handled;
  };
  impl_->server.set_error_handler(on_error);
}

HttpServer::~HttpServer() { Stop(); }

void HttpServer::Handle(const std::string& method, const std::string& path, HttpHandler handler) {
  if (method == "GET") {
    impl_->server.Get(
        path, [handler = std::move(handler)](const httplib::Request& req, httplib::Response& res) {
          Apply(handler(Convert(req)), res);
        });
    return;
  }
  // POST bodies are read here, not by httplib, because httplib 0.11 applies its payload limit
  // only to bodies with a Content-Length: a chunked body could grow without bound. Reading stops
  // at the limit and the connection is closed after the 413.
  const size_t limit = impl_->options.max_body_bytes;
  auto error_body = impl_->options.error_body;
  const httplib::Server::HandlerWithContentReader h =
      [handler = std::move(handler), limit, error_body](const httplib::Request& req,
                                                        httplib::Response& res,
                                                        const httplib::ContentReader& reader) {
        std::string body;
        bool too_large = false;
        const bool read_ok = reader([&](const char* data, size_t n) {
          if (body.size() + n > limit) {
            too_large = true;
            return false;
          }
          body.append(data, n);
          return true;
        });
        // httplib refuses a Content-Length over its own limit (set to the same) before reading.
        too_large = too_large || (req.has_header("Content-Length") &&
                                  req.get_header_value<uint64_t>("Content-Length") > limit);
        if (too_large || !read_ok) {
          const int status = too_large ? 413 : 400;
          res.status = status;
          res.set_header("Connection", "close");
          if (error_body) {
            res.set_content(error_body(status, too_large ? "the request body is too large"
                                                         : "the request body could not be read"),
                            "application/json");
          }
          return;
        }
        HttpRequest r = Convert(req);
        r.body = std::move(body);
        Apply(handler(r), res);
      };
  impl_->server.Post(path, h);
}

Status HttpServer::Bind() {
  const HttpServerOptions& o = impl_->options;
  if (o.port == 0) {
    impl_->port = impl_->server.bind_to_any_port(o.host);
    if (impl_->port < 0) impl_->port = 0;
  } else if (impl_->server.bind_to_port(o.host, o.port)) {
    impl_->port = o.port;
  }
  if (impl_->port <= 0) {
    return IoError("cannot listen on " + o.host + ":" + std::to_string(o.port) +
                   " (address in use or not available)");
  }
  // listen() again on a listening socket sets a new backlog (Linux, the BSDs, macOS).
  if (impl_->listen_fd >= 0) ::listen(impl_->listen_fd, SOMAXCONN);
  return Status::Ok();
}

int HttpServer::port() const { return impl_->port; }

void HttpServer::Run() { impl_->server.listen_after_bind(); }

void HttpServer::Stop() { impl_->server.stop(); }

}  // namespace mamba::server
