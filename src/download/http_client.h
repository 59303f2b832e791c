// SPDX-License-Identifier: MIT
// A minimal blocking HTTP(S) client for the downloader: one HEAD or one streamed GET per call, no
// automatic redirects (the caller decides where to go and which headers to keep). Layer: download;
// cpp-httplib stays inside http_client.cc.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace mamba {

// Header names are stored lowercase.
using HttpHeaders = std::map<std::string, std::string>;

struct HttpResponse {
  int status = 0;
  HttpHeaders headers;
  // The header value, or "" when absent. `name` is matched case-insensitively.
  std::string Header(std::string_view name) const;
};

// The parts of an absolute http:// or https:// URL.
struct Url {
  std::string scheme;          // "http" or "https"
  std::string host;            // without port
  int port = 0;                // explicit or the scheme's default
  std::string target;          // path + query, starting with '/'
  std::string Origin() const;  // scheme://host[:port]
};

// Parses an absolute URL. Fails on other schemes or a missing host.
StatusOr<Url> ParseUrl(std::string_view url);

// Resolves a redirect's Location (absolute, "//host/...", "/path" or a relative path) against the
// URL it came from.
std::string ResolveLocation(const Url& base, std::string_view location);

// Percent-encodes a repository path, keeping '/' and the RFC 3986 unreserved characters.
std::string EncodePath(std::string_view path);

// How a transfer failed before any HTTP status was seen.
enum class HttpFailure { kNone, kConnect, kTransfer };

struct HttpOptions {
  int connect_timeout_s = 10;
  int read_timeout_s = 60;
};

// Sends HEAD `url` with `headers`. A non-OK Status means no response arrived (see `failure`).
StatusOr<HttpResponse> HttpHead(const std::string& url, const HttpHeaders& headers,
                                const HttpOptions& options, HttpFailure* failure);

// Sends GET `url`. `on_response` sees the status and headers first; returning false stops before
// the body. `on_data` gets the body in pieces; returning false aborts the transfer. A non-OK
// Status means the request or the body transfer failed (see `failure`); an aborted transfer is
// reported as kTransfer too. HTTP error statuses are not failures: they come back in the response.
StatusOr<HttpResponse> HttpGet(const std::string& url, const HttpHeaders& headers,
                               const HttpOptions& options,
                               const std::function<bool(const HttpResponse&)>& on_response,
                               const std::function<bool(const char*, size_t)>& on_data,
                               HttpFailure* failure);

}  // namespace mamba
