// SPDX-License-Identifier: MIT
// Reader for PyTorch `torch.save` zip checkpoints (pytorch_model.bin): `<prefix>/data.pkl` holds
// the pickled state dict, `<prefix>/data/<key>` the raw little-endian storages. Layer: io.
// Tensor data is not copied: every TensorView points into the memory map of the file.
#pragma once

#include <memory>
#include <string>

#include "base/status.h"
#include "io/mapped_file.h"
#include "io/tensor_view.h"

namespace mamba {

// Parses the torch.save zip archive in `file` and returns a view of every tensor of its top-level
// state dict. The prefix folder may have any name, but there must be exactly one
// `<prefix>/data.pkl` at the top level. Tensors that share a storage (tied weights such as
// lm_head.weight and backbone.embedding.weight) each appear under their own name, pointing at the
// same bytes. Fails, naming the file and tensor/entry at fault, for: a malformed zip or pickle (see
// ZipReader::Open, ParseTorchPickle), compressed entries, a missing `data/<key>` entry, a storage
// entry smaller than its recorded numel, a tensor that does not fit its storage, non-contiguous
// strides (Unimplemented), storages referenced with two different dtypes, and data not aligned to
// its element size (Unimplemented; torch aligns entries to 64 bytes).
StatusOr<TensorSet> ReadPytorchBin(std::shared_ptr<MappedFile> file);

// Maps (or reads, see FileAccess) `path` and calls ReadPytorchBin.
StatusOr<TensorSet> LoadPytorchBinFile(const std::string& path,
                                       FileAccess access = FileAccess::kMap);

}  // namespace mamba
