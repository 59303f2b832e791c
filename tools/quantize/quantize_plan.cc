// SPDX-License-Identifier: MIT
// Tensor-type plan and checkpoint -> quantized GGUF conversion for mamba-quantize.
#include "quantize_plan.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/ascii.h"
#include "kernels/quantize.h"
#include "model/checkpoint.h"
#include "model/gguf_export.h"
#include "tokenizer/gguf_vocab.h"
#include "tokenizer/model_files.h"

namespace mamba {

const std::vector<QuantTarget>& QuantTargets() {
  // file_type: llama.cpp's enum llama_ftype (MOSTLY_*).
  static const std::vector<QuantTarget> kTargets = {
      {"q8_0", DType::kQ8_0, DType::kQ8_0, 7},    {"q4_0", DType::kQ4_0, DType::kQ6_K, 2},
      {"q4_1", DType::kQ4_1, DType::kQ6_K, 3},    {"q5_0", DType::kQ5_0, DType::kQ6_K, 8},
      {"q5_1", DType::kQ5_1, DType::kQ6_K, 9},    {"q4_k_m", DType::kQ4_K, DType::kQ6_K, 15},
      {"q5_k_m", DType::kQ5_K, DType::kQ6_K, 17}, {"q6_k", DType::kQ6_K, DType::kQ6_K, 18},
      {"f16", DType::kF16, DType::kF16, 1},       {"bf16", DType::kBF16, DType::kBF16, 32},
      {"f32", DType::kF32, DType::kF32, 0},
  };
  return kTargets;
}

std::optional<QuantTarget> FindQuantTarget(const std::string& name) {
  const std::string lower = AsciiLower(name);
  for (const QuantTarget& t : QuantTargets()) {
    if (t.name == lower) return t;
  }
  return std::nullopt;
}

DType PlanMatrixType(const QuantTarget& target, const std::string& gguf_name, int64_t cols) {
  const bool head = gguf_name == "token_embd.weight" || gguf_name == "output.weight";
  const DType want = head ? target.output : target.matrix;
  return QuantFallback(want, cols);
}

namespace {

StatusOr<std::vector<std::pair<std::string, GgufValue>>> VocabMetadata(const Checkpoint& ck,
                                                                       const std::string& in) {
  std::vector<std::pair<std::string, GgufValue>> out;
  if (ck.gguf != nullptr) {
    for (const auto& [key, value] : ck.gguf->metadata) {
      if (key.rfind("tokenizer.", 0) == 0) out.emplace_back(key, value);
    }
    return out;
  }
  auto path = FindTokenizerFile(in);
  if (!path.ok()) return out;  // no vocabulary: a weights-only GGUF
  std::ifstream f(*path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return GgufTokenizerMetadata(ss.str(), *path, ck.config.vocab_padded);
}

std::string ModelName(const Checkpoint& ck, const std::string& in) {
  if (ck.gguf != nullptr) {
    auto name = ck.gguf->GetString("general.name");
    if (name.ok()) return *name;
  }
  std::filesystem::path p(in);
  if (!std::filesystem::is_directory(p)) p = p.parent_path();
  std::string name = p.lexically_normal().filename().string();
  if (name.empty()) name = std::filesystem::absolute(p).lexically_normal().filename().string();
  return name.empty() ? "mamba" : name;
}

}  // namespace

StatusOr<QuantizeResult> QuantizeModelFile(
    const std::string& in, const std::string& out, const QuantTarget& target,
    const std::function<void(const std::string&, int, int)>& progress) {
  MAMBA_ASSIGN_OR_RETURN(Checkpoint ck, OpenCheckpoint(in));
  QuantizeResult result;
  for (const std::string& name : ck.tensors.Names())
    result.in_bytes += ck.tensors.Find(name)->nbytes;
  GgufExportOptions opts;
  opts.name = ModelName(ck, in);
  MAMBA_ASSIGN_OR_RETURN(opts.extra_metadata, VocabMetadata(ck, in));
  result.has_vocab = !opts.extra_metadata.empty();
  opts.file_type = target.file_type;
  opts.matrix_type = [&target](const std::string& gguf_name, const TensorView& src) {
    const int64_t cols = src.shape.empty() ? 1 : src.shape.back();
    return PlanMatrixType(target, gguf_name, cols);
  };
  // Matrices: Mamba-1 in_proj, x_proj, dt_proj, out_proj per layer; Mamba-2 in_proj, out_proj.
  const int per_layer = ck.config.arch == Arch::kMamba2 ? 2 : 4;
  const int total =
      static_cast<int>(per_layer * ck.config.n_layer + 1 + (ck.config.tie_embeddings ? 0 : 1));
  opts.progress = [&](const std::string& name, int done) {
    if (progress) progress(name, done, total);
  };
  MAMBA_RETURN_IF_ERROR(WriteMambaGguf(ck, out, opts));
  result.out_bytes = std::filesystem::file_size(out);
  return result;
}

}  // namespace mamba
