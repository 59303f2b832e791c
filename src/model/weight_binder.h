// SPDX-License-Identifier: MIT
// WeightBinder: looks up checkpoint tensors by name and checks their shapes once, at load, so the
// forward pass has no error paths. Big matrices stay in the mapped file in their stored dtype;
// small parameter vectors are read in place when stored as F32, else converted to F32 copies.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"
#include "io/tensor_view.h"
#include "kernels/matmul.h"
#include "model/regrouped_weights.h"

namespace mamba {

// A parameter tensor as contiguous F32, row-major: a view of the mapped checkpoint when it is
// stored as F32 (no copy: its pages are counted in the file already), else an owned F32 copy.
// Move-only (a moved vector keeps its buffer, so the view stays valid); empty when
// default-constructed.
class F32Param {
 public:
  F32Param() = default;
  static F32Param View(const float* data, int64_t size) {
    F32Param p;
    p.data_ = data;
    p.size_ = size;
    return p;
  }
  static F32Param Owned(std::vector<float> values) {
    F32Param p;
    p.owned_ = std::move(values);
    p.data_ = p.owned_.data();
    p.size_ = static_cast<int64_t>(p.owned_.size());
    return p;
  }
  F32Param(F32Param&& o) noexcept { *this = std::move(o); }
  F32Param& operator=(F32Param&& o) noexcept {
    owned_ = std::move(o.owned_);
    data_ = std::exchange(o.data_, nullptr);
    size_ = std::exchange(o.size_, 0);
    return *this;
  }
  F32Param(const F32Param&) = delete;
  F32Param& operator=(const F32Param&) = delete;

  const float* data() const { return data_; }  // null when empty
  int64_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  float operator[](int64_t i) const { return data_[i]; }

 private:
  const float* data_ = nullptr;
  int64_t size_ = 0;
  std::vector<float> owned_;
};

class WeightBinder {
 public:
  // `source` names the checkpoint in error messages (a path). With `regrouped`, the matrices it
  // holds a slot for are bound regrouped (see Matrix).
  WeightBinder(const TensorSet& tensors, std::string source, RegroupedWeights* regrouped = nullptr)
      : tensors_(tensors), source_(std::move(source)), regrouped_(regrouped) {}

  bool Has(const std::string& name) const { return tensors_.Find(name) != nullptr; }

  // The tensor `name` with exactly `shape`, or an error naming the tensor, expected and found
  // shape.
  StatusOr<const TensorView*> Get(const std::string& name, const std::vector<int64_t>& shape) const;

  // A [rows, cols] matrix used in place (any dtype the matmul kernels accept), or, where the
  // binder has RegroupedWeights that regroup it, its regrouped copy (layout kGroups8; the stored
  // bytes are released and must not be read again).
  StatusOr<WeightMatrix> Matrix(const std::string& name, int64_t rows, int64_t cols) const;

  // A tensor of `shape` converted to a contiguous F32 vector (row-major), always a copy.
  StatusOr<std::vector<float>> F32(const std::string& name,
                                   const std::vector<int64_t>& shape) const;

  // A tensor of `shape` as F32 for reading only: in place when stored as (4-byte aligned) F32,
  // else a converted copy.
  StatusOr<F32Param> F32InPlace(const std::string& name, const std::vector<int64_t>& shape) const;

  const std::string& source() const { return source_; }

 private:
  const TensorSet& tensors_;
  std::string source_;
  RegroupedWeights* regrouped_;
};

}  // namespace mamba
