// SPDX-License-Identifier: MIT
// Test-only helpers shared by the io tests: test-data paths, file reading, an in-memory ZIP writer
// (stored entries, optional ZIP64 and data alignment, like torch.save) and the expected tensor
// layout of the Mamba-1 test checkpoints.
#pragma once

#include <cstdint>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "io/tensor_view.h"

namespace mamba::testing {

// Absolute path of `relative` under tests/data/models/.
inline std::string ModelPath(const std::string& relative) {
  return std::string(MAMBA_SOURCE_DIR) + "/tests/data/models/" + relative;
}

// Whole file as bytes; empty string when it cannot be read.
inline std::string ReadFileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

inline void PutU16(std::string& s, uint16_t v) {
  s.push_back(static_cast<char>(v & 0xFF));
  s.push_back(static_cast<char>(v >> 8));
}
inline void PutU32(std::string& s, uint32_t v) {
  PutU16(s, static_cast<uint16_t>(v & 0xFFFF));
  PutU16(s, static_cast<uint16_t>(v >> 16));
}
inline void PutU64(std::string& s, uint64_t v) {
  PutU32(s, static_cast<uint32_t>(v & 0xFFFFFFFFu));
  PutU32(s, static_cast<uint32_t>(v >> 32));
}

struct ZipBuildEntry {
  std::string name;
  std::string data;
  uint16_t method = 0;  // written as-is (the data is never actually compressed)
  uint16_t flags = 0;
};

// Builds a ZIP archive. `align` pads each local header's extra field so entry data starts at a
// multiple of it (torch uses 64). With `zip64`, a ZIP64 EOCD record + locator are written and the
// classic EOCD fields hold 0xFFFF/0xFFFFFFFF. CRCs are written as 0 (the reader does not check).
inline std::string BuildZip(const std::vector<ZipBuildEntry>& entries, bool zip64 = false,
                            size_t align = 64, const std::string& comment = "") {
  std::string out;
  std::vector<uint64_t> offsets;
  for (const ZipBuildEntry& e : entries) {
    offsets.push_back(out.size());
    const size_t header_end = out.size() + 30 + e.name.size();
    size_t extra = 0;
    if (align > 1) {
      extra = (align - (header_end + 4) % align) % align + 4;  // "FB" id + length + padding
    }
    PutU32(out, 0x04034b50);
    PutU16(out, 20);
    PutU16(out, e.flags);
    PutU16(out, e.method);
    PutU32(out, 0);  // time, date
    PutU32(out, 0);  // crc
    PutU32(out, static_cast<uint32_t>(e.data.size()));
    PutU32(out, static_cast<uint32_t>(e.data.size()));
    PutU16(out, static_cast<uint16_t>(e.name.size()));
    PutU16(out, static_cast<uint16_t>(extra));
    out += e.name;
    if (extra > 0) {
      out += "FB";
      PutU16(out, static_cast<uint16_t>(extra - 4));
      out.append(extra - 4, 'Z');
    }
    out += e.data;
  }
  const uint64_t cd_offset = out.size();
  for (size_t i = 0; i < entries.size(); ++i) {
    const ZipBuildEntry& e = entries[i];
    PutU32(out, 0x02014b50);
    PutU16(out, 45);
    PutU16(out, 20);
    PutU16(out, e.flags);
    PutU16(out, e.method);
    PutU32(out, 0);
    PutU32(out, 0);
    PutU32(out, static_cast<uint32_t>(e.data.size()));
    PutU32(out, static_cast<uint32_t>(e.data.size()));
    PutU16(out, static_cast<uint16_t>(e.name.size()));
    PutU16(out, 0);  // extra
    PutU16(out, 0);  // comment
    PutU16(out, 0);  // disk
    PutU16(out, 0);  // internal attributes
    PutU32(out, 0);  // external attributes
    PutU32(out, static_cast<uint32_t>(offsets[i]));
    out += e.name;
  }
  const uint64_t cd_size = out.size() - cd_offset;
  if (zip64) {
    const uint64_t record = out.size();
    PutU32(out, 0x06064b50);
    PutU64(out, 44);
    PutU16(out, 45);
    PutU16(out, 45);
    PutU32(out, 0);
    PutU32(out, 0);
    PutU64(out, entries.size());
    PutU64(out, entries.size());
    PutU64(out, cd_size);
    PutU64(out, cd_offset);
    PutU32(out, 0x07064b50);
    PutU32(out, 0);
    PutU64(out, record);
    PutU32(out, 1);
  }
  PutU32(out, 0x06054b50);
  PutU16(out, 0);
  PutU16(out, 0);
  PutU16(out, zip64 ? 0xFFFF : static_cast<uint16_t>(entries.size()));
  PutU16(out, zip64 ? 0xFFFF : static_cast<uint16_t>(entries.size()));
  PutU32(out, zip64 ? 0xFFFFFFFFu : static_cast<uint32_t>(cd_size));
  PutU32(out, zip64 ? 0xFFFFFFFFu : static_cast<uint32_t>(cd_offset));
  PutU16(out, static_cast<uint16_t>(comment.size()));
  out += comment;
  return out;
}

struct Mamba1Dims {
  int64_t vocab_padded, d_model, n_layer, d_inner, d_state, d_conv, dt_rank;
};

// Expected {name: shape} of a Mamba-1 checkpoint (state-spaces names, or HF with `hf_names`).
inline std::map<std::string, std::vector<int64_t>> Mamba1Shapes(const Mamba1Dims& d, bool hf_names,
                                                                bool lm_head) {
  std::map<std::string, std::vector<int64_t>> shapes;
  shapes[hf_names ? "backbone.embeddings.weight" : "backbone.embedding.weight"] = {d.vocab_padded,
                                                                                   d.d_model};
  shapes["backbone.norm_f.weight"] = {d.d_model};
  if (lm_head) shapes["lm_head.weight"] = {d.vocab_padded, d.d_model};
  for (int64_t i = 0; i < d.n_layer; ++i) {
    const std::string p = "backbone.layers." + std::to_string(i) + ".";
    shapes[p + "norm.weight"] = {d.d_model};
    shapes[p + "mixer.in_proj.weight"] = {2 * d.d_inner, d.d_model};
    shapes[p + "mixer.conv1d.weight"] = {d.d_inner, 1, d.d_conv};
    shapes[p + "mixer.conv1d.bias"] = {d.d_inner};
    shapes[p + "mixer.x_proj.weight"] = {d.dt_rank + 2 * d.d_state, d.d_inner};
    shapes[p + "mixer.dt_proj.weight"] = {d.d_inner, d.dt_rank};
    shapes[p + "mixer.dt_proj.bias"] = {d.d_inner};
    shapes[p + "mixer.A_log"] = {d.d_inner, d.d_state};
    shapes[p + "mixer.D"] = {d.d_inner};
    shapes[p + "mixer.out_proj.weight"] = {d.d_model, d.d_inner};
  }
  return shapes;
}

inline constexpr Mamba1Dims kTinyDims{256, 64, 2, 128, 16, 4, 4};
inline constexpr Mamba1Dims kV997Dims{1000, 128, 2, 256, 16, 4, 8};
inline constexpr Mamba1Dims kHfDstate8Dims{320, 48, 3, 96, 8, 3, 5};

}  // namespace mamba::testing
