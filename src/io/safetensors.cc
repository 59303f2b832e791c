// SPDX-License-Identifier: MIT
// safetensors reader (validates every header field against the file) and writer.
#include "io/safetensors.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <set>
#include <string_view>
#include <utility>

#include <nlohmann/json.hpp>

namespace mamba {
namespace {

using json = nlohmann::json;

constexpr size_t kLengthBytes = 8;

// dtype names of the safetensors spec that this engine does not load.
constexpr std::string_view kOtherSafetensorsDTypes[] = {
    "BOOL", "U8", "I8", "I16", "U16", "I32", "U32", "I64", "U64", "F64", "F8_E5M2", "F8_E4M3"};

uint64_t LoadU64Le(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

std::string JsonTypeName(const json& j) { return std::string(j.type_name()); }

// A header entry after field validation; offsets are relative to the data section.
struct Entry {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  uint64_t begin;
  uint64_t end;
};

// Parses `text` as JSON, detecting duplicate keys (nlohmann keeps only the last one).
// Exceptions from the parser are caught here and become a Status.
StatusOr<json> ParseHeaderJson(std::string_view text, const std::string& file_name) {
  std::string duplicate;
  std::string duplicate_parent;  // top-level key holding the duplicate, if nested
  int duplicate_depth = 0;
  std::vector<std::set<std::string>> open_objects;
  std::string top_level_key;
  auto callback = [&](int depth, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
        open_objects.emplace_back();
        break;
      case json::parse_event_t::object_end:
        if (!open_objects.empty()) open_objects.pop_back();
        break;
      case json::parse_event_t::key:
        if (!open_objects.empty() && parsed.is_string() && duplicate.empty()) {
          const std::string& key = parsed.get_ref<const std::string&>();
          if (depth == 1) top_level_key = key;
          if (!open_objects.back().insert(key).second) {
            duplicate = key;
            duplicate_depth = depth;
            duplicate_parent = top_level_key;
          }
        }
        break;
      default:
        break;
    }
    return true;
  };
  json header;
  try {
    header = json::parse(text.begin(), text.end(), callback, /*allow_exceptions=*/true);
  } catch (const json::exception& e) {
    return InvalidArgumentError(file_name + ": header is not valid JSON: " + e.what());
  } catch (const std::exception& e) {
    return InvalidArgumentError(file_name + ": cannot parse header JSON: " + e.what());
  }
  if (!duplicate.empty()) {
    if (duplicate_depth == 1) {
      return InvalidArgumentError(file_name + ": duplicate tensor '" + duplicate + "' in header");
    }
    return InvalidArgumentError(file_name + ": tensor '" + duplicate_parent + "': duplicate key '" +
                                duplicate + "' in header");
  }
  return header;
}

Status CheckMetadata(const json& metadata, const std::string& file_name) {
  if (!metadata.is_object()) {
    return InvalidArgumentError(file_name + ": __metadata__ is a " + JsonTypeName(metadata) +
                                ", expected an object");
  }
  for (const auto& [key, value] : metadata.items()) {
    if (!value.is_string()) {
      return InvalidArgumentError(file_name + ": __metadata__ key '" + key + "' is a " +
                                  JsonTypeName(value) + ", expected a string");
    }
  }
  return Status::Ok();
}

// Reads a JSON number that must be a non-negative integer.
StatusOr<uint64_t> NonNegativeInt(const json& j, const std::string& where) {
  if (j.is_number_unsigned()) return j.get<uint64_t>();
  if (j.is_number_integer()) return InvalidArgumentError(where + " is negative");
  if (j.is_number_float()) return InvalidArgumentError(where + " is not an integer");
  return InvalidArgumentError(where + " is a " + JsonTypeName(j) + ", expected an integer");
}

StatusOr<Entry> ParseEntry(const std::string& name, const json& value,
                           const std::string& file_name) {
  const std::string where = file_name + ": tensor '" + name + "'";
  if (!value.is_object()) {
    return InvalidArgumentError(where + ": entry is a " + JsonTypeName(value) +
                                ", expected an object");
  }
  Entry entry;
  entry.name = name;

  auto dtype_it = value.find("dtype");
  if (dtype_it == value.end()) return InvalidArgumentError(where + ": missing 'dtype'");
  if (!dtype_it->is_string()) {
    return InvalidArgumentError(where + ": 'dtype' is a " + JsonTypeName(*dtype_it) +
                                ", expected a string");
  }
  const std::string& dtype_name = dtype_it->get_ref<const std::string&>();
  std::optional<DType> dtype = DTypeFromSafetensorsName(dtype_name);
  if (!dtype) {
    for (std::string_view other : kOtherSafetensorsDTypes) {
      if (dtype_name == other) {
        return UnimplementedError(where + ": dtype " + dtype_name +
                                  " is not supported (supported: F32, F16, BF16)");
      }
    }
    return InvalidArgumentError(where + ": unknown dtype '" + dtype_name + "'");
  }
  entry.dtype = *dtype;

  auto shape_it = value.find("shape");
  if (shape_it == value.end()) return InvalidArgumentError(where + ": missing 'shape'");
  if (!shape_it->is_array()) {
    return InvalidArgumentError(where + ": 'shape' is a " + JsonTypeName(*shape_it) +
                                ", expected an array");
  }
  int64_t numel = 1;
  for (size_t i = 0; i < shape_it->size(); ++i) {
    MAMBA_ASSIGN_OR_RETURN(
        uint64_t dim, NonNegativeInt((*shape_it)[i], where + ": shape[" + std::to_string(i) + "]"));
    if (dim > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return InvalidArgumentError(where + ": shape[" + std::to_string(i) +
                                  "] = " + std::to_string(dim) + " is too large");
    }
    entry.shape.push_back(static_cast<int64_t>(dim));
  }
  for (int64_t dim : entry.shape) {
    if (dim != 0 && numel > std::numeric_limits<int64_t>::max() / dim) {
      return InvalidArgumentError(where + ": shape " + ShapeToString(entry.shape) +
                                  " has more elements than fit in 64 bits");
    }
    numel *= dim;
  }
  const int64_t elem_bytes = GetDTypeInfo(entry.dtype).block_bytes;
  if (numel > std::numeric_limits<int64_t>::max() / elem_bytes) {
    return InvalidArgumentError(where + ": shape " + ShapeToString(entry.shape) + " x " +
                                dtype_name + " needs more bytes than fit in 64 bits");
  }
  const uint64_t needed = static_cast<uint64_t>(numel * elem_bytes);

  auto offsets_it = value.find("data_offsets");
  if (offsets_it == value.end()) return InvalidArgumentError(where + ": missing 'data_offsets'");
  if (!offsets_it->is_array() || offsets_it->size() != 2) {
    return InvalidArgumentError(where + ": 'data_offsets' must be an array of 2 integers");
  }
  MAMBA_ASSIGN_OR_RETURN(entry.begin,
                         NonNegativeInt((*offsets_it)[0], where + ": data_offsets[0]"));
  MAMBA_ASSIGN_OR_RETURN(entry.end, NonNegativeInt((*offsets_it)[1], where + ": data_offsets[1]"));
  const std::string offsets_text =
      "data_offsets [" + std::to_string(entry.begin) + ", " + std::to_string(entry.end) + "]";
  if (entry.begin > entry.end) {
    return InvalidArgumentError(where + ": " + offsets_text + " begin after end");
  }
  if (entry.end - entry.begin != needed) {
    return InvalidArgumentError(where + ": " + offsets_text + " hold " +
                                std::to_string(entry.end - entry.begin) + " bytes but shape " +
                                ShapeToString(entry.shape) + " x " + dtype_name + " needs " +
                                std::to_string(needed));
  }
  return entry;
}

}  // namespace

StatusOr<TensorSet> ReadSafetensors(std::shared_ptr<MappedFile> file) {
  MAMBA_CHECK(file != nullptr);
  const std::string& file_name = file->path();
  const size_t size = file->size();
  if (size < kLengthBytes) {
    return DataLossError(file_name + ": file is " + std::to_string(size) +
                         " bytes, too short for the 8-byte safetensors header length");
  }
  const uint64_t header_len = LoadU64Le(file->data());
  if (header_len > size - kLengthBytes) {
    return DataLossError(file_name + ": header length " + std::to_string(header_len) +
                         " runs past the end of the file (" + std::to_string(size) +
                         " bytes); truncated or not a safetensors file");
  }
  if (header_len > kMaxSafetensorsHeaderBytes) {
    return InvalidArgumentError(file_name + ": header length " + std::to_string(header_len) +
                                " exceeds the 100 MiB limit");
  }
  const char* header_begin = reinterpret_cast<const char*>(file->data() + kLengthBytes);
  MAMBA_ASSIGN_OR_RETURN(json header,
                         ParseHeaderJson(std::string_view(header_begin, header_len), file_name));
  if (!header.is_object()) {
    return InvalidArgumentError(file_name + ": header is a JSON " + JsonTypeName(header) +
                                ", expected an object");
  }

  const size_t data_start = kLengthBytes + static_cast<size_t>(header_len);
  const uint64_t data_size = size - data_start;
  std::vector<Entry> entries;
  entries.reserve(header.size());
  for (const auto& [name, value] : header.items()) {
    if (name == "__metadata__") {
      MAMBA_RETURN_IF_ERROR(CheckMetadata(value, file_name));
      continue;
    }
    MAMBA_ASSIGN_OR_RETURN(Entry entry, ParseEntry(name, value, file_name));
    if (entry.end > data_size) {
      return OutOfRangeError(file_name + ": tensor '" + name + "': data_offsets [" +
                             std::to_string(entry.begin) + ", " + std::to_string(entry.end) +
                             "] run past the end of the data section (" +
                             std::to_string(data_size) + " bytes); truncated file?");
    }
    const size_t elem_bytes = static_cast<size_t>(GetDTypeInfo(entry.dtype).block_bytes);
    const auto address = reinterpret_cast<uintptr_t>(file->data() + data_start + entry.begin);
    if (entry.end > entry.begin && address % elem_bytes != 0) {
      return UnimplementedError(file_name + ": tensor '" + name + "': data at file offset " +
                                std::to_string(data_start + entry.begin) +
                                " is not aligned to its " + std::to_string(elem_bytes) +
                                "-byte elements (misaligned safetensors data is not supported)");
    }
    entries.push_back(std::move(entry));
  }

  // Tensors may leave gaps but must not share bytes.
  std::vector<const Entry*> by_offset;
  for (const Entry& e : entries) {
    if (e.end > e.begin) by_offset.push_back(&e);
  }
  std::sort(by_offset.begin(), by_offset.end(),
            [](const Entry* a, const Entry* b) { return a->begin < b->begin; });
  for (size_t i = 1; i < by_offset.size(); ++i) {
    const Entry& prev = *by_offset[i - 1];
    const Entry& cur = *by_offset[i];
    if (cur.begin < prev.end) {
      return InvalidArgumentError(
          file_name + ": tensor '" + cur.name + "': data_offsets [" + std::to_string(cur.begin) +
          ", " + std::to_string(cur.end) + "] overlap tensor '" + prev.name + "' [" +
          std::to_string(prev.begin) + ", " + std::to_string(prev.end) + "]");
    }
  }

  TensorSet set;
  for (Entry& e : entries) {
    TensorView view;
    view.name = e.name;
    view.dtype = e.dtype;
    view.shape = std::move(e.shape);
    view.data = file->data() + data_start + e.begin;
    view.nbytes = static_cast<size_t>(e.end - e.begin);
    view.file = file;
    MAMBA_RETURN_IF_ERROR(set.Add(std::move(view)).WithPrefix(file_name));
  }
  return set;
}

StatusOr<TensorSet> LoadSafetensorsFile(const std::string& path, FileAccess access) {
  MAMBA_ASSIGN_OR_RETURN(std::shared_ptr<MappedFile> file, MappedFile::Open(path, access));
  return ReadSafetensors(std::move(file));
}

namespace {

Status WriteAll(std::FILE* f, const void* data, size_t n, const std::string& path) {
  if (n == 0) return Status::Ok();
  if (std::fwrite(data, 1, n, f) != n) {
    return IoError("'" + path + "': write failed: " + std::strerror(errno));
  }
  return Status::Ok();
}

Status WriteFileContents(std::FILE* f, const std::string& path, const std::string& header,
                         const std::vector<const TensorView*>& order) {
  uint8_t len_bytes[kLengthBytes];
  uint64_t len = header.size();
  for (size_t i = 0; i < kLengthBytes; ++i) len_bytes[i] = static_cast<uint8_t>(len >> (8 * i));
  MAMBA_RETURN_IF_ERROR(WriteAll(f, len_bytes, kLengthBytes, path));
  MAMBA_RETURN_IF_ERROR(WriteAll(f, header.data(), header.size(), path));
  for (const TensorView* t : order) MAMBA_RETURN_IF_ERROR(WriteAll(f, t->data, t->nbytes, path));
  return Status::Ok();
}

}  // namespace

Status WriteSafetensors(const std::string& path, const std::vector<TensorView>& tensors) {
  std::set<std::string> names;
  std::vector<const TensorView*> order;
  for (const TensorView& t : tensors) {
    const std::string where = "'" + path + "': tensor '" + t.name + "'";
    if (t.name.empty()) return InvalidArgumentError("'" + path + "': tensor with an empty name");
    if (t.name == "__metadata__") return InvalidArgumentError(where + ": reserved name");
    if (!names.insert(t.name).second) return InvalidArgumentError(where + ": duplicate name");
    int64_t numel = 1;
    for (int64_t d : t.shape) {
      if (d < 0 || (d != 0 && numel > std::numeric_limits<int64_t>::max() / d)) {
        return InvalidArgumentError(where + ": invalid shape " + ShapeToString(t.shape));
      }
      numel *= d;
    }
    const uint64_t elem_bytes = static_cast<uint64_t>(GetDTypeInfo(t.dtype).block_bytes);
    if (static_cast<uint64_t>(numel) > std::numeric_limits<uint64_t>::max() / elem_bytes ||
        static_cast<uint64_t>(numel) * elem_bytes != t.nbytes) {
      return InvalidArgumentError(where + ": nbytes " + std::to_string(t.nbytes) +
                                  " does not match shape " + ShapeToString(t.shape) + " x " +
                                  std::string(DTypeName(t.dtype)));
    }
    if (t.nbytes > 0 && t.data == nullptr) return InvalidArgumentError(where + ": null data");
    order.push_back(&t);
  }
  std::sort(order.begin(), order.end(), [](const TensorView* a, const TensorView* b) {
    const int ea = GetDTypeInfo(a->dtype).block_bytes;
    const int eb = GetDTypeInfo(b->dtype).block_bytes;
    if (ea != eb) return ea > eb;
    return a->name < b->name;
  });

  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  header["__metadata__"] = {{"format", "pt"}};
  uint64_t offset = 0;
  for (const TensorView* t : order) {
    header[t->name] = {{"dtype", std::string(DTypeName(t->dtype))},
                       {"shape", t->shape},
                       {"data_offsets", {offset, offset + t->nbytes}}};
    offset += t->nbytes;
  }
  // Names come from callers and may hold invalid UTF-8; replace rather than throw.
  std::string text = header.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  text.append((8 - (kLengthBytes + text.size()) % 8) % 8, ' ');

  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return IoError("'" + path + "': cannot create: " + std::strerror(errno));
  Status status = WriteFileContents(f, path, text, order);
  if (std::fclose(f) != 0 && status.ok()) {
    status = IoError("'" + path + "': close failed: " + std::strerror(errno));
  }
  if (!status.ok()) std::remove(path.c_str());
  return status;
}

}  // namespace mamba
