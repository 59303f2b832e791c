// SPDX-License-Identifier: MIT
// Reader and writer for the safetensors format: u64 little-endian header length N, N bytes of
// JSON header, then raw little-endian tensor data. Layer: io. Tensors are not copied: every
// TensorView points into the memory map of the file.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "io/mapped_file.h"
#include "io/tensor_view.h"

namespace mamba {

// Largest JSON header accepted, as in the reference implementation (100 MiB).
inline constexpr uint64_t kMaxSafetensorsHeaderBytes = 100ull << 20;

// Parses and validates the safetensors file held in `file` and returns views of its tensors
// (data points into `file`, which every view keeps alive). Returns a non-OK Status naming the
// file, tensor and field at fault for any malformed input: a file shorter than 8 bytes, a header
// length past the end of the file, malformed JSON, duplicate names, bad dtype/shape/data_offsets,
// offsets out of range or overlapping, a byte length that does not equal numel x element size.
// Only F32, F16 and BF16 are supported (other safetensors dtypes: Unimplemented). Tensor data must
// be aligned to its element size in memory (always true for files written with a header padded to
// 8 bytes, as by WriteSafetensors and the reference writer); misaligned data is Unimplemented.
// The `__metadata__` entry, if present, must be an object mapping strings to strings.
StatusOr<TensorSet> ReadSafetensors(std::shared_ptr<MappedFile> file);

// Maps (or reads, see FileAccess) `path` and calls ReadSafetensors.
StatusOr<TensorSet> LoadSafetensorsFile(const std::string& path,
                                        FileAccess access = FileAccess::kMap);

// Writes `tensors` to `path` as a safetensors file with `__metadata__ {"format": "pt"}`, the
// header space-padded so the data starts 8-byte aligned. Tensor data is laid out without gaps,
// ordered by element size (largest first) then name, so every tensor stays aligned to its element
// size. Fails (InvalidArgument) for duplicate or empty names, nbytes != numel x element size, a
// null data pointer with nbytes > 0, and (IoError) when the file cannot be written; a partially
// written file is removed.
Status WriteSafetensors(const std::string& path, const std::vector<TensorView>& tensors);

}  // namespace mamba
