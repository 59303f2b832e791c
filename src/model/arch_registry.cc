// SPDX-License-Identifier: MIT
// The one table that maps an architecture to its implementation.
#include "model/mamba1.h"
#include "model/mamba2.h"
#include "model/mixer.h"

namespace mamba {

StatusOr<const ArchOps*> GetArchOps(Arch arch) {
  static const ArchOps kMamba1Ops = {&Mamba1StateShape, &LoadMamba1Mixer};
  static const ArchOps kMamba2Ops = {&Mamba2StateShape, &LoadMamba2Mixer};
  switch (arch) {
    case Arch::kMamba1:
      return &kMamba1Ops;
    case Arch::kMamba2:
      return &kMamba2Ops;
  }
  return UnimplementedError("unknown architecture");
}

}  // namespace mamba
