// SPDX-License-Identifier: MIT
#include "io/tensor_view.h"

namespace mamba {

std::string ShapeToString(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

Status TensorSet::Add(TensorView t) {
  std::string name = t.name;
  auto [it, inserted] = tensors_.emplace(name, std::move(t));
  if (!inserted) return InvalidArgumentError("duplicate tensor '" + name + "'");
  return Status::Ok();
}

const TensorView* TensorSet::Find(const std::string& name) const {
  auto it = tensors_.find(name);
  return it == tensors_.end() ? nullptr : &it->second;
}

std::vector<std::string> TensorSet::Names() const {
  std::vector<std::string> names;
  names.reserve(tensors_.size());
  for (const auto& [name, t] : tensors_) names.push_back(name);
  return names;
}

Status TensorSet::Merge(TensorSet&& other) {
  for (auto& [name, t] : other.tensors_) MAMBA_RETURN_IF_ERROR(Add(std::move(t)));
  other.tensors_.clear();
  return Status::Ok();
}

}  // namespace mamba
