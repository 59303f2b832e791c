// SPDX-License-Identifier: MIT
#include "model/weight_binder.h"

#include <cstdint>

namespace mamba {

StatusOr<const TensorView*> WeightBinder::Get(const std::string& name,
                                              const std::vector<int64_t>& shape) const {
  const TensorView* t = tensors_.Find(name);
  if (t == nullptr) return NotFoundError(source_ + ": missing tensor '" + name + "'");
  if (t->shape != shape) {
    return InvalidArgumentError(source_ + ": tensor '" + name + "': expected shape " +
                                ShapeToString(shape) + ", found " + ShapeToString(t->shape));
  }
  return t;
}

StatusOr<WeightMatrix> WeightBinder::Matrix(const std::string& name, int64_t rows,
                                            int64_t cols) const {
  MAMBA_ASSIGN_OR_RETURN(const TensorView* t, Get(name, {rows, cols}));
  WeightMatrix m;
  m.dtype = t->dtype;
  m.data = t->data;
  m.rows = rows;
  m.cols = cols;
  return m;
}

StatusOr<std::vector<float>> WeightBinder::F32(const std::string& name,
                                               const std::vector<int64_t>& shape) const {
  MAMBA_ASSIGN_OR_RETURN(const TensorView* t, Get(name, shape));
  std::vector<float> out(static_cast<size_t>(t->numel()));
  ConvertToF32(t->dtype, t->data, t->numel(), out.data());
  return out;
}

StatusOr<F32Param> WeightBinder::F32InPlace(const std::string& name,
                                            const std::vector<int64_t>& shape) const {
  MAMBA_ASSIGN_OR_RETURN(const TensorView* t, Get(name, shape));
  if (t->dtype == DType::kF32 && reinterpret_cast<uintptr_t>(t->data) % alignof(float) == 0) {
    return F32Param::View(reinterpret_cast<const float*>(t->data), t->numel());
  }
  MAMBA_ASSIGN_OR_RETURN(std::vector<float> copy, F32(name, shape));
  return F32Param::Owned(std::move(copy));
}

}  // namespace mamba
