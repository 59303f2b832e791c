// SPDX-License-Identifier: MIT
// The Hugging Face Hub cache layout on disk (the one huggingface_hub and huggingface-cli use), so
// files downloaded by either tool are shared. Layer: download. Pure filesystem code, no network.
//
//   <cache>/models--ORG--NAME/blobs/<etag>                     file contents, named by ETag
//   <cache>/models--ORG--NAME/snapshots/<commit>/<filename>    relative symlink to
//   ../../blobs/<etag> <cache>/models--ORG--NAME/refs/<revision>                  the commit hash
//   `revision` points to <cache>/models--ORG--NAME/.no_exist/<commit>/<filename>    empty: the file
//   is not in that commit <cache>/.locks/models--ORG--NAME/<etag>.lock                held while a
//   blob is downloaded
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"

namespace mamba {

// Returns the hub cache directory chosen by the environment, like huggingface_hub:
// $HF_HUB_CACHE, else $HF_HOME/hub, else $XDG_CACHE_HOME/huggingface/hub, else
// ~/.cache/huggingface/hub.
std::string DefaultHubCacheDir();

// Checks that `repo_id` is "ORG/NAME" (two non-empty parts of letters, digits, '-', '_', '.').
Status ValidateRepoId(std::string_view repo_id);

// Checks that `filename` is a relative path inside a repository (no "..", no leading '/').
Status ValidateRepoFilename(std::string_view filename);

// True for a 40-character lowercase hex string (a git commit hash).
bool IsCommitHash(std::string_view revision);

// Strips a weak-validator prefix ("W/") and surrounding double quotes from an ETag header.
std::string NormalizeEtag(std::string_view etag);

// Paths of one repository's cache folder. Cheap value type; creates nothing.
class RepoCache {
 public:
  // `cache_dir` is the hub cache (the folder holding models--*), `repo_id` a valid "ORG/NAME".
  RepoCache(std::string cache_dir, std::string_view repo_id);

  const std::string& root() const { return root_; }  // <cache>/models--ORG--NAME
  std::string BlobPath(std::string_view etag) const;
  std::string SnapshotDir(std::string_view commit) const;
  std::string SnapshotPath(std::string_view commit, std::string_view filename) const;
  std::string RefPath(std::string_view revision) const;
  std::string NoExistPath(std::string_view commit, std::string_view filename) const;
  std::string LockPath(std::string_view etag) const;

  // The commit hash in refs/<revision>, or nullopt when there is none (or it is not readable).
  std::optional<std::string> ReadRef(std::string_view revision) const;
  // Writes refs/<revision> (atomically, via a temporary file and rename) unless it already holds
  // `commit`.
  Status WriteRef(std::string_view revision, std::string_view commit) const;

  // Makes snapshots/<commit>/<filename> point at blobs/<etag> with a relative symlink, replacing
  // whatever is there. Where symlinks are not supported the blob is copied instead.
  Status LinkSnapshotFile(std::string_view commit, std::string_view filename,
                          std::string_view etag) const;

  // Records that `filename` does not exist in `commit` (best effort: errors are ignored).
  void MarkNoExist(std::string_view commit, std::string_view filename) const;
  bool IsMarkedNoExist(std::string_view commit, std::string_view filename) const;

 private:
  std::string cache_dir_;
  std::string folder_;  // models--ORG--NAME
  std::string root_;
};

// True when `path` names an existing regular file (following symlinks; a dangling link is false).
bool IsRegularFile(const std::string& path);

// Writes `data` to `path` via "<path>.tmp" + rename, creating parent directories.
Status WriteFileAtomically(const std::string& path, std::string_view data);

// Copies `from` to `to` via a temporary file + rename, creating parent directories.
Status CopyFileAtomically(const std::string& from, const std::string& to);

}  // namespace mamba
