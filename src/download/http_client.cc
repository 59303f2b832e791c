// SPDX-License-Identifier: MIT
// HTTP(S) transport for the downloader on top of cpp-httplib (built with OpenSSL by Debian, so
// https:// endpoints work). The only file that includes httplib.h in the library.
#include "download/http_client.h"

#include <httplib.h>

#include <cctype>

#include "base/ascii.h"

namespace mamba {

namespace {

HttpResponse Convert(const httplib::Response& res) {
  HttpResponse out;
  out.status = res.status;
  for (const auto& [name, value] : res.headers) out.headers.emplace(AsciiLower(name), value);
  return out;
}

httplib::Headers ToHttplib(const HttpHeaders& headers) {
  httplib::Headers out;
  for (const auto& [name, value] : headers) out.emplace(name, value);
  // The downloader wants the bytes as stored: exact Content-Length and byte ranges.
  if (headers.find("Accept-Encoding") == headers.end()) out.emplace("Accept-Encoding", "identity");
  return out;
}

std::unique_ptr<httplib::Client> MakeClient(const Url& url, const HttpOptions& options) {
  auto client = std::make_unique<httplib::Client>(url.Origin());
  client->set_follow_location(false);
  client->set_url_encode(false);
  client->set_decompress(false);
  client->set_keep_alive(false);
  client->set_connection_timeout(options.connect_timeout_s, 0);
  client->set_read_timeout(options.read_timeout_s, 0);
  return client;
}

Status Failed(const Url& url, httplib::Error error, HttpFailure* failure) {
  const bool connect =
      error == httplib::Error::Connection || error == httplib::Error::ConnectionTimeout ||
      error == httplib::Error::BindIPAddress || error == httplib::Error::SSLConnection ||
      error == httplib::Error::SSLLoadingCerts || error == httplib::Error::SSLServerVerification;
  if (failure) *failure = connect ? HttpFailure::kConnect : HttpFailure::kTransfer;
  return IoError((connect ? "cannot connect to " : "transfer from ") + url.Origin() +
                 (connect ? "" : " failed") + " (" + httplib::to_string(error) + ")");
}

int DefaultPort(std::string_view scheme) { return scheme == "https" ? 443 : 80; }

}  // namespace

std::string HttpResponse::Header(std::string_view name) const {
  auto it = headers.find(AsciiLower(name));
  return it == headers.end() ? std::string() : it->second;
}

std::string Url::Origin() const {
  std::string out = scheme + "://" + host;
  if (port != DefaultPort(scheme)) out += ":" + std::to_string(port);
  return out;
}

StatusOr<Url> ParseUrl(std::string_view url) {
  Url out;
  const size_t sep = url.find("://");
  if (sep == std::string_view::npos)
    return InvalidArgumentError("not an absolute URL: '" + std::string(url) + "'");
  out.scheme = AsciiLower(url.substr(0, sep));
  if (out.scheme != "http" && out.scheme != "https") {
    return InvalidArgumentError("unsupported URL scheme in '" + std::string(url) +
                                "' (use http:// or https://)");
  }
  std::string_view rest = url.substr(sep + 3);
  const size_t path_start = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, path_start);
  out.target = path_start == std::string_view::npos ? "/" : std::string(rest.substr(path_start));
  if (const size_t hash = out.target.find('#'); hash != std::string::npos) out.target.resize(hash);
  if (out.target.empty() || out.target[0] != '/') out.target = "/" + out.target;
  if (const size_t at = authority.rfind('@'); at != std::string_view::npos) {
    authority.remove_prefix(at + 1);  // user:password@ is not supported; drop it
  }
  out.port = DefaultPort(out.scheme);
  const size_t colon = authority.rfind(':');
  if (colon != std::string_view::npos && authority.find(']', colon) == std::string_view::npos) {
    const std::string port(authority.substr(colon + 1));
    authority = authority.substr(0, colon);
    char* end = nullptr;
    const long v = std::strtol(port.c_str(), &end, 10);
    if (port.empty() || *end != '\0' || v <= 0 || v > 65535) {
      return InvalidArgumentError("bad port in URL '" + std::string(url) + "'");
    }
    out.port = static_cast<int>(v);
  }
  out.host = std::string(authority);
  if (out.host.empty()) return InvalidArgumentError("no host in URL '" + std::string(url) + "'");
  return out;
}

std::string ResolveLocation(const Url& base, std::string_view location) {
  if (location.find("://") != std::string_view::npos) return std::string(location);
  if (location.substr(0, 2) == "//") return base.scheme + ":" + std::string(location);
  if (!location.empty() && location[0] == '/') return base.Origin() + std::string(location);
  std::string dir = base.target.substr(0, base.target.find('?'));
  dir = dir.substr(0, dir.rfind('/') + 1);
  return base.Origin() + dir + std::string(location);
}

std::string EncodePath(std::string_view path) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : path) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == '/') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

StatusOr<HttpResponse> HttpHead(const std::string& url, const HttpHeaders& headers,
                                const HttpOptions& options, HttpFailure* failure) {
  if (failure) *failure = HttpFailure::kNone;
  MAMBA_ASSIGN_OR_RETURN(Url parsed, ParseUrl(url));
  auto client = MakeClient(parsed, options);
  httplib::Result res = client->Head(parsed.target.c_str(), ToHttplib(headers));
  if (!res) return Failed(parsed, res.error(), failure);
  return Convert(res.value());
}

StatusOr<HttpResponse> HttpGet(const std::string& url, const HttpHeaders& headers,
                               const HttpOptions& options,
                               const std::function<bool(const HttpResponse&)>& on_response,
                               const std::function<bool(const char*, size_t)>& on_data,
                               HttpFailure* failure) {
  if (failure) *failure = HttpFailure::kNone;
  MAMBA_ASSIGN_OR_RETURN(Url parsed, ParseUrl(url));
  auto client = MakeClient(parsed, options);
  HttpResponse seen;
  bool stopped_by_caller = false;
  httplib::Result res = client->Get(
      parsed.target.c_str(), ToHttplib(headers),
      [&](const httplib::Response& r) {
        seen = Convert(r);
        if (on_response && !on_response(seen)) {
          stopped_by_caller = true;
          return false;
        }
        return true;
      },
      [&](const char* data, size_t n) { return on_data(data, n); });
  if (stopped_by_caller) return seen;
  if (!res) return Failed(parsed, res.error(), failure);
  return Convert(res.value());
}

}  // namespace mamba
