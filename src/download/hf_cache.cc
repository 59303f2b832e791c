// SPDX-License-Identifier: MIT
// Hugging Face Hub cache layout: path rules, refs, snapshot symlinks and atomic writes.
#include "download/hf_cache.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

namespace mamba {

namespace fs = std::filesystem;

namespace {

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

bool IsRepoIdChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.';
}

Status CreateParentDirs(const std::string& path) {
  std::error_code ec;
  fs::create_directories(fs::path(path).parent_path(), ec);
  if (ec) {
    return IoError("cannot create directory '" + fs::path(path).parent_path().string() +
                   "': " + ec.message());
  }
  return Status::Ok();
}

}  // namespace

std::string DefaultHubCacheDir() {
  if (std::string v = Env("HF_HUB_CACHE"); !v.empty()) return v;
  if (std::string v = Env("HUGGINGFACE_HUB_CACHE"); !v.empty()) return v;  // legacy name
  if (std::string v = Env("HF_HOME"); !v.empty()) return (fs::path(v) / "hub").string();
  if (std::string v = Env("XDG_CACHE_HOME"); !v.empty()) {
    return (fs::path(v) / "huggingface" / "hub").string();
  }
  std::string home = Env("HOME");
  if (home.empty()) home = ".";
  return (fs::path(home) / ".cache" / "huggingface" / "hub").string();
}

Status ValidateRepoId(std::string_view repo_id) {
  const size_t slash = repo_id.find('/');
  bool ok = slash != std::string_view::npos && slash > 0 && slash + 1 < repo_id.size() &&
            repo_id.find('/', slash + 1) == std::string_view::npos;
  for (char c : repo_id) ok = ok && (c == '/' || IsRepoIdChar(c));
  if (ok) {
    const std::string_view org = repo_id.substr(0, slash), name = repo_id.substr(slash + 1);
    ok = org != "." && org != ".." && name != "." && name != ".." &&
         repo_id.find("--") == std::string_view::npos;
  }
  if (!ok) {
    return InvalidArgumentError("'" + std::string(repo_id) +
                                "' is not a Hugging Face model id; expected ORG/NAME, e.g. "
                                "state-spaces/mamba-130m-hf");
  }
  return Status::Ok();
}

Status ValidateRepoFilename(std::string_view filename) {
  bool ok = !filename.empty() && filename.front() != '/' && filename.back() != '/' &&
            filename.find('\\') == std::string_view::npos &&
            filename.find('\0') == std::string_view::npos;
  size_t start = 0;
  while (ok && start <= filename.size()) {
    size_t end = filename.find('/', start);
    if (end == std::string_view::npos) end = filename.size();
    const std::string_view part = filename.substr(start, end - start);
    ok = !part.empty() && part != "." && part != "..";
    start = end + 1;
  }
  if (!ok)
    return InvalidArgumentError("invalid file name in repository: '" + std::string(filename) + "'");
  return Status::Ok();
}

bool IsCommitHash(std::string_view revision) {
  if (revision.size() != 40) return false;
  for (char c : revision) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::string NormalizeEtag(std::string_view etag) {
  while (!etag.empty() && etag.front() == ' ') etag.remove_prefix(1);
  while (!etag.empty() && etag.back() == ' ') etag.remove_suffix(1);
  if (etag.substr(0, 2) == "W/") etag.remove_prefix(2);
  if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') {
    etag = etag.substr(1, etag.size() - 2);
  }
  return std::string(etag);
}

RepoCache::RepoCache(std::string cache_dir, std::string_view repo_id)
    : cache_dir_(std::move(cache_dir)) {
  std::string folder = "models--" + std::string(repo_id);
  for (size_t pos = 0; (pos = folder.find('/', pos)) != std::string::npos;) {
    folder.replace(pos, 1, "--");
  }
  folder_ = folder;
  root_ = (fs::path(cache_dir_) / folder_).string();
}

std::string RepoCache::BlobPath(std::string_view etag) const {
  return (fs::path(root_) / "blobs" / std::string(etag)).string();
}

std::string RepoCache::SnapshotDir(std::string_view commit) const {
  return (fs::path(root_) / "snapshots" / std::string(commit)).string();
}

std::string RepoCache::SnapshotPath(std::string_view commit, std::string_view filename) const {
  return (fs::path(SnapshotDir(commit)) / std::string(filename)).string();
}

std::string RepoCache::RefPath(std::string_view revision) const {
  return (fs::path(root_) / "refs" / std::string(revision)).string();
}

std::string RepoCache::NoExistPath(std::string_view commit, std::string_view filename) const {
  return (fs::path(root_) / ".no_exist" / std::string(commit) / std::string(filename)).string();
}

std::string RepoCache::LockPath(std::string_view etag) const {
  return (fs::path(cache_dir_) / ".locks" / folder_ / (std::string(etag) + ".lock")).string();
}

std::optional<std::string> RepoCache::ReadRef(std::string_view revision) const {
  std::ifstream in(RefPath(revision), std::ios::binary);
  if (!in) return std::nullopt;
  std::string commit;
  std::getline(in, commit);
  while (!commit.empty() && (commit.back() == '\r' || commit.back() == ' ')) commit.pop_back();
  if (!IsCommitHash(commit)) return std::nullopt;
  return commit;
}

Status RepoCache::WriteRef(std::string_view revision, std::string_view commit) const {
  if (ReadRef(revision) == std::string(commit)) return Status::Ok();
  return WriteFileAtomically(RefPath(revision), commit);
}

Status RepoCache::LinkSnapshotFile(std::string_view commit, std::string_view filename,
                                   std::string_view etag) const {
  const fs::path pointer = SnapshotPath(commit, filename);
  const fs::path blob = BlobPath(etag);
  MAMBA_RETURN_IF_ERROR(CreateParentDirs(pointer.string()));
  std::error_code ec;
  fs::remove(pointer, ec);  // a stale or dangling link; absent is fine
  const fs::path target = blob.lexically_relative(pointer.parent_path());
  fs::create_symlink(target, pointer, ec);
  if (!ec) return Status::Ok();
  // Filesystems without symlinks get a copy (huggingface_hub degrades the same way).
  return CopyFileAtomically(blob.string(), pointer.string());
}

void RepoCache::MarkNoExist(std::string_view commit, std::string_view filename) const {
  const std::string path = NoExistPath(commit, filename);
  if (!CreateParentDirs(path).ok()) return;
  std::ofstream out(path, std::ios::binary | std::ios::app);
}

bool RepoCache::IsMarkedNoExist(std::string_view commit, std::string_view filename) const {
  std::error_code ec;
  return fs::exists(NoExistPath(commit, filename), ec);
}

bool IsRegularFile(const std::string& path) {
  std::error_code ec;
  return fs::is_regular_file(path, ec);
}

Status WriteFileAtomically(const std::string& path, std::string_view data) {
  MAMBA_RETURN_IF_ERROR(CreateParentDirs(path));
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(data.data(), static_cast<std::streamsize>(data.size()));
    out.close();
    if (!out) return IoError("cannot write '" + tmp + "'");
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) return IoError("cannot rename '" + tmp + "' to '" + path + "': " + ec.message());
  return Status::Ok();
}

Status CopyFileAtomically(const std::string& from, const std::string& to) {
  MAMBA_RETURN_IF_ERROR(CreateParentDirs(to));
  const std::string tmp = to + ".tmp";
  std::error_code ec;
  fs::copy_file(from, tmp, fs::copy_options::overwrite_existing, ec);
  if (ec) return IoError("cannot copy '" + from + "' to '" + tmp + "': " + ec.message());
  fs::rename(tmp, to, ec);
  if (ec) return IoError("cannot rename '" + tmp + "' to '" + to + "': " + ec.message());
  return Status::Ok();
}

}  // namespace mamba
