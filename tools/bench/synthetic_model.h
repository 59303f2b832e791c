// SPDX-License-Identifier: MIT
// Random-weight Mamba-1 and Mamba-2 checkpoints of the real model shapes (state-spaces layout:
// config.json + model.safetensors), for benchmarks when no checkpoint is at hand. Same layout and
// value ranges as tools/bench/make_random_model.py, written tensor by tensor (memory use stays
// small).
#pragma once

#include <cstdint>
#include <string>

#include "base/dtype.h"
#include "base/status.h"

namespace mamba::bench {

struct SyntheticShape {
  std::string name;  // "130m", "370m", "790m", "1.4b", "2.8b"; "mamba2-130m" ... "mamba2-2.7b"
  int64_t d_model = 0;
  int64_t n_layer = 0;
  bool mamba2 = false;  // Mamba-2 with the mamba2-* defaults (d_state 128, headdim 64, 1 group)
};

// The shape called `name`, or InvalidArgument listing the known ones.
StatusOr<SyntheticShape> FindSyntheticShape(const std::string& name);

// Writes `dir`/config.json and `dir`/model.safetensors (creating `dir`), every tensor in `dtype`.
// Reuses existing files when `dir`/.complete says they were written for the same shape and dtype.
Status WriteSyntheticModel(const SyntheticShape& shape, DType dtype, const std::string& dir);

}  // namespace mamba::bench
