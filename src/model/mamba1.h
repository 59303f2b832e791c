// SPDX-License-Identifier: MIT
// Mamba-1 selective-SSM mixer (state-spaces/mamba `Mamba` in mamba_ssm/modules/mamba_simple.py).
#pragma once

#include <memory>
#include <string>

#include "model/mixer.h"

namespace mamba {

StateShape Mamba1StateShape(const ModelConfig& config);

StatusOr<std::unique_ptr<Mixer>> LoadMamba1Mixer(const ModelConfig& config,
                                                 const WeightBinder& weights,
                                                 const std::string& prefix);

}  // namespace mamba
