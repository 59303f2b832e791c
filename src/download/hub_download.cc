// SPDX-License-Identifier: MIT
// One file from the Hub into the cache, following huggingface_hub's protocol: HEAD
// {endpoint}/{repo}/resolve/{revision}/{file} for X-Repo-Commit / X-Linked-Etag / X-Linked-Size
// (a 302 to the CDN carries them), then GET the blob into blobs/<etag>.incomplete, resuming with
// Range, rename, and link snapshots/<commit>/<file> to it.
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <thread>

#include "download/fetch_file.h"
#include "download/hf_cache.h"
#include "download/http_client.h"
#include "io/mapped_file.h"

namespace mamba {

namespace fs = std::filesystem;

namespace {

constexpr int kMaxRedirects = 10;

struct FileMetadata {
  std::string commit;
  std::string etag;
  std::string download_url;
  uint64_t size = 0;
  bool has_size = false;
};

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

bool EnvTrue(const char* name) {
  const std::string v = Env(name);
  return v == "1" || v == "ON" || v == "on" || v == "true" || v == "TRUE" || v == "YES" ||
         v == "yes";
}

bool ParseU64(const std::string& s, uint64_t* out) {
  if (s.empty()) return false;
  char* end = nullptr;
  errno = 0;
  const unsigned long long v = std::strtoull(s.c_str(), &end, 10);
  if (*end != '\0' || errno != 0 || s[0] == '-') return false;
  *out = v;
  return true;
}

// Headers for a request to `url`: the token only goes to the endpoint's own origin, never to a
// CDN host a redirect points at.
HttpHeaders RequestHeaders(const DownloadOptions& options, const std::string& url) {
  HttpHeaders headers{{"User-Agent", "mamba-ssm/0.1; cpp-httplib"}};
  if (options.token.empty()) return headers;
  StatusOr<Url> target = ParseUrl(url);
  StatusOr<Url> endpoint = ParseUrl(options.endpoint);
  if (target.ok() && endpoint.ok() && target->Origin() == endpoint->Origin()) {
    headers["Authorization"] = "Bearer " + options.token;
  }
  return headers;
}

HttpOptions ToHttpOptions(const DownloadOptions& options) {
  HttpOptions out;
  out.connect_timeout_s = options.connect_timeout_s;
  out.read_timeout_s = options.read_timeout_s;
  return out;
}

Status Unreachable(const DownloadOptions& options, const Status& cause) {
  return IoError(cause.message() + ": check your network, set HF_ENDPOINT to a reachable mirror " +
                 "(now " + options.endpoint +
                 "), or set HF_HUB_OFFLINE=1 to use cached files only");
}

// Maps an HTTP error status to a one-line Status; sets `missing` for 404s.
Status HttpError(const HttpResponse& res, const std::string& repo_id, const std::string& filename,
                 const DownloadOptions& options, Missing* missing) {
  const std::string code = res.Header("X-Error-Code");
  const std::string where = " on " + options.endpoint;
  const std::string repo = "repository '" + repo_id + "'";
  if (res.status == 404) {
    if (code == "RepoNotFound") {
      *missing = Missing::kRepo;
      return NotFoundError(repo + " not found" + where + " (or it is private: set HF_TOKEN)");
    }
    if (code == "RevisionNotFound") {
      *missing = Missing::kRevision;
      return NotFoundError("revision '" + options.revision + "' not found in " + repo + where);
    }
    *missing = code == "EntryNotFound" ? Missing::kEntry : Missing::kUnknown404;
    return NotFoundError(repo + " has no file '" + filename + "' at revision '" + options.revision +
                         "'" + where);
  }
  if (res.status == 401) {
    if (options.token.empty()) {
      return InvalidArgumentError(repo + where + " needs authentication (private, gated or " +
                                  "missing): set HF_TOKEN to an access token that can read it");
    }
    return InvalidArgumentError(repo + where + " rejected the token in HF_TOKEN (HTTP 401): " +
                                "check that it is valid and can read this repository");
  }
  if (res.status == 403) {
    return InvalidArgumentError(
        "access to " + repo + where + " is forbidden (HTTP 403): " +
        (options.token.empty() ? std::string("set HF_TOKEN, and ")
                               : std::string("check the token's permissions in HF_TOKEN, and ")) +
        "accept the model's terms on its page if it is gated");
  }
  if (res.status == 416) {
    return DataLossError("'" + filename + "' from " + repo +
                         ": the server refused the resume range");
  }
  if (res.status == 429 || res.status >= 500) {
    return IoError(options.endpoint + " answered HTTP " + std::to_string(res.status) + " for '" +
                   filename + "' of " + repo + ": try again later");
  }
  return IoError("unexpected HTTP " + std::to_string(res.status) + " from " + options.endpoint +
                 " for '" + filename + "' of " + repo);
}

// HEADs the resolve URL, following redirects that carry no Hub metadata (renamed repositories),
// and stops at the first response that has it (a 302 to the CDN, or the 200 itself).
StatusOr<FileMetadata> GetMetadata(const std::string& repo_id, const std::string& filename,
                                   const DownloadOptions& options, Missing* missing,
                                   HttpFailure* failure) {
  std::string url = options.endpoint + "/" + repo_id + "/resolve/" + EncodePath(options.revision) +
                    "/" + EncodePath(filename);
  for (int hop = 0; hop <= kMaxRedirects; ++hop) {
    MAMBA_ASSIGN_OR_RETURN(HttpResponse res, HttpHead(url, RequestHeaders(options, url),
                                                      ToHttpOptions(options), failure));
    const bool redirect = res.status >= 300 && res.status < 400;
    const std::string commit = res.Header("X-Repo-Commit");
    if (!redirect && (res.status < 200 || res.status >= 300)) {
      Status error = HttpError(res, repo_id, filename, options, missing);
      // A 404 for a missing file still names the commit: remember the file is absent.
      if (*missing == Missing::kEntry && IsCommitHash(commit) && !options.cache_dir.empty()) {
        RepoCache(options.cache_dir, repo_id).MarkNoExist(commit, filename);
      }
      return error;
    }
    std::string next;
    if (redirect) {
      const std::string location = res.Header("Location");
      if (location.empty())
        return IoError(url + ": HTTP " + std::to_string(res.status) + " without a Location");
      MAMBA_ASSIGN_OR_RETURN(Url base, ParseUrl(url));
      next = ResolveLocation(base, location);
      if (commit.empty()) {
        url = next;
        continue;
      }
    }
    FileMetadata meta;
    meta.commit = commit.empty() && IsCommitHash(options.revision) ? options.revision : commit;
    std::string etag = res.Header("X-Linked-Etag");
    if (etag.empty()) etag = res.Header("ETag");
    meta.etag = NormalizeEtag(etag);
    std::string size = res.Header("X-Linked-Size");
    if (size.empty() && !redirect) size = res.Header("Content-Length");
    meta.has_size = ParseU64(size, &meta.size);
    meta.download_url = redirect ? next : url;
    if (!IsCommitHash(meta.commit)) {
      return IoError(options.endpoint + " sent no commit hash (X-Repo-Commit) for '" + filename +
                     "' of '" + repo_id + "': is HF_ENDPOINT a Hugging Face Hub?");
    }
    if (meta.etag.empty() || meta.etag.find('/') != std::string::npos || meta.etag == "." ||
        meta.etag == "..") {
      return IoError(options.endpoint + " sent no usable ETag for '" + filename + "' of '" +
                     repo_id + "'");
    }
    return meta;
  }
  return IoError("too many redirects for '" + filename + "' of '" + repo_id + "'");
}

// Holds an exclusive flock on a lock file while alive (best effort: no lock if it cannot open).
class FileLock {
 public:
  explicit FileLock(const std::string& path) {
    std::error_code ec;
    fs::create_directories(fs::path(path).parent_path(), ec);
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ >= 0) ::flock(fd_, LOCK_EX);
  }
  ~FileLock() {
    if (fd_ >= 0) ::close(fd_);  // closing releases the lock
  }
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  int fd_ = -1;
};

uint64_t FileSizeOrZero(const std::string& path) {
  std::error_code ec;
  const uintmax_t size = fs::file_size(path, ec);
  return ec ? 0 : static_cast<uint64_t>(size);
}

// Downloads `meta` into `blob`, through "<blob>.incomplete", resuming what an earlier attempt left.
Status DownloadBlob(const std::string& repo_id, const std::string& filename,
                    const FileMetadata& meta, const std::string& blob,
                    const DownloadOptions& options) {
  const std::string partial = blob + ".incomplete";
  {
    std::error_code ec;
    fs::create_directories(fs::path(blob).parent_path(), ec);
    if (ec) {
      return IoError("cannot create directory '" + fs::path(blob).parent_path().string() +
                     "': " + ec.message());
    }
  }
  std::string url = meta.download_url;
  int failures = 0, redirects = 0;
  for (;;) {
    uint64_t offset = FileSizeOrZero(partial);
    if (meta.has_size && offset > meta.size) offset = 0;  // not ours: start again
    if (meta.has_size && offset == meta.size && (offset > 0 || fs::exists(partial))) break;
    HttpHeaders headers = RequestHeaders(options, url);
    if (offset > 0) headers["Range"] = "bytes=" + std::to_string(offset) + "-";

    std::FILE* out = nullptr;
    uint64_t done = offset, total = meta.has_size ? meta.size : 0;
    std::string write_error;
    HttpResponse head;
    auto on_response = [&](const HttpResponse& res) {
      head = res;
      if (res.status == 206) {
        const std::string range = res.Header("Content-Range");
        if (range.rfind("bytes " + std::to_string(offset) + "-", 0) != 0) return false;
        out = std::fopen(partial.c_str(), "ab");
      } else if (res.status == 200) {  // a full body: the server ignored (or we sent no) Range
        done = 0;
        out = std::fopen(partial.c_str(), "wb");
        uint64_t length = 0;
        if (!meta.has_size && ParseU64(res.Header("Content-Length"), &length)) total = length;
      } else {
        return false;
      }
      if (!out) {
        write_error = "cannot open '" + partial + "' for writing: " + std::strerror(errno);
        return false;
      }
      if (options.progress) options.progress(filename, done, total);
      return true;
    };
    auto on_data = [&](const char* data, size_t n) {
      if (std::fwrite(data, 1, n, out) != n) {
        write_error = "cannot write '" + partial + "': " + std::strerror(errno);
        return false;
      }
      done += n;
      if (options.progress) options.progress(filename, done, total);
      return true;
    };
    HttpFailure failure = HttpFailure::kNone;
    StatusOr<HttpResponse> res =
        HttpGet(url, headers, ToHttpOptions(options), on_response, on_data, &failure);
    if (out && std::fclose(out) != 0 && write_error.empty()) {
      write_error = "cannot write '" + partial + "': " + std::strerror(errno);
    }
    if (!write_error.empty()) return IoError(write_error);
    if (res.ok()) head = *res;
    if (res.ok() && head.status >= 300 && head.status < 400) {
      const std::string location = head.Header("Location");
      if (location.empty() || ++redirects > kMaxRedirects) {
        return IoError("bad redirect while downloading '" + filename + "' of '" + repo_id + "'");
      }
      MAMBA_ASSIGN_OR_RETURN(Url base, ParseUrl(url));
      url = ResolveLocation(base, location);
      continue;
    }
    if (res.ok() && head.status == 206 &&
        head.Header("Content-Range").rfind("bytes " + std::to_string(offset) + "-", 0) != 0) {
      std::error_code ec;
      fs::remove(partial, ec);  // the server answered another range: start over
      if (++failures > options.max_retries)
        return DataLossError("'" + filename + "': bad Content-Range from the server");
      continue;
    }
    if (res.ok() && head.status == 416 && meta.has_size && offset == meta.size) break;
    if (res.ok() && head.status != 200 && head.status != 206) {
      Missing missing = Missing::kNo;
      if (head.status == 416) {
        std::error_code ec;
        fs::remove(partial, ec);
        if (++failures <= options.max_retries) continue;
      }
      return HttpError(head, repo_id, filename, options, &missing);
    }
    const uint64_t have = FileSizeOrZero(partial);
    const bool complete = res.ok() && (!meta.has_size || have == meta.size);
    if (complete) break;
    if (meta.has_size && have > meta.size) {
      std::error_code ec;
      fs::remove(partial, ec);
      return DataLossError("'" + filename + "' of '" + repo_id + "': received " +
                           std::to_string(have) + " bytes, expected " + std::to_string(meta.size));
    }
    if (++failures > options.max_retries) {
      if (failure == HttpFailure::kConnect) return Unreachable(options, res.status());
      return IoError("download of '" + filename + "' of '" + repo_id + "' was interrupted after " +
                     std::to_string(have) + " of " + std::to_string(meta.size) +
                     " bytes; run again to resume (" +
                     (res.ok() ? std::string("short body") : res.status().message()) + ")");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(options.retry_delay_ms * failures));
  }
  std::error_code ec;
  if (!fs::exists(partial, ec)) {  // an empty file: nothing was written
    std::ofstream touch(partial, std::ios::binary);
    if (!touch) return IoError("cannot create '" + partial + "'");
  }
  fs::rename(partial, blob, ec);
  if (ec) return IoError("cannot rename '" + partial + "' to '" + blob + "': " + ec.message());
  // On disk, and out of the page cache: the first run that maps the weights then faults them in
  // 2 MiB folios rather than the small pages the writes left, and decode streams them faster
  // (docs/PERFORMANCE.md, "Page cache"). Advisory; a failure here loses nothing.
  (void)DropFromPageCache(blob);
  if (options.progress) options.progress(filename, FileSizeOrZero(blob), FileSizeOrZero(blob));
  return Status::Ok();
}

// The cached snapshot file for `options.revision`, used offline or when the endpoint is down.
StatusOr<std::string> FromCache(const RepoCache& cache, const std::string& repo_id,
                                const std::string& filename, const DownloadOptions& options,
                                const std::string& why, Missing* missing) {
  std::optional<std::string> commit = IsCommitHash(options.revision)
                                          ? std::optional<std::string>(options.revision)
                                          : cache.ReadRef(options.revision);
  *missing = Missing::kNotCached;
  if (!commit) {
    return NotFoundError("'" + repo_id + "' (revision '" + options.revision +
                         "') is not in the cache at " +
                         fs::path(cache.root()).parent_path().string() + " and " + why);
  }
  const std::string pointer = cache.SnapshotPath(*commit, filename);
  if (IsRegularFile(pointer)) {
    *missing = Missing::kNo;
    return pointer;
  }
  if (cache.IsMarkedNoExist(*commit, filename)) *missing = Missing::kEntry;
  return NotFoundError("'" + filename + "' of '" + repo_id + "' is not in the cache at " +
                       cache.SnapshotDir(*commit) + " and " + why);
}

}  // namespace

DownloadOptions DownloadOptionsFromEnv() {
  DownloadOptions options;
  if (std::string endpoint = Env("HF_ENDPOINT"); !endpoint.empty()) options.endpoint = endpoint;
  while (!options.endpoint.empty() && options.endpoint.back() == '/') options.endpoint.pop_back();
  options.token = Env("HF_TOKEN");
  if (options.token.empty()) options.token = Env("HUGGING_FACE_HUB_TOKEN");  // legacy name
  if (options.token.empty()) {
    std::string path = Env("HF_TOKEN_PATH");
    if (path.empty()) path = (fs::path(DefaultHubCacheDir()).parent_path() / "token").string();
    if (std::string home = Env("HF_HOME"); Env("HF_TOKEN_PATH").empty() && !home.empty()) {
      path = (fs::path(home) / "token").string();
    }
    std::ifstream in(path);
    if (in) std::getline(in, options.token);
    while (!options.token.empty() &&
           std::isspace(static_cast<unsigned char>(options.token.back()))) {
      options.token.pop_back();
    }
  }
  options.cache_dir = DefaultHubCacheDir();
  options.offline = EnvTrue("HF_HUB_OFFLINE") || EnvTrue("TRANSFORMERS_OFFLINE");
  return options;
}

StatusOr<std::string> FetchFile(const std::string& repo_id, const std::string& filename,
                                const DownloadOptions& in_options, Missing* missing) {
  *missing = Missing::kNo;
  MAMBA_RETURN_IF_ERROR(ValidateRepoId(repo_id));
  MAMBA_RETURN_IF_ERROR(ValidateRepoFilename(filename));
  if (in_options.revision.empty() || in_options.revision.find("..") != std::string::npos) {
    return InvalidArgumentError("invalid revision '" + in_options.revision + "'");
  }
  DownloadOptions options = in_options;
  if (options.cache_dir.empty()) options.cache_dir = DefaultHubCacheDir();
  while (!options.endpoint.empty() && options.endpoint.back() == '/') options.endpoint.pop_back();
  const RepoCache cache(options.cache_dir, repo_id);

  // A commit hash never moves: a cached file for it needs no network at all.
  if (IsCommitHash(options.revision)) {
    const std::string pointer = cache.SnapshotPath(options.revision, filename);
    if (IsRegularFile(pointer)) return pointer;
    if (cache.IsMarkedNoExist(options.revision, filename)) {
      *missing = Missing::kEntry;
      return NotFoundError("repository '" + repo_id + "' has no file '" + filename +
                           "' at revision '" + options.revision + "'");
    }
  }
  if (options.offline) {
    return FromCache(cache, repo_id, filename, options, "offline mode is on (HF_HUB_OFFLINE)",
                     missing);
  }

  HttpFailure failure = HttpFailure::kNone;
  StatusOr<FileMetadata> meta = GetMetadata(repo_id, filename, options, missing, &failure);
  if (!meta.ok() && failure == HttpFailure::kConnect) {
    Missing cached_missing = Missing::kNo;
    StatusOr<std::string> cached = FromCache(cache, repo_id, filename, options,
                                             "the endpoint cannot be reached", &cached_missing);
    if (cached.ok() || cached_missing == Missing::kEntry) {
      *missing = cached_missing;
      return cached;
    }
    return Unreachable(options, meta.status());
  }
  if (!meta.ok()) return meta.status();

  if (!IsCommitHash(options.revision)) {
    MAMBA_RETURN_IF_ERROR(cache.WriteRef(options.revision, meta->commit));
  }
  const std::string pointer = cache.SnapshotPath(meta->commit, filename);
  if (IsRegularFile(pointer)) return pointer;  // e.g. put there by huggingface-cli

  const std::string blob = cache.BlobPath(meta->etag);
  if (!IsRegularFile(blob)) {
    FileLock lock(cache.LockPath(meta->etag));
    if (!IsRegularFile(blob)) {  // another process may have finished it while we waited
      MAMBA_RETURN_IF_ERROR(DownloadBlob(repo_id, filename, *meta, blob, options));
    }
  }
  MAMBA_RETURN_IF_ERROR(cache.LinkSnapshotFile(meta->commit, filename, meta->etag));
  return pointer;
}

StatusOr<std::string> DownloadFile(const std::string& repo_id, const std::string& filename,
                                   const DownloadOptions& options) {
  Missing missing = Missing::kNo;
  return FetchFile(repo_id, filename, options, &missing);
}

}  // namespace mamba
