// SPDX-License-Identifier: MIT
// Helpers for tests against the independent PyTorch/float64 reference in tests/data/models (and
// ../shared/testdata/models when present): case discovery and raw golden file reading.
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <vector>

namespace mamba::testing {

// One weight file of a reference case together with the golden directory that applies to it.
struct GoldenCase {
  std::string case_name;    // "mamba1-tiny"
  std::string weights_rel;  // "variants/pt_bin/pytorch_model.bin"
  std::filesystem::path case_dir;
  std::filesystem::path weights;  // absolute path of the weight file
  std::filesystem::path golden_dir;
  std::string dtype;  // "f32", "f16", "bf16"

  std::string Label() const;  // gtest-safe name
};

// gtest prints parameters with this instead of a byte dump.
inline void PrintTo(const GoldenCase& c, std::ostream* os) {
  *os << c.case_name << "/" << c.weights_rel;
}

// Every Mamba-1 and Mamba-2 (case, weight file) pair found under the project's tests/data/models
// and, when it exists, ../shared/testdata/models (cases already copied into the project are not
// repeated).
std::vector<GoldenCase> DiscoverGoldenCases();

std::vector<float> ReadF32(const std::filesystem::path& p);
std::vector<int32_t> ReadI32(const std::filesystem::path& p);
nlohmann::json ReadJson(const std::filesystem::path& p);

// max |a - b| over equal-sized arrays.
double MaxAbsDiff(const float* a, const float* b, size_t n);
double MaxAbs(const float* a, size_t n);

}  // namespace mamba::testing
