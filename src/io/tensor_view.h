// SPDX-License-Identifier: MIT
// TensorView: a named, typed, shaped, read-only view of tensor bytes inside a MappedFile.
// TensorSet: the tensors of one checkpoint (one or more files), looked up by name.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/dtype.h"
#include "io/mapped_file.h"

namespace mamba {

struct TensorView {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<int64_t> shape;     // outermost first (PyTorch order): a Linear weight is [out, in]
  const uint8_t* data = nullptr;  // contiguous, row-major, little-endian; points into `file`
  size_t nbytes = 0;              // == product(shape) elements in `dtype`
  std::shared_ptr<MappedFile> file;  // keeps the bytes alive

  int64_t numel() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
  }
};

// "[2, 3, 4]"
std::string ShapeToString(const std::vector<int64_t>& shape);

class TensorSet {
 public:
  // Adds `t`; fails if a tensor of that name is already present (names must be unique).
  Status Add(TensorView t);
  // Returns the tensor or nullptr.
  const TensorView* Find(const std::string& name) const;
  std::vector<std::string> Names() const;
  size_t size() const { return tensors_.size(); }
  // Moves every tensor of `other` into this set (duplicate names fail).
  Status Merge(TensorSet&& other);

 private:
  std::map<std::string, TensorView> tensors_;
};

}  // namespace mamba
