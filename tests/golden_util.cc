// SPDX-License-Identifier: MIT
#include "golden_util.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <set>

namespace mamba::testing {

namespace fs = std::filesystem;

std::string GoldenCase::Label() const {
  std::string s = case_name + "_" + weights_rel;
  for (char& c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return s;
}

nlohmann::json ReadJson(const fs::path& p) {
  std::ifstream in(p);
  return nlohmann::json::parse(in);
}

std::vector<GoldenCase> DiscoverGoldenCases() {
  std::vector<GoldenCase> out;
  std::set<std::string> seen;
  const fs::path roots[] = {fs::path(MAMBA_SOURCE_DIR) / "tests/data/models",
                            fs::path(MAMBA_SOURCE_DIR) / "../shared/testdata/models"};
  for (const fs::path& root : roots) {
    std::error_code ec;
    if (!fs::is_directory(root, ec)) continue;
    std::vector<fs::path> dirs;
    for (const auto& e : fs::directory_iterator(root)) {
      if (e.is_directory() && fs::exists(e.path() / "manifest.json")) dirs.push_back(e.path());
    }
    std::sort(dirs.begin(), dirs.end());
    for (const fs::path& dir : dirs) {
      const std::string name = dir.filename().string();
      if (!seen.insert(name).second) continue;
      const auto manifest = ReadJson(dir / "manifest.json");
      const std::string arch = manifest.value("arch", "");
      if (arch != "mamba1" && arch != "mamba2") continue;
      for (const auto& [dtype, g] : manifest["golden"].items()) {
        for (const auto& rel : g["applies_to_weight_files"]) {
          GoldenCase c;
          c.case_name = name;
          c.weights_rel = rel.get<std::string>();
          c.case_dir = dir;
          c.weights = dir / c.weights_rel;
          c.golden_dir = dir / g["dir"].get<std::string>();
          c.dtype = dtype;
          out.push_back(std::move(c));
        }
      }
    }
  }
  return out;
}

template <class T>
static std::vector<T> ReadRaw(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return {};
  in.seekg(0, std::ios::end);
  const auto size = static_cast<size_t>(in.tellg());
  in.seekg(0);
  std::vector<T> v(size / sizeof(T));
  in.read(reinterpret_cast<char*>(v.data()), static_cast<std::streamsize>(v.size() * sizeof(T)));
  return v;
}

std::vector<float> ReadF32(const fs::path& p) { return ReadRaw<float>(p); }
std::vector<int32_t> ReadI32(const fs::path& p) { return ReadRaw<int32_t>(p); }

double MaxAbsDiff(const float* a, const float* b, size_t n) {
  double m = 0;
  for (size_t i = 0; i < n; ++i) m = std::max(m, std::fabs(double(a[i]) - double(b[i])));
  return m;
}

double MaxAbs(const float* a, size_t n) {
  double m = 0;
  for (size_t i = 0; i < n; ++i) m = std::max(m, std::fabs(double(a[i])));
  return m;
}

}  // namespace mamba::testing
