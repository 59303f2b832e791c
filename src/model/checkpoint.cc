// SPDX-License-Identifier: MIT
#include "model/checkpoint.h"

#include <filesystem>
#include <memory>
#include <vector>

#include "io/gguf.h"
#include "io/pytorch_bin.h"
#include "io/safetensors.h"
#include "io/sharded.h"
#include "model/gguf_checkpoint.h"

namespace mamba {

namespace fs = std::filesystem;

namespace {

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

StatusOr<TensorSet> LoadWeights(const std::string& path, FileAccess access) {
  if (EndsWith(path, ".safetensors.index.json")) return LoadShardedSafetensors(path, access);
  if (EndsWith(path, ".safetensors")) return LoadSafetensorsFile(path, access);
  if (EndsWith(path, ".bin") || EndsWith(path, ".pt") || EndsWith(path, ".pth")) {
    return LoadPytorchBinFile(path, access);
  }
  return InvalidArgumentError("'" + path +
                              "': unrecognised weights file (expected .safetensors, "
                              ".safetensors.index.json or pytorch_model.bin)");
}

}  // namespace

StatusOr<Checkpoint> OpenCheckpoint(const std::string& path, const std::string& config_path,
                                    FileAccess access) {
  std::error_code ec;
  Checkpoint ck;
  const fs::file_status st = fs::status(path, ec);
  if (ec || !fs::exists(st)) return NotFoundError("'" + path + "': no such file or directory");
  if (fs::is_directory(st)) {
    ck.dir = path;
    static const char* kCandidates[] = {"model.safetensors", "model.safetensors.index.json",
                                        "pytorch_model.bin"};
    for (const char* name : kCandidates) {
      const fs::path p = fs::path(path) / name;
      if (fs::is_regular_file(p, ec)) {
        ck.weights_path = p.string();
        break;
      }
    }
    if (ck.weights_path.empty()) {
      // No safetensors/bin: a directory holding a single GGUF file.
      std::vector<std::string> ggufs;
      for (const auto& e : fs::directory_iterator(path, ec)) {
        if (e.is_regular_file(ec) && EndsWith(e.path().filename().string(), ".gguf")) {
          ggufs.push_back(e.path().string());
        }
      }
      if (ggufs.size() > 1) {
        return InvalidArgumentError("'" + path + "': directory has " +
                                    std::to_string(ggufs.size()) +
                                    " .gguf files; pass the one to load");
      }
      if (ggufs.size() == 1) ck.weights_path = ggufs[0];
    }
    if (ck.weights_path.empty()) {
      return NotFoundError("'" + path +
                           "': directory has no weights (looked for model.safetensors, "
                           "model.safetensors.index.json, pytorch_model.bin, *.gguf)");
    }
  } else {
    ck.weights_path = path;
    ck.dir = fs::path(path).parent_path().string();
    if (ck.dir.empty()) ck.dir = ".";
  }
  if (EndsWith(ck.weights_path, ".gguf")) {
    MAMBA_ASSIGN_OR_RETURN(GgufFile gguf, LoadGgufFile(ck.weights_path, access));
    auto shared = std::make_shared<const GgufFile>(std::move(gguf));
    MAMBA_ASSIGN_OR_RETURN(ck.config, GgufModelConfig(*shared));
    MAMBA_ASSIGN_OR_RETURN(ck.tensors, GgufModelTensors(*shared, ck.config.arch));
    ck.gguf = std::move(shared);
    return ck;
  }
  ck.config_path = config_path.empty() ? (fs::path(ck.dir) / "config.json").string() : config_path;
  if (!fs::exists(ck.config_path, ec)) {
    return NotFoundError("'" + ck.config_path + "': config file not found (pass -c CONFIG)");
  }
  MAMBA_ASSIGN_OR_RETURN(ck.config, LoadModelConfig(ck.config_path));
  MAMBA_ASSIGN_OR_RETURN(ck.tensors, LoadWeights(ck.weights_path, access));
  return ck;
}

}  // namespace mamba
