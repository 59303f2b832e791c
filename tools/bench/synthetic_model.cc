// SPDX-License-Identifier: MIT
#include "synthetic_model.h"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <vector>

#include <nlohmann/json.hpp>

namespace mamba::bench {
namespace {

constexpr int64_t kVocab = 50277;
constexpr int64_t kVocabPadded = 50280;   // pad_vocab_size_multiple 8
constexpr int64_t kVocabPadded2 = 50288;  // Mamba-2: pad_vocab_size_multiple 16

// How a tensor's values are drawn.
enum class Init { kUniform, kOnes, kUniformRange, kALog };

struct TensorSpec {
  std::string name;
  std::vector<int64_t> shape;
  Init init = Init::kUniform;
  float lo = 0, hi = 0;  // kUniform: [-hi, hi]; kUniformRange: [lo, hi)
};

// splitmix64: fast and good enough for random weights (std::normal_distribution would take
// about a minute for a 2.8b-shape model).
struct Rng {
  uint64_t s;
  uint64_t Next() {
    uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  float Uniform(float lo, float hi) {  // [lo, hi)
    return lo + (hi - lo) * static_cast<float>(Next() >> 40) * (1.0f / 16777216.0f);
  }
};

// A [rows, cols] projection, uniform with the standard deviation of N(0, 1/cols) times `scale`
// (half-width scale * sqrt(3 / cols)).
TensorSpec Linear(const std::string& name, int64_t rows, int64_t cols, float scale = 1.0f) {
  return TensorSpec{
      name, {rows, cols}, Init::kUniform, 0, scale * std::sqrt(3.0f / static_cast<float>(cols))};
}

// Mamba-2 (state-spaces mamba2-* defaults): d_state 128, headdim 64, ngroups 1, vocabulary
// padded to 16; dt_bias = softplus^-1 of dt in ~[1e-3, 0.1], A_log = log of [1, 16).
std::vector<TensorSpec> Mamba2Specs(const SyntheticShape& s) {
  const int64_t d = s.d_model, di = 2 * d, ds = 128, dc = 4, heads = di / 64;
  const int64_t conv_dim = di + 2 * ds;
  std::vector<TensorSpec> t;
  t.push_back({"backbone.embedding.weight", {kVocabPadded2, d}, Init::kUniform, 0, 0.0346f});
  t.push_back({"backbone.norm_f.weight", {d}, Init::kOnes});
  for (int64_t i = 0; i < s.n_layer; ++i) {
    const std::string p = "backbone.layers." + std::to_string(i) + ".";
    t.push_back({p + "norm.weight", {d}, Init::kOnes});
    t.push_back(Linear(p + "mixer.in_proj.weight", di + conv_dim + heads, d));
    t.push_back({p + "mixer.conv1d.weight", {conv_dim, 1, dc}, Init::kUniform, 0, 0.866f});
    t.push_back({p + "mixer.conv1d.bias", {conv_dim}, Init::kUniform, 0, 0.173f});
    t.push_back({p + "mixer.dt_bias", {heads}, Init::kUniformRange, -6.9f, -2.25f});
    t.push_back({p + "mixer.A_log", {heads}, Init::kUniformRange, 0.0f, 2.77f});
    t.push_back({p + "mixer.D", {heads}, Init::kOnes});
    t.push_back({p + "mixer.norm.weight", {di}, Init::kOnes});
    t.push_back(Linear(p + "mixer.out_proj.weight", d, di,
                       1.0f / std::sqrt(static_cast<float>(s.n_layer))));
  }
  return t;
}

std::vector<TensorSpec> Specs(const SyntheticShape& s) {
  if (s.mamba2) return Mamba2Specs(s);
  const int64_t d = s.d_model, di = 2 * d, ds = 16, dc = 4;
  const int64_t dt_rank = (d + 15) / 16;
  std::vector<TensorSpec> t;
  t.push_back({"backbone.embedding.weight", {kVocabPadded, d}, Init::kUniform, 0, 0.0346f});
  t.push_back({"backbone.norm_f.weight", {d}, Init::kOnes});
  for (int64_t i = 0; i < s.n_layer; ++i) {
    const std::string p = "backbone.layers." + std::to_string(i) + ".";
    t.push_back({p + "norm.weight", {d}, Init::kOnes});
    t.push_back(Linear(p + "mixer.in_proj.weight", 2 * di, d));
    t.push_back({p + "mixer.conv1d.weight", {di, 1, dc}, Init::kUniform, 0, 0.866f});
    t.push_back({p + "mixer.conv1d.bias", {di}, Init::kUniform, 0, 0.173f});
    t.push_back(Linear(p + "mixer.x_proj.weight", dt_rank + 2 * ds, di));
    t.push_back(Linear(p + "mixer.dt_proj.weight", di, dt_rank));
    t.push_back({p + "mixer.dt_proj.bias", {di}, Init::kUniformRange, -6.0f, -2.0f});
    t.push_back({p + "mixer.A_log", {di, ds}, Init::kALog});
    t.push_back({p + "mixer.D", {di}, Init::kOnes});
    t.push_back(Linear(p + "mixer.out_proj.weight", d, di,
                       1.0f / std::sqrt(static_cast<float>(s.n_layer))));
  }
  return t;
}

const char* DTypeTag(DType dtype) { return DTypeName(dtype).data(); }

}  // namespace

StatusOr<SyntheticShape> FindSyntheticShape(const std::string& name) {
  static const SyntheticShape kShapes[] = {{"130m", 768, 24},
                                           {"370m", 1024, 48},
                                           {"790m", 1536, 48},
                                           {"1.4b", 2048, 48},
                                           {"2.8b", 2560, 64},
                                           {"mamba2-130m", 768, 24, true},
                                           {"mamba2-370m", 1024, 48, true},
                                           {"mamba2-780m", 1536, 48, true},
                                           {"mamba2-1.3b", 2048, 48, true},
                                           {"mamba2-2.7b", 2560, 64, true}};
  for (const SyntheticShape& s : kShapes) {
    if (s.name == name) return s;
  }
  return InvalidArgumentError("--synthetic: unknown shape '" + name +
                              "' (known: 130m, 370m, 790m, 1.4b, 2.8b, mamba2-130m, "
                              "mamba2-370m, mamba2-780m, mamba2-1.3b, mamba2-2.7b)");
}

Status WriteSyntheticModel(const SyntheticShape& shape, DType dtype, const std::string& dir) {
  namespace fs = std::filesystem;
  const std::string tag = shape.name + " " + DTypeTag(dtype);
  const fs::path done = fs::path(dir) / ".complete";
  {
    std::ifstream in(done);
    std::string have;
    if (in && std::getline(in, have) && have == tag) return Status::Ok();
  }
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return IoError("cannot create '" + dir + "': " + ec.message());
  fs::remove(done, ec);

  const std::vector<TensorSpec> specs = Specs(shape);
  const size_t esize = dtype == DType::kF32 ? 4 : 2;
  nlohmann::ordered_json header;
  header["__metadata__"] = {{"format", "pt"}};
  uint64_t offset = 0;
  for (const TensorSpec& t : specs) {
    int64_t n = 1;
    for (int64_t v : t.shape) n *= v;
    header[t.name] = {{"dtype", DTypeTag(dtype)},
                      {"shape", t.shape},
                      {"data_offsets", {offset, offset + n * esize}}};
    offset += n * esize;
  }
  std::string h = header.dump();
  h.append((8 - h.size() % 8) % 8, ' ');

  const std::string path = (fs::path(dir) / "model.safetensors").string();
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return IoError("cannot write '" + path + "'");
  bool ok = true;
  const uint64_t hlen = h.size();
  uint8_t len_le[8];
  for (int i = 0; i < 8; ++i) len_le[i] = static_cast<uint8_t>(hlen >> (8 * i));
  ok &= std::fwrite(len_le, 1, 8, f) == 8;
  ok &= std::fwrite(h.data(), 1, h.size(), f) == h.size();
  Rng rng{12345};
  std::vector<float> vals;
  std::vector<uint8_t> bytes;
  for (const TensorSpec& t : specs) {
    int64_t n = 1;
    for (int64_t v : t.shape) n *= v;
    // Write in pieces of at most 4M elements.
    for (int64_t b = 0; b < n && ok; b += (4 << 20)) {
      const int64_t m = std::min<int64_t>(4 << 20, n - b);
      vals.resize(m);
      for (int64_t i = 0; i < m; ++i) {
        switch (t.init) {
          case Init::kUniform:
            vals[i] = rng.Uniform(-t.hi, t.hi);
            break;
          case Init::kOnes:
            vals[i] = 1.0f;
            break;
          case Init::kUniformRange:
            vals[i] = rng.Uniform(t.lo, t.hi);
            break;
          case Init::kALog:  // log(1..d_state) along the last axis (S4D-real init)
            vals[i] = std::log(static_cast<float>((b + i) % t.shape.back() + 1));
            break;
        }
      }
      bytes.resize(m * esize);
      for (int64_t i = 0; i < m; ++i) {
        if (dtype == DType::kF32) {
          std::memcpy(&bytes[i * 4], &vals[i], 4);
        } else {
          const uint16_t u = dtype == DType::kF16 ? F32ToF16(vals[i]) : F32ToBF16(vals[i]);
          bytes[i * 2] = static_cast<uint8_t>(u);
          bytes[i * 2 + 1] = static_cast<uint8_t>(u >> 8);
        }
      }
      ok &= std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
    }
  }
  ok &= std::fclose(f) == 0;
  if (!ok) {
    fs::remove(path, ec);
    return IoError("cannot write '" + path + "' (disk full?)");
  }
  nlohmann::json config = {
      {"d_model", shape.d_model},
      {"n_layer", shape.n_layer},
      {"vocab_size", kVocab},
      {"ssm_cfg", shape.mamba2 ? nlohmann::json{{"layer", "Mamba2"}} : nlohmann::json::object()},
      {"rms_norm", true},
      {"residual_in_fp32", true},
      {"fused_add_norm", true},
      {"pad_vocab_size_multiple", shape.mamba2 ? 16 : 8},
      {"tie_embeddings", true}};
  std::ofstream(fs::path(dir) / "config.json") << config.dump(2) << "\n";
  std::ofstream(done) << tag << "\n";
  return Status::Ok();
}

}  // namespace mamba::bench
