// SPDX-License-Identifier: MIT
// The OpenAI-compatible API of mamba-server on top of the BatchScheduler: request parsing and
// validation, /v1/completions and /v1/chat/completions (whole responses or server-sent events
// ending in "data: [DONE]"), /v1/models, /health, /metrics, API-key checks and OpenAI-shaped
// error bodies. Knows nothing about sockets (see http_transport.h).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "chat_template.h"
#include "http_transport.h"
#include "server/batch_scheduler.h"
#include "tokenizer/tokenizer.h"

namespace mamba::server {

struct ApiOptions {
  std::string model_name = "mamba";  // reported by /v1/models and in every response
  std::string api_key;              // when set, /v1/* and /metrics need "Authorization: Bearer KEY"
  int32_t max_tokens_limit = 4096;  // larger max_tokens are refused (400)
  int32_t default_completion_max_tokens = 16;  // OpenAI's default for /v1/completions
  int32_t default_chat_max_tokens = 256;
  int32_t bos_token = 0;  // the prompt used when a completion prompt is empty
  ChatTemplate chat_template;
};

// OpenAI's error shape: {"error": {"message", "type", "param", "code"}}. `param` may be "".
std::string ErrorJson(const std::string& message, const std::string& type,
                      const std::string& param = "", const std::string& code = "");
// The error type OpenAI uses for an HTTP status (400 "invalid_request_error", 401
// "authentication_error", 404 "not_found_error", 413 "invalid_request_error", 429
// "rate_limit_error", 5xx "server_error").
std::string ErrorTypeForStatus(int status);

class Api {
 public:
  // `scheduler` and `tokenizer` must outlive the Api (and the HttpServer it is registered on).
  Api(BatchScheduler& scheduler, const Tokenizer& tokenizer, ApiOptions options);

  // Adds every route to `http`.
  void Register(HttpServer& http);

  // The handlers, public for tests that skip the transport.
  HttpResponse Health(const HttpRequest& request);
  HttpResponse Models(const HttpRequest& request);
  HttpResponse Metrics(const HttpRequest& request);
  HttpResponse Completions(const HttpRequest& request, bool chat);

 private:
  // A 401 response when an API key is set and `request` does not carry it; status 0 otherwise.
  HttpResponse CheckAuth(const HttpRequest& request) const;

  BatchScheduler& scheduler_;
  const Tokenizer& tokenizer_;
  ApiOptions options_;
  std::atomic<uint64_t> next_id_{1};
  std::chrono::steady_clock::time_point started_;
  std::mutex rate_mu_;  // guards the two fields below (tok/s between scrapes)
  std::chrono::steady_clock::time_point last_scrape_;
  int64_t last_generated_ = 0;
};

}  // namespace mamba::server
