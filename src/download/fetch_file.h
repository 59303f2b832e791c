// SPDX-License-Identifier: MIT
// Internal to src/download: DownloadFile with the reason a file is missing, so DownloadModel can
// tell "the repository has no such file" from "the repository does not exist".
#pragma once

#include <string>

#include "base/status.h"
#include "download/hub_download.h"

namespace mamba {

enum class Missing {
  kNo,          // the file was found (or the failure was not a 404)
  kEntry,       // the repository exists but has no such file at this revision
  kRepo,        // the server says the repository does not exist (or is private)
  kRevision,    // the server says the revision does not exist
  kUnknown404,  // 404 without an X-Error-Code: a missing file or a missing repository
  kNotCached,   // offline (or unreachable) and the file is not in the cache
};

// DownloadFile, plus `missing` saying why a NotFound came back.
StatusOr<std::string> FetchFile(const std::string& repo_id, const std::string& filename,
                                const DownloadOptions& options, Missing* missing);

}  // namespace mamba
