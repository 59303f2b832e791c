// SPDX-License-Identifier: MIT
// torch.save zip checkpoint reader: zip_reader finds the entries, pickle decodes the state dict,
// and this file resolves each tensor to a checked view of its storage entry.
#include "io/pytorch_bin.h"

#include <limits>
#include <map>
#include <utility>
#include <vector>

#include "io/pickle.h"
#include "io/zip_reader.h"

namespace mamba {
namespace {

constexpr std::string_view kPickleName = "data.pkl";

// Finds the single `<prefix>/data.pkl` entry and returns `<prefix>`.
StatusOr<std::string> FindPrefix(const ZipReader& zip) {
  const std::string& file_name = zip.file()->path();
  std::string prefix;
  bool found = false;
  for (const ZipEntry& e : zip.entries()) {
    const size_t slash = e.name.find('/');
    if (slash == std::string::npos || slash == 0 ||
        std::string_view(e.name).substr(slash + 1) != kPickleName) {
      continue;
    }
    if (found) {
      return InvalidArgumentError(file_name + ": more than one top-level data.pkl ('" + prefix +
                                  "/data.pkl' and '" + e.name + "')");
    }
    prefix = e.name.substr(0, slash);
    found = true;
  }
  if (!found) {
    return NotFoundError(file_name +
                         ": no '<prefix>/data.pkl' entry; not a torch.save zip checkpoint");
  }
  return prefix;
}

// Row-major contiguity as torch defines it: dimensions of size 1 may have any stride.
bool IsContiguous(const TorchTensorRecord& r) {
  int64_t expected = 1;
  for (size_t k = r.shape.size(); k-- > 0;) {
    if (r.shape[k] != 1 && r.stride[k] != expected) return false;
    expected *= r.shape[k];
  }
  return true;
}

struct Storage {
  DType dtype;
  int64_t numel;
  std::string_view bytes;
};

}  // namespace

StatusOr<TensorSet> ReadPytorchBin(std::shared_ptr<MappedFile> file) {
  MAMBA_CHECK(file != nullptr);
  const std::string file_name = file->path();
  MAMBA_ASSIGN_OR_RETURN(ZipReader zip, ZipReader::Open(file));
  MAMBA_ASSIGN_OR_RETURN(std::string prefix, FindPrefix(zip));
  const std::string pickle_entry_name = prefix + "/" + std::string(kPickleName);
  MAMBA_ASSIGN_OR_RETURN(std::string_view pickle, zip.Data(*zip.Find(pickle_entry_name)));
  MAMBA_ASSIGN_OR_RETURN(std::vector<TorchTensorRecord> records,
                         ParseTorchPickle(pickle, file_name + ": " + pickle_entry_name));

  std::map<std::string, Storage> storages;
  TensorSet set;
  for (TorchTensorRecord& r : records) {
    const std::string where = file_name + ": tensor '" + r.name + "'";
    const std::string entry_name = prefix + "/data/" + r.storage_key;
    const int64_t elem_bytes = GetDTypeInfo(r.dtype).block_bytes;

    auto it = storages.find(r.storage_key);
    if (it == storages.end()) {
      const ZipEntry* entry = zip.Find(entry_name);
      if (entry == nullptr) {
        return NotFoundError(where + ": storage entry '" + entry_name + "' is missing");
      }
      StatusOr<std::string_view> bytes = zip.Data(*entry);
      if (!bytes.ok()) return bytes.status().WithPrefix("tensor '" + r.name + "'");
      if (r.storage_numel > std::numeric_limits<int64_t>::max() / elem_bytes ||
          bytes->size() < static_cast<uint64_t>(r.storage_numel * elem_bytes)) {
        return DataLossError(where + ": storage entry '" + entry_name + "' holds " +
                             std::to_string(bytes->size()) + " bytes, less than its " +
                             std::to_string(r.storage_numel) + " x " +
                             std::string(DTypeName(r.dtype)) + " elements");
      }
      it = storages.emplace(r.storage_key, Storage{r.dtype, r.storage_numel, *bytes}).first;
    }
    const Storage& storage = it->second;
    if (storage.dtype != r.dtype || storage.numel != r.storage_numel) {
      return InvalidArgumentError(where + ": storage '" + r.storage_key +
                                  "' is referenced with different dtypes or sizes");
    }
    if (!IsContiguous(r)) {
      return UnimplementedError(where + ": strides " + ShapeToString(r.stride) + " for size " +
                                ShapeToString(r.shape) +
                                " are not contiguous row-major (unsupported)");
    }
    int64_t numel = 1;
    for (int64_t d : r.shape) {
      if (d != 0 && numel > std::numeric_limits<int64_t>::max() / d) {
        return InvalidArgumentError(where + ": size " + ShapeToString(r.shape) + " overflows");
      }
      numel *= d;
    }
    if (r.storage_offset > storage.numel || numel > storage.numel - r.storage_offset) {
      return OutOfRangeError(where + ": storage_offset " + std::to_string(r.storage_offset) +
                             " + " + std::to_string(numel) + " elements exceed storage '" +
                             r.storage_key + "' of " + std::to_string(storage.numel) + " elements");
    }
    const uint8_t* data =
        reinterpret_cast<const uint8_t*>(storage.bytes.data()) + r.storage_offset * elem_bytes;
    if (numel > 0 && reinterpret_cast<uintptr_t>(data) % static_cast<uintptr_t>(elem_bytes) != 0) {
      return UnimplementedError(where + ": data in '" + entry_name + "' is not aligned to its " +
                                std::to_string(elem_bytes) + "-byte elements (unsupported)");
    }
    TensorView view;
    view.name = r.name;
    view.dtype = r.dtype;
    view.shape = std::move(r.shape);
    view.data = data;
    view.nbytes = static_cast<size_t>(numel * elem_bytes);
    view.file = file;
    MAMBA_RETURN_IF_ERROR(set.Add(std::move(view)).WithPrefix(file_name));
  }
  return set;
}

StatusOr<TensorSet> LoadPytorchBinFile(const std::string& path, FileAccess access) {
  MAMBA_ASSIGN_OR_RETURN(std::shared_ptr<MappedFile> file, MappedFile::Open(path, access));
  return ReadPytorchBin(std::move(file));
}

}  // namespace mamba
