// SPDX-License-Identifier: MIT
#include "model/weight_binder.h"

#include <cstdint>
#include <utility>

#include "kernels/quant_repack.h"

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
  if (regrouped_ != nullptr) {
    if (const uint8_t* g = regrouped_->Get(*t); g != nullptr) {
      m.data = g;
      m.layout = WeightLayout::kGroups8;
    }
  }
  return m;
}

StatusOr<std::vector<float>> WeightBinder::F32(const std::string& name,
                                               const std::vector<int64_t>& shape) const {
  MAMBA_ASSIGN_OR_RETURN(const TensorView* t, Get(name, shape));
  std::vector<float> out(static_cast<size_t>(t->numel()));
  // (A matrix bound regrouped has released its stored bytes: read the copy.)
  const auto [bytes, nbytes] =
      regrouped_ != nullptr ? regrouped_->KernelBytes(*t) : std::pair{t->data, t->nbytes};
  if (bytes != t->data) {
    const WeightMatrix w{t->dtype, bytes, t->shape[0], t->shape[1], WeightLayout::kGroups8};
    std::vector<uint8_t> stored(nbytes);
    UngroupRows(w, 0, w.rows, stored.data());
    ConvertToF32(t->dtype, stored.data(), t->numel(), out.data());
    return out;
  }
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
