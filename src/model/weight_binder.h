// SPDX-License-Identifier: MIT
// WeightBinder: looks up checkpoint tensors by name and checks their shapes once, at load, so the
// forward pass has no error paths. Big matrices stay in the mapped file in their stored dtype;
// small parameter vectors are converted to F32 copies.
#pragma once

#include <string>
#include <vector>

#include "base/status.h"
#include "io/tensor_view.h"
#include "kernels/matmul.h"

namespace mamba {

class WeightBinder {
 public:
  // `source` names the checkpoint in error messages (a path).
  WeightBinder(const TensorSet& tensors, std::string source)
      : tensors_(tensors), source_(std::move(source)) {}

  bool Has(const std::string& name) const { return tensors_.Find(name) != nullptr; }

  // The tensor `name` with exactly `shape`, or an error naming the tensor, expected and found
  // shape.
  StatusOr<const TensorView*> Get(const std::string& name, const std::vector<int64_t>& shape) const;

  // A [rows, cols] matrix used in place (any dtype the matmul kernels accept).
  StatusOr<WeightMatrix> Matrix(const std::string& name, int64_t rows, int64_t cols) const;

  // A tensor of `shape` converted to a contiguous F32 vector (row-major).
  StatusOr<std::vector<float>> F32(const std::string& name,
                                   const std::vector<int64_t>& shape) const;

  const std::string& source() const { return source_; }

 private:
  const TensorSet& tensors_;
  std::string source_;
};

}  // namespace mamba
