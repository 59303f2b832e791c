// SPDX-License-Identifier: MIT
// Downloads Mamba checkpoints from the Hugging Face Hub (or a mirror) into the standard Hugging
// Face cache, so `huggingface-cli download` and this library share files. Layer: download (links
// base only). The library never prints: progress goes to a callback, problems come back as Status.
//
//   DownloadOptions options = DownloadOptionsFromEnv();
//   StatusOr<std::string> dir = DownloadModel("state-spaces/mamba-130m-hf", options);
//   if (dir.ok()) model = Model::Load(*dir);
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "base/status.h"

namespace mamba {

// Called while a file is transferred: `done` bytes of `total` (0 when the server sent no size).
// `done` counts bytes already on disk from an earlier, interrupted attempt. The last call for a
// file has done == total. Not called for files that are already in the cache. Runs on the
// calling thread.
using DownloadProgress =
    std::function<void(const std::string& file, uint64_t done, uint64_t total)>;

struct DownloadOptions {
  std::string endpoint = "https://huggingface.co";  // no trailing '/'
  std::string token;      // sent as "Authorization: Bearer <token>" to the endpoint's host only
  std::string cache_dir;  // the hub cache (holds models--ORG--NAME); empty = DefaultHubCacheDir()
  std::string revision = "main";  // branch, tag or commit hash
  bool offline = false;           // use only the cache, never the network
  int max_retries = 5;            // extra attempts (with Range resume) after a dropped transfer
  int retry_delay_ms = 500;       // pause before retry k: k * retry_delay_ms
  int connect_timeout_s = 10;
  int read_timeout_s = 60;
  DownloadProgress progress;
};

// Options from the environment, as huggingface_hub reads them: HF_ENDPOINT, HF_TOKEN (else the
// token file $HF_TOKEN_PATH or $HF_HOME/token written by `huggingface-cli login`), HF_HUB_CACHE /
// HF_HOME for the cache, HF_HUB_OFFLINE=1 for offline mode.
DownloadOptions DownloadOptionsFromEnv();

// Makes sure snapshots/<commit>/<filename> of `repo_id` at options.revision is in the cache and
// returns its path. Downloads the blob if needed (resuming a partial "<etag>.incomplete" with a
// Range request). Returns NotFound when the repository exists but has no such file; other
// failures (repository missing, 401/403, network, disk) come back with a one-line message.
StatusOr<std::string> DownloadFile(const std::string& repo_id, const std::string& filename,
                                   const DownloadOptions& options);

// Fetches what the engine needs to run `repo_id` and returns the snapshot directory:
//   config.json (required);
//   the weights: model.safetensors, else model.safetensors.index.json + every shard it names,
//     else pytorch_model.bin;
//   tokenizer.json, or when the repository has none (the state-spaces repos) the GPT-NeoX-20B
//     tokenizer from EleutherAI/gpt-neox-20b, copied into the snapshot directory;
//   generation_config.json, tokenizer_config.json, special_tokens_map.json when present.
// Files already in the cache (from here or from huggingface-cli) are not downloaded again. When
// offline, or when the endpoint cannot be reached, a complete cached snapshot is used.
StatusOr<std::string> DownloadModel(const std::string& repo_id, const DownloadOptions& options);

// The repository whose tokenizer.json is used when a model repository has none.
inline constexpr char kFallbackTokenizerRepo[] = "EleutherAI/gpt-neox-20b";

}  // namespace mamba
