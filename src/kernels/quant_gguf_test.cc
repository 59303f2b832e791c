// SPDX-License-Identifier: MIT
// Bit-exact dequantization of real llama.cpp files: every tensor of every GGUF stored in
// shared/testdata/gguf is dequantized (scalar reference, then ConvertToF32 on every Highway
// target) and the sha256 of its float32 values is compared with ggml's in manifest.json.
// Tensors are located by the manifest's absolute `data_offset` (independent of io/gguf).
// Also: regression slices in tests/data/quant (see QuantSlicesTest).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "base/dtype.h"
#include "kernels/kernel_test_util.h"
#include "kernels/quant_test_util.h"
#include "kernels/matmul.h"
#include "kernels/quantize.h"
#include "kernels/sha256_test_util.h"

namespace mamba {
namespace {

namespace fs = std::filesystem;
using kernels_test::ForEachQuantTarget;
using kernels_test::Sha256Hex;

const fs::path kGgufDir = fs::path(MAMBA_SOURCE_DIR) / ".." / "shared" / "testdata" / "gguf";
const fs::path kSliceDir = fs::path(MAMBA_SOURCE_DIR) / "tests" / "data" / "quant";

std::string ReadAll(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

std::optional<DType> DTypeByName(const std::string& name) {
  for (int i = 0; i <= static_cast<int>(DType::kQ8_K); ++i) {
    if (GetDTypeInfo(static_cast<DType>(i)).name == name) return static_cast<DType>(i);
  }
  return std::nullopt;
}

struct ManifestTensor {
  std::string name, type, sha;
  std::vector<int64_t> ne;
  size_t n_bytes, offset;
};

// The "tensors" entries of one file's section of manifest.json (fixed key order).
std::vector<ManifestTensor> TensorsOf(const std::string& section) {
  static const std::regex kRe(
      "\"name\": \"([^\"]+)\",\\s*\"type\": \"([^\"]+)\",\\s*\"ne\": \\[([^\\]]*)\\],\\s*"
      "\"n_bytes\": (\\d+),\\s*\"data_offset\": (\\d+),\\s*\"dequant_f32_sha256\": "
      "\"([0-9a-f]+)\"");
  std::vector<ManifestTensor> out;
  for (auto it = std::sregex_iterator(section.begin(), section.end(), kRe);
       it != std::sregex_iterator(); ++it) {
    ManifestTensor t{
        (*it)[1], (*it)[2], (*it)[6], {}, std::stoull((*it)[4]), std::stoull((*it)[5])};
    std::stringstream ne((*it)[3].str());
    std::string tok;
    while (std::getline(ne, tok, ',')) t.ne.push_back(std::stoll(tok));
    out.push_back(t);
  }
  return out;
}

// Manifest tensors of GGUF file `file` ("mamba1-neox256-Q4_0.gguf"); empty if not listed.
std::vector<ManifestTensor> ManifestTensorsOf(const std::string& manifest,
                                              const std::string& file) {
  const size_t at = manifest.find("\"" + file + "\": {");
  if (at == std::string::npos) return {};
  size_t end = manifest.find("\"mamba1-neox256-", at + file.size() + 4);
  if (end == std::string::npos) end = manifest.size();
  return TensorsOf(manifest.substr(at, end - at));
}

const ManifestTensor* Find(const std::vector<ManifestTensor>& ts, const std::string& name) {
  for (const ManifestTensor& t : ts) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

// Dequantizes rows*cols elements of `dtype` with the scalar reference (quantized) or
// ConvertToF32 (plain types) row by row.
std::vector<float> DequantRef(DType dtype, const uint8_t* data, int64_t rows, int64_t cols) {
  std::vector<float> out(static_cast<size_t>(rows * cols));
  const size_t rb = DTypeRowBytes(dtype, cols);
  for (int64_t r = 0; r < rows; ++r) {
    if (IsQuantized(dtype)) {
      DequantizeRowRef(dtype, data + r * rb, cols, out.data() + r * cols);
    } else {
      ConvertToF32(dtype, data + r * rb, cols, out.data() + r * cols);
    }
  }
  return out;
}

// Regression slices: the first 4 rows of one real tensor per type, with the sha256 of their
// dequantized float32 values as computed by this code right after the full-tensor check above
// passed (ggml itself was not run on the slices). Regenerate with MAMBA_WRITE_QUANT_SLICES=1.
struct Slice {
  const char* file;
  const char* tensor;
};
constexpr Slice kSlices[] = {
    {"mamba1-neox256-Q8_0.gguf", "blk.0.ssm_in.weight"},
    {"mamba1-neox256-Q4_0.gguf", "blk.0.ssm_in.weight"},
    {"mamba1-neox256-Q5_1.gguf", "blk.0.ssm_out.weight"},
    {"mamba1-neox256-Q4_K_M.gguf", "blk.0.ssm_in.weight"},
    {"mamba1-neox256-Q5_K_M.gguf", "blk.1.ssm_x.weight"},
    {"mamba1-neox256-Q4_K_M.gguf", "token_embd.weight"},
};
constexpr int64_t kSliceRows = 4;

void WriteSlices(const std::string& manifest) {
  fs::create_directories(kSliceDir);
  std::ofstream index(kSliceDir / "slices.txt");
  index << "# type cols rows raw-file sha256-of-dequantized-f32 (source: shared/testdata/gguf)\n";
  for (const Slice& s : kSlices) {
    const auto tensors = ManifestTensorsOf(manifest, s.file);
    const ManifestTensor* t = Find(tensors, s.tensor);
    ASSERT_NE(t, nullptr);
    const DType dtype = *DTypeByName(t->type);
    const int64_t cols = t->ne[0];
    const std::string bytes = ReadAll(kGgufDir / s.file);
    const size_t n = DTypeRowBytes(dtype, cols) * kSliceRows;
    const std::string raw = bytes.substr(t->offset, n);
    const std::string name = t->type + "_" + s.tensor + ".bin";
    std::ofstream(kSliceDir / name, std::ios::binary).write(raw.data(), raw.size());
    const auto deq =
        DequantRef(dtype, reinterpret_cast<const uint8_t*>(raw.data()), kSliceRows, cols);
    index << t->type << " " << cols << " " << kSliceRows << " " << name << " "
          << Sha256Hex(deq.data(), deq.size() * 4) << "\n";
  }
}

TEST(QuantSlicesTest, RecordedDequantizationOfRealBlocks) {
  std::ifstream index(kSliceDir / "slices.txt");
  ASSERT_TRUE(index.good()) << kSliceDir;
  std::string line;
  int checked = 0;
  while (std::getline(index, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ls(line);
    std::string type, file, sha;
    int64_t cols, rows;
    ls >> type >> cols >> rows >> file >> sha;
    SCOPED_TRACE(line);
    const auto dtype = DTypeByName(type);
    ASSERT_TRUE(dtype.has_value());
    const std::string raw = ReadAll(kSliceDir / file);
    ASSERT_EQ(raw.size(), DTypeRowBytes(*dtype, cols) * rows);
    const auto* data = reinterpret_cast<const uint8_t*>(raw.data());
    EXPECT_EQ(Sha256Hex(DequantRef(*dtype, data, rows, cols).data(), rows * cols * 4), sha);
    ForEachQuantTarget([&](const std::string&) {
      std::vector<float> got(rows * cols);
      ConvertToF32(*dtype, data, rows * cols, got.data());
      EXPECT_EQ(Sha256Hex(got.data(), got.size() * 4), sha);
    });
    ++checked;
  }
  EXPECT_EQ(checked, 6);
}

TEST(QuantGgufTest, DequantizationBitExactWithGgmlForEveryStoredTensor) {
  if (!fs::exists(kGgufDir / "manifest.json")) {
    GTEST_SKIP() << "shared GGUF test data not found at " << kGgufDir;
  }
  const std::string manifest = ReadAll(kGgufDir / "manifest.json");
  const size_t files_at = manifest.find("\"gguf_files\"");
  const size_t files_end = manifest.find("\"model_safetensors\"");
  ASSERT_NE(files_at, std::string::npos);
  const std::string files = manifest.substr(files_at, files_end - files_at);
  static const std::regex kFileRe("\"(mamba1-neox256-[A-Za-z0-9_]+\\.gguf)\": \\{");
  std::vector<std::pair<std::string, size_t>> starts;
  for (auto it = std::sregex_iterator(files.begin(), files.end(), kFileRe);
       it != std::sregex_iterator(); ++it) {
    starts.emplace_back((*it)[1], static_cast<size_t>(it->position()));
  }
  int files_checked = 0, tensors_checked = 0, quantized_checked = 0;
  for (size_t f = 0; f < starts.size(); ++f) {
    const fs::path path = kGgufDir / starts[f].first;
    if (!fs::exists(path)) continue;  // not shipped (size budget)
    SCOPED_TRACE(starts[f].first);
    const size_t end = f + 1 < starts.size() ? starts[f + 1].second : files.size();
    const auto tensors = TensorsOf(files.substr(starts[f].second, end - starts[f].second));
    ASSERT_GT(tensors.size(), 10u);
    const std::string bytes = ReadAll(path);
    ++files_checked;
    for (const ManifestTensor& t : tensors) {
      SCOPED_TRACE(t.name + " " + t.type);
      const auto dtype = DTypeByName(t.type);
      ASSERT_TRUE(dtype.has_value());
      const int64_t cols = t.ne[0];
      int64_t rows = 1;
      for (size_t k = 1; k < t.ne.size(); ++k) rows *= t.ne[k];
      ASSERT_EQ(DTypeRowBytes(*dtype, cols) * rows, t.n_bytes);
      ASSERT_LE(t.offset + t.n_bytes, bytes.size());
      const auto* data = reinterpret_cast<const uint8_t*>(bytes.data()) + t.offset;
      const std::vector<float> ref = DequantRef(*dtype, data, rows, cols);
      EXPECT_EQ(Sha256Hex(ref.data(), ref.size() * 4), t.sha);
      ++tensors_checked;
      if (!IsQuantized(*dtype)) continue;
      ++quantized_checked;
      ForEachQuantTarget([&](const std::string&) {
        std::vector<float> got(ref.size());  // whole tensor in one call (rows are contiguous)
        ConvertToF32(*dtype, data, rows * cols, got.data());
        EXPECT_EQ(std::memcmp(got.data(), ref.data(), ref.size() * 4), 0);
      });
    }
  }
  EXPECT_GE(files_checked, 5);
  if (std::getenv("MAMBA_WRITE_QUANT_SLICES") != nullptr && !HasFailure()) WriteSlices(manifest);
  std::printf("checked %d files, %d tensors (%d quantized)\n", files_checked, tensors_checked,
              quantized_checked);
}

// llama-quantize gives byte-identical files from the stored F16 GGUF as from the F32 one (see
// the data README), so quantizing the F16 file's matrices with our reference quantizers must
// reproduce the Q8_0 / Q4_0 / Q5_1 files' tensors byte for byte. For the K-quants (our own
// search, not ggml's) the squared error must be no worse than llama-quantize's by 3%.
TEST(QuantGgufTest, QuantizersMatchLlamaQuantize) {
  if (!fs::exists(kGgufDir / "manifest.json")) {
    GTEST_SKIP() << "shared GGUF test data not found at " << kGgufDir;
  }
  const std::string manifest = ReadAll(kGgufDir / "manifest.json");
  const std::string f16_name = "mamba1-neox256-F16.gguf";
  const auto f16_tensors = ManifestTensorsOf(manifest, f16_name);
  const std::string f16 = ReadAll(kGgufDir / f16_name);
  ASSERT_FALSE(f16_tensors.empty());
  int identical = 0, legacy = 0;
  for (const char* file :
       {"mamba1-neox256-Q8_0.gguf", "mamba1-neox256-Q4_0.gguf", "mamba1-neox256-Q5_1.gguf",
        "mamba1-neox256-Q4_K_M.gguf", "mamba1-neox256-Q5_K_M.gguf"}) {
    if (!fs::exists(kGgufDir / file)) continue;
    SCOPED_TRACE(file);
    const std::string qbytes = ReadAll(kGgufDir / file);
    for (const ManifestTensor& t : ManifestTensorsOf(manifest, file)) {
      const auto dtype = DTypeByName(t.type);
      ASSERT_TRUE(dtype.has_value());
      if (!IsQuantized(*dtype)) continue;
      SCOPED_TRACE(t.name + " " + t.type);
      const ManifestTensor* src = Find(f16_tensors, t.name);
      ASSERT_NE(src, nullptr);
      ASSERT_EQ(src->type, "F16");
      const int64_t cols = t.ne[0], rows = static_cast<int64_t>(src->n_bytes / 2 / cols);
      const std::vector<float> x = DequantRef(
          DType::kF16, reinterpret_cast<const uint8_t*>(f16.data()) + src->offset, rows, cols);
      std::vector<uint8_t> ours(t.n_bytes);
      const size_t rb = DTypeRowBytes(*dtype, cols);
      for (int64_t r = 0; r < rows; ++r) {
        QuantizeRow(*dtype, x.data() + r * cols, cols, ours.data() + r * rb);
      }
      const auto* theirs = reinterpret_cast<const uint8_t*>(qbytes.data()) + t.offset;
      const bool k_quant =
          *dtype == DType::kQ4_K || *dtype == DType::kQ5_K || *dtype == DType::kQ6_K;
      if (!k_quant) {
        ++legacy;
        EXPECT_EQ(std::memcmp(ours.data(), theirs, t.n_bytes), 0);
        identical += std::memcmp(ours.data(), theirs, t.n_bytes) == 0;
        continue;
      }
      const std::vector<float> a = DequantRef(*dtype, ours.data(), rows, cols);
      const std::vector<float> b = DequantRef(*dtype, theirs, rows, cols);
      double se_ours = 0, se_theirs = 0;
      for (size_t i = 0; i < x.size(); ++i) {
        se_ours += (a[i] - x[i]) * static_cast<double>(a[i] - x[i]);
        se_theirs += (b[i] - x[i]) * static_cast<double>(b[i] - x[i]);
      }
      std::printf("%s %s: rmse ours %.6g llama-quantize %.6g\n", t.type.c_str(), t.name.c_str(),
                  std::sqrt(se_ours / x.size()), std::sqrt(se_theirs / x.size()));
      EXPECT_LE(se_ours, 1.03 * se_theirs);
    }
  }
  std::printf("%d of %d legacy-type tensors byte-identical\n", identical, legacy);
  EXPECT_GT(legacy, 0);
}

}  // namespace
}  // namespace mamba
