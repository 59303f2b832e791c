// SPDX-License-Identifier: MIT
// RegroupedWeights: the quantized matrices of a checkpoint rewritten at load into the layout the
// dispatched kernels read fastest (kernels/quant_repack.h: kGroups8 on x86 AVX2 and up, where it
// takes the x86 decode kernels from ~26 to ~37 GB/s for Q4_0 and ~40 to ~56 GB/s for Q8_0, in
// cache). One anonymous huge-page buffer holds them all, sized when the checkpoint is opened;
// each source tensor's pages are given back (MappedFile::Release) once its copy is made, so the
// weights are in memory once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>

#include "base/status.h"
#include "io/anonymous_memory.h"
#include "io/tensor_view.h"

namespace mamba {

class RegroupedWeights {
 public:
  // Room for every tensor of `tensors` that will be regrouped (see WillRegroup); `source` names
  // the checkpoint in errors.
  static StatusOr<std::unique_ptr<RegroupedWeights>> ForTensors(const TensorSet& tensors,
                                                                const std::string& source);

  // True when `t` is regrouped: a [rows, cols] matrix of a dtype that has the kGroups8 layout,
  // with at least one whole group of 8 blocks per row, which the kernels dispatched now read
  // regrouped.
  static bool WillRegroup(const TensorView& t);

  // The regrouped bytes of `t` (one of the tensors it was sized for), made on the first call for
  // that tensor, whose own pages are then released; null when `t` is not regrouped.
  const uint8_t* Get(const TensorView& t);

  // Makes the buffer read-only (after the model has bound every matrix).
  void Seal() { memory_.MakeReadOnly(); }

  // Where the bytes the kernels read for `t` are: its regrouped copy once made, else the
  // tensor's own bytes.
  std::pair<const uint8_t*, size_t> KernelBytes(const TensorView& t) const;

 private:
  struct Slot {
    size_t offset = 0;
    bool made = false;
  };
  AnonymousMemory memory_;
  std::map<std::string, Slot> slots_;  // by tensor name
};

}  // namespace mamba
