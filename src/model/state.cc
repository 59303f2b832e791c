// SPDX-License-Identifier: MIT
#include "model/state.h"

namespace mamba {

SequenceState::SequenceState(const StateShape& shape)
    : shape_(shape),
      conv_(static_cast<size_t>(shape.n_layer * shape.conv_per_layer())),
      ssm_(static_cast<size_t>(shape.n_layer * shape.ssm_size)) {}

SequenceState SequenceState::Clone() const {
  SequenceState s;
  s.shape_ = shape_;
  s.conv_ = conv_.Clone();
  s.ssm_ = ssm_.Clone();
  s.n_past = n_past;
  return s;
}

void SequenceState::Reset() {
  conv_.Zero();
  ssm_.Zero();
  n_past = 0;
}

}  // namespace mamba
