// SPDX-License-Identifier: MIT
// Test helper: an in-process HTTP server on 127.0.0.1 that answers like the Hugging Face Hub
// (/ORG/NAME/resolve/REV/FILE with X-Repo-Commit and ETag; LFS files 302 to /cdn/<etag> with
// X-Linked-Etag and X-Linked-Size; Range requests get 206; 404 with X-Error-Code; 401 for
// repositories that need a token), plus knobs to cut transfers short and a request log.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace mamba {

class FakeHub {
 public:
  // Starts serving on an ephemeral port; stops in the destructor.
  FakeHub();
  ~FakeHub();
  FakeHub(const FakeHub&) = delete;
  FakeHub& operator=(const FakeHub&) = delete;

  std::string endpoint() const;  // "http://127.0.0.1:<port>"
  int port() const;

  // Adds `filename` to `repo` (created on first use, branch "main"). LFS files are served the way
  // the Hub serves large files: a 302 from the resolve URL to the CDN path.
  void AddFile(const std::string& repo, const std::string& filename, std::string content, bool lfs);
  std::string Commit(const std::string& repo) const;  // 40 hex characters
  std::string Etag(const std::string& repo, const std::string& filename) const;  // unquoted

  // Requests for `repo` without "Authorization: Bearer <token>" get 401.
  void RequireToken(const std::string& repo, const std::string& token);
  // The next `times` body transfers of `filename` stop (the connection is closed) once the byte
  // at file offset `at` would be sent.
  void DropAfter(const std::string& filename, size_t at, int times);
  // Answer Range requests with the whole file and 200, like servers without Range support.
  void SetIgnoreRange(bool ignore);
  // Where LFS redirects point: "" = a relative "/cdn/..." Location; else an absolute origin such
  // as "http://localhost:<port>" (a different host as far as the client can tell).
  void SetCdnOrigin(const std::string& origin);

  struct Request {
    std::string method;         // "HEAD" or "GET"
    std::string path;           // decoded, without the query
    std::string range;          // the Range header, "" if none
    std::string authorization;  // the Authorization header, "" if none
  };
  std::vector<Request> requests() const;
  void ClearRequests();
  // Requests with this method whose path contains `path_part`.
  int Count(const std::string& method, const std::string& path_part) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mamba
