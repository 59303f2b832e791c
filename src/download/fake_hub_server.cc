// SPDX-License-Identifier: MIT
// FakeHub: cpp-httplib server thread imitating the Hub's resolve/CDN protocol for the tests.
#include "download/fake_hub_server.h"

#include <httplib.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <map>
#include <mutex>
#include <thread>

namespace mamba {

namespace {

// A deterministic hex digest standing in for git/LFS hashes (FNV-1a with per-round seeds).
std::string HexDigest(const std::string& data, int hex_chars, uint64_t salt) {
  std::string out;
  for (uint64_t round = 0; static_cast<int>(out.size()) < hex_chars; ++round) {
    uint64_t h = 1469598103934665603ull ^ (salt * 0x9E3779B97F4A7C15ull) ^ round;
    for (unsigned char c : data) h = (h ^ c) * 1099511628211ull;
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
    out += buf;
  }
  out.resize(hex_chars);
  return out;
}

struct RepoFile {
  std::string content;
  bool lfs = false;
  std::string etag;
};

struct Repo {
  std::string commit;
  std::string token;
  std::map<std::string, RepoFile> files;
};

}  // namespace

struct FakeHub::Impl {
  httplib::Server server;
  std::thread thread;
  int port = 0;
  mutable std::mutex mu;
  std::map<std::string, Repo> repos;
  std::map<std::string, std::pair<size_t, int>> drops;  // filename -> (offset, times left)
  bool ignore_range = false;
  std::string cdn_origin;
  std::vector<Request> log;

  void Record(const httplib::Request& req) {
    std::lock_guard<std::mutex> lock(mu);
    log.push_back({req.method, req.path, req.get_header_value("Range"),
                   req.get_header_value("Authorization")});
  }

  // Serves `content` (named `filename` for the drop rules) with Range support.
  void ServeBody(const httplib::Request& req, httplib::Response& res, const std::string& content,
                 const std::string& filename) {
    size_t drop_at = SIZE_MAX;
    bool ignore;
    {
      std::lock_guard<std::mutex> lock(mu);
      ignore = ignore_range;
      auto it = drops.find(filename);
      if (req.method == "GET" && it != drops.end() && it->second.second > 0) {
        drop_at = it->second.first;
        --it->second.second;
      }
    }
    auto data = std::make_shared<std::string>(content);
    if (ignore && req.has_header("Range")) {
      res.status = 200;
      res.set_chunked_content_provider("application/octet-stream",
                                       [data, drop_at](size_t offset, httplib::DataSink& sink) {
                                         if (offset >= data->size()) {
                                           sink.done();
                                           return true;
                                         }
                                         size_t n = std::min<size_t>(data->size() - offset, 4096);
                                         if (offset + n > drop_at) return false;
                                         sink.write(data->data() + offset, n);
                                         return true;
                                       });
      return;
    }
    res.set_content_provider(
        data->size(), "application/octet-stream",
        [data, drop_at](size_t offset, size_t length, httplib::DataSink& sink) {
          size_t n = std::min<size_t>(length, 4096);
          if (offset < drop_at && offset + n > drop_at) n = drop_at - offset;
          if (offset >= drop_at) return false;  // close the connection mid-body
          sink.write(data->data() + offset, n);
          return true;
        });
  }

  void Resolve(const httplib::Request& req, httplib::Response& res) {
    Record(req);
    const std::string repo_id = req.matches[1].str() + "/" + req.matches[2].str();
    const std::string revision = req.matches[3], filename = req.matches[4];
    std::unique_lock<std::mutex> lock(mu);
    auto repo = repos.find(repo_id);
    if (repo == repos.end()) {
      res.status = 404;
      res.set_header("X-Error-Code", "RepoNotFound");
      res.set_content("Repository not found", "text/plain");
      return;
    }
    if (!repo->second.token.empty() &&
        req.get_header_value("Authorization") != "Bearer " + repo->second.token) {
      res.status = 401;
      res.set_header("X-Error-Code", "RepoNotFound");
      res.set_content("Invalid username or password.", "text/plain");
      return;
    }
    if (revision != "main" && revision != repo->second.commit) {
      res.status = 404;
      res.set_header("X-Error-Code", "RevisionNotFound");
      return;
    }
    res.set_header("X-Repo-Commit", repo->second.commit);
    auto file = repo->second.files.find(filename);
    if (file == repo->second.files.end()) {
      res.status = 404;
      res.set_header("X-Error-Code", "EntryNotFound");
      res.set_content("Entry not found", "text/plain");
      return;
    }
    const RepoFile f = file->second;
    const std::string cdn = cdn_origin;
    lock.unlock();
    if (f.lfs) {
      res.status = 302;
      res.set_header("Location", cdn + "/cdn/" + f.etag + "?X-Signature=abc");
      res.set_header("ETag", "\"" + HexDigest(f.etag, 40, 7) + "\"");  // the pointer file's
      res.set_header("X-Linked-Etag", "\"" + f.etag + "\"");
      res.set_header("X-Linked-Size", std::to_string(f.content.size()));
      return;
    }
    res.set_header("ETag", "W/\"" + f.etag + "\"");
    ServeBody(req, res, f.content, filename);
  }

  void Cdn(const httplib::Request& req, httplib::Response& res) {
    Record(req);
    const std::string etag = req.matches[1];
    std::unique_lock<std::mutex> lock(mu);
    for (const auto& [id, repo] : repos) {
      for (const auto& [name, file] : repo.files) {
        if (file.etag != etag) continue;
        const std::string content = file.content, filename = name;
        lock.unlock();
        res.set_header("ETag", "\"" + etag + "\"");
        ServeBody(req, res, content, filename);
        return;
      }
    }
    res.status = 404;
  }
};

FakeHub::FakeHub() : impl_(std::make_unique<Impl>()) {
  Impl* impl = impl_.get();
  impl->server.Get(R"(/cdn/([^/]+))", [impl](const httplib::Request& req, httplib::Response& res) {
    impl->Cdn(req, res);
  });
  impl->server.Get(
      R"(/([^/]+)/([^/]+)/resolve/([^/]+)/(.+))",
      [impl](const httplib::Request& req, httplib::Response& res) { impl->Resolve(req, res); });
  impl->port = impl->server.bind_to_any_port("127.0.0.1");
  impl->thread = std::thread([impl] { impl->server.listen_after_bind(); });
}

FakeHub::~FakeHub() {
  impl_->server.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

std::string FakeHub::endpoint() const { return "http://127.0.0.1:" + std::to_string(port()); }
int FakeHub::port() const { return impl_->port; }

void FakeHub::AddFile(const std::string& repo, const std::string& filename, std::string content,
                      bool lfs) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  Repo& r = impl_->repos[repo];
  if (r.commit.empty()) r.commit = HexDigest(repo, 40, 1);
  RepoFile& f = r.files[filename];
  f.etag = HexDigest(content + filename, lfs ? 64 : 40, 2);
  f.content = std::move(content);
  f.lfs = lfs;
}

std::string FakeHub::Commit(const std::string& repo) const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->repos.at(repo).commit;
}

std::string FakeHub::Etag(const std::string& repo, const std::string& filename) const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->repos.at(repo).files.at(filename).etag;
}

void FakeHub::RequireToken(const std::string& repo, const std::string& token) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->repos[repo].token = token;
}

void FakeHub::DropAfter(const std::string& filename, size_t at, int times) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->drops[filename] = {at, times};
}

void FakeHub::SetIgnoreRange(bool ignore) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->ignore_range = ignore;
}

void FakeHub::SetCdnOrigin(const std::string& origin) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->cdn_origin = origin;
}

std::vector<FakeHub::Request> FakeHub::requests() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->log;
}

void FakeHub::ClearRequests() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->log.clear();
}

int FakeHub::Count(const std::string& method, const std::string& path_part) const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return static_cast<int>(
      std::count_if(impl_->log.begin(), impl_->log.end(), [&](const Request& r) {
        return r.method == method && r.path.find(path_part) != std::string::npos;
      }));
}

}  // namespace mamba
