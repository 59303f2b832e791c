// SPDX-License-Identifier: MIT
// Mamba-2 mixer (state-spaces/mamba `Mamba2` in mamba_ssm/modules/mamba2.py), without the
// optional MLP part (d_ssm = d_inner) and with RMSNormGated (norm_before_gate=False, per group).
#pragma once

#include <memory>
#include <string>

#include "model/mixer.h"

namespace mamba {

StateShape Mamba2StateShape(const ModelConfig& config);

StatusOr<std::unique_ptr<Mixer>> LoadMamba2Mixer(const ModelConfig& config,
                                                 const WeightBinder& weights,
                                                 const std::string& prefix);

}  // namespace mamba
