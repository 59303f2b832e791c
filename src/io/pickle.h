// SPDX-License-Identifier: MIT
// A bounded interpreter for the subset of Python pickle that torch.save writes for a state dict
// (protocols 2-5 binary opcodes). Layer: io. Only whitelisted globals can be referenced, nothing is
// ever executed, and stack/memo/object counts are capped so hostile input cannot exhaust memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/dtype.h"
#include "base/status.h"

namespace mamba {

// One tensor of a torch state dict as described by the pickle; the storage bytes live in the zip
// entry `<prefix>/data/<storage_key>` and are resolved by the caller (pytorch_bin).
struct TorchTensorRecord {
  std::string name;             // state-dict key
  std::string storage_key;      // persistent id key of the storage
  DType dtype = DType::kF32;    // element type of the storage (torch.FloatStorage -> F32, ...)
  int64_t storage_numel = 0;    // elements in the storage, as written in the persistent id
  int64_t storage_offset = 0;   // first element of the tensor within the storage
  std::vector<int64_t> shape;   // torch size, outermost first
  std::vector<int64_t> stride;  // in elements, same length as shape
};

// Caps on interpreter resources. The defaults admit state dicts with tens of thousands of tensors.
struct PickleLimits {
  size_t max_objects = size_t{1} << 20;          // values created (ints, strings, tuples, ...)
  size_t max_stack = size_t{1} << 20;            // stack entries, all frames together
  size_t max_marks = size_t{1} << 16;            // nested MARKs
  size_t max_memo = size_t{1} << 20;             // memo entries
  size_t max_container_items = size_t{1} << 24;  // items held by all tuples/lists/dicts together
};

// Runs the pickle in `bytes` (the `data.pkl` of a torch.save zip) and returns the tensors of the
// top-level dict in insertion order. Values that are not tensors (e.g. nested dicts) are skipped;
// the OrderedDict `_metadata` attribute set by BUILD is ignored. Whitelisted globals:
// collections.OrderedDict, torch._utils._rebuild_tensor_v2, torch._utils._rebuild_parameter,
// torch.FloatStorage, torch.HalfStorage, torch.BFloat16Storage; any other global is an
// Unimplemented error naming module.name. An unsupported opcode is an InvalidArgument error
// naming the opcode byte and offset; truncation is DataLoss; exceeding `limits` is OutOfRange.
// `source_name` (e.g. "model.bin: data.pkl") prefixes every error message.
StatusOr<std::vector<TorchTensorRecord>> ParseTorchPickle(std::string_view bytes,
                                                          const std::string& source_name,
                                                          const PickleLimits& limits = {});

}  // namespace mamba
