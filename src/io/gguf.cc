// SPDX-License-Identifier: MIT
// GGUF reader (see gguf.h). Every count, length and offset read from the file is checked against
// the bytes that remain before it is used, so a hostile header cannot make us read out of bounds
// or allocate more than a small multiple of the file size.
#include "io/gguf.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <set>

namespace mamba {

namespace {

struct GgmlTypeEntry {
  uint32_t id;
  const char* name;
  std::optional<DType> dtype;
};

constexpr GgmlTypeEntry kGgmlTypes[] = {
    {0, "F32", DType::kF32},      {1, "F16", DType::kF16},       {2, "Q4_0", DType::kQ4_0},
    {3, "Q4_1", DType::kQ4_1},    {6, "Q5_0", DType::kQ5_0},     {7, "Q5_1", DType::kQ5_1},
    {8, "Q8_0", DType::kQ8_0},    {9, "Q8_1", DType::kQ8_1},     {10, "Q2_K", std::nullopt},
    {11, "Q3_K", std::nullopt},   {12, "Q4_K", DType::kQ4_K},    {13, "Q5_K", DType::kQ5_K},
    {14, "Q6_K", DType::kQ6_K},   {15, "Q8_K", DType::kQ8_K},    {16, "IQ2_XXS", std::nullopt},
    {17, "IQ2_XS", std::nullopt}, {18, "IQ3_XXS", std::nullopt}, {19, "IQ1_S", std::nullopt},
    {20, "IQ4_NL", std::nullopt}, {21, "IQ3_S", std::nullopt},   {22, "IQ2_S", std::nullopt},
    {23, "IQ4_XS", std::nullopt}, {24, "I8", std::nullopt},      {25, "I16", std::nullopt},
    {26, "I32", std::nullopt},    {27, "I64", std::nullopt},     {28, "F64", std::nullopt},
    {29, "IQ1_M", std::nullopt},  {30, "BF16", DType::kBF16},    {34, "TQ1_0", std::nullopt},
    {35, "TQ2_0", std::nullopt},  {39, "MXFP4", std::nullopt},
};

// Bounded little-endian cursor over the header bytes.
class Cursor {
 public:
  // `owner` keeps [data, data + size) alive (packed arrays view it).
  Cursor(const uint8_t* data, size_t size, const std::string& file,
         std::shared_ptr<const void> owner)
      : data_(data), size_(size), file_(file), owner_(std::move(owner)) {}

  size_t pos() const { return pos_; }
  size_t remaining() const { return size_ - pos_; }
  const uint8_t* here() const { return data_ + pos_; }
  const std::shared_ptr<const void>& owner() const { return owner_; }

  Status Skip(uint64_t n, const std::string& what) {
    if (n > remaining()) return Truncated(what);
    pos_ += static_cast<size_t>(n);
    return Status::Ok();
  }

  Status Truncated(const std::string& what) const {
    return DataLossError("'" + file_ + "': truncated header: " + what + " at byte " +
                         std::to_string(pos_) + " runs past the end of the file (" +
                         std::to_string(size_) + " bytes)");
  }

  template <class T>
  Status Read(T* out, const std::string& what) {
    if (remaining() < sizeof(T)) return Truncated(what);
    std::memcpy(out, data_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return Status::Ok();
  }

  Status ReadString(std::string* out, const std::string& what) {
    uint64_t len = 0;
    MAMBA_RETURN_IF_ERROR(Read(&len, what + " (string length)"));
    if (len > remaining()) return Truncated(what + " (" + std::to_string(len) + "-byte string)");
    out->assign(reinterpret_cast<const char*>(data_ + pos_), static_cast<size_t>(len));
    pos_ += static_cast<size_t>(len);
    return Status::Ok();
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
  const std::string& file_;
  std::shared_ptr<const void> owner_;
};

// Smallest number of bytes one element of `type` takes in the file (strings: the length; arrays:
// type + count).
size_t MinEncodedSize(GgufType type) {
  if (type == GgufType::kString) return 8;
  if (type == GgufType::kArray) return 12;
  const size_t bytes = GgufScalarBytes(type);
  return bytes > 0 ? bytes : 1;  // (only valid types reach here)
}

bool ValidType(uint32_t t) { return t <= static_cast<uint32_t>(GgufType::kF64); }

Status ReadValue(Cursor& cur, GgufType type, int depth, const std::string& what, GgufValue* v) {
  v->type = type;
  switch (type) {
    case GgufType::kU8: {
      uint8_t x = 0;
      MAMBA_RETURN_IF_ERROR(cur.Read(&x, what));
      v->u = x;
      return Status::Ok();
    }
    case GgufType::kI8: {
      int8_t x = 0;
      MAMBA_RETURN_IF_ERROR(cur.Read(&x, what));
      v->i = x;
      return Status::Ok();
    }
    case GgufType::kU16: {
      uint16_t x = 0;
      MAMBA_RETURN_IF_ERROR(cur.Read(&x, what));
      v->u = x;
      return Status::Ok();
    }
    case GgufType::kI16: {
      int16_t x = 0;
      MAMBA_RETURN_IF_ERROR(cur.Read(&x, what));
      v->i = x;
      return Status::Ok();
    }
    case GgufType::kU32: {
      uint32_t x = 0;
      MAMBA_RETURN_IF_ERROR(cur.Read(&x, what));
      v->u = x;
      return Status::Ok();
    }
    case GgufType::kI32: {
      int32_t x = 0;
      MAMBA_RETURN_IF_ERROR(cur.Read(&x, what));
      v->i = x;
      return Status::Ok();
    }
    case GgufType::kU64:
      return cur.Read(&v->u, what);
    case GgufType::kI64:
      return cur.Read(&v->i, what);
    case GgufType::kF32: {
      float x = 0;
      MAMBA_RETURN_IF_ERROR(cur.Read(&x, what));
      v->f = x;
      return Status::Ok();
    }
    case GgufType::kF64:
      return cur.Read(&v->f, what);
    case GgufType::kBool: {
      uint8_t x = 0;
      MAMBA_RETURN_IF_ERROR(cur.Read(&x, what));
      v->u = x != 0;
      return Status::Ok();
    }
    case GgufType::kString:
      return cur.ReadString(&v->str, what);
    case GgufType::kArray: {
      if (depth >= kGgufMaxArrayDepth) {
        return InvalidArgumentError(what + ": arrays nested deeper than " +
                                    std::to_string(kGgufMaxArrayDepth));
      }
      uint32_t et = 0;
      uint64_t n = 0;
      MAMBA_RETURN_IF_ERROR(cur.Read(&et, what + " (array type)"));
      if (!ValidType(et)) {
        return InvalidArgumentError(what + ": unknown array element type " + std::to_string(et));
      }
      MAMBA_RETURN_IF_ERROR(cur.Read(&n, what + " (array length)"));
      v->elem_type = static_cast<GgufType>(et);
      if (n > cur.remaining() / MinEncodedSize(v->elem_type)) {
        return cur.Truncated(what + " (array of " + std::to_string(n) + " elements)");
      }
      if (v->elem_type == GgufType::kArray) {
        v->array.resize(static_cast<size_t>(n));
        for (uint64_t k = 0; k < n; ++k) {
          MAMBA_RETURN_IF_ERROR(ReadValue(cur, v->elem_type, depth + 1,
                                          what + "[" + std::to_string(k) + "]", &v->array[k]));
        }
        return Status::Ok();
      }
      // Strings and numbers are packed (see GgufValue): validated here, viewed in place.
      v->packed = true;
      v->packed_owner = cur.owner();
      const uint8_t* begin = cur.here();
      const size_t start = cur.pos();
      if (v->elem_type == GgufType::kString) {
        v->packed_offsets.reserve(static_cast<size_t>(n));
        for (uint64_t k = 0; k < n; ++k) {
          if (cur.pos() - start > UINT32_MAX) {
            return InvalidArgumentError(what + ": array of strings longer than 4 GiB");
          }
          v->packed_offsets.push_back(static_cast<uint32_t>(cur.pos() - start));
          uint64_t len = 0;
          if (cur.remaining() >= sizeof len) std::memcpy(&len, cur.here(), sizeof len);
          if (cur.remaining() < sizeof len || len > cur.remaining() - sizeof len) {
            const std::string elem = what + "[" + std::to_string(k) + "]";
            MAMBA_RETURN_IF_ERROR(cur.Read(&len, elem + " (string length)"));
            return cur.Truncated(elem + " (" + std::to_string(len) + "-byte string)");
          }
          MAMBA_RETURN_IF_ERROR(cur.Skip(sizeof len + len, what));
        }
      } else {
        // n * width <= remaining, checked above.
        MAMBA_RETURN_IF_ERROR(cur.Skip(n * GgufScalarBytes(v->elem_type), what));
      }
      v->packed_bytes = std::string_view(reinterpret_cast<const char*>(begin), cur.pos() - start);
      return Status::Ok();
    }
  }
  return InvalidArgumentError(what + ": unknown value type");
}

}  // namespace

std::string_view GgufTypeName(GgufType type) {
  static constexpr std::string_view kNames[] = {"UINT8",  "INT8",    "UINT16", "INT16",  "UINT32",
                                                "INT32",  "FLOAT32", "BOOL",   "STRING", "ARRAY",
                                                "UINT64", "INT64",   "FLOAT64"};
  const auto i = static_cast<uint32_t>(type);
  return i < 13 ? kNames[i] : std::string_view("?");
}

std::optional<DType> DTypeFromGgmlType(uint32_t ggml_type) {
  for (const GgmlTypeEntry& e : kGgmlTypes) {
    if (e.id == ggml_type) return e.dtype;
  }
  return std::nullopt;
}

uint32_t GgmlTypeFromDType(DType dtype) {
  for (const GgmlTypeEntry& e : kGgmlTypes) {
    if (e.dtype == dtype) return e.id;
  }
  MAMBA_CHECK(false, "DType %s has no ggml type", std::string(DTypeName(dtype)).c_str());
  return 0;
}

std::string GgmlTypeName(uint32_t ggml_type) {
  for (const GgmlTypeEntry& e : kGgmlTypes) {
    if (e.id == ggml_type) return e.name;
  }
  return "type " + std::to_string(ggml_type);
}

StatusOr<GgufFile> ReadGguf(std::shared_ptr<MappedFile> file) {
  const std::string& fname = file->path();
  const std::string q = "'" + fname + "'";
  Cursor cur(file->data(), file->size(), fname, file);
  GgufFile g;
  g.file = file;

  char magic[4];
  if (file->size() < 4) return DataLossError(q + ": not a GGUF file (shorter than 4 bytes)");
  MAMBA_RETURN_IF_ERROR(cur.Read(&magic, "magic"));
  if (std::memcmp(magic, "GGUF", 4) != 0) {
    return InvalidArgumentError(q + ": not a GGUF file (bad magic)");
  }
  MAMBA_RETURN_IF_ERROR(cur.Read(&g.version, "version"));
  if (g.version != 2 && g.version != 3) {
    return UnimplementedError(q + ": GGUF version " + std::to_string(g.version) +
                              " is not supported (only 2 and 3)");
  }
  uint64_t n_tensors = 0, n_kv = 0;
  MAMBA_RETURN_IF_ERROR(cur.Read(&n_tensors, "tensor count"));
  MAMBA_RETURN_IF_ERROR(cur.Read(&n_kv, "key/value count"));
  if (n_tensors > kGgufMaxTensors) {
    return InvalidArgumentError(q + ": tensor count " + std::to_string(n_tensors) +
                                " exceeds the limit " + std::to_string(kGgufMaxTensors));
  }
  if (n_kv > kGgufMaxKeyValues) {
    return InvalidArgumentError(q + ": key/value count " + std::to_string(n_kv) +
                                " exceeds the limit " + std::to_string(kGgufMaxKeyValues));
  }

  // Key/value pairs.
  for (uint64_t k = 0; k < n_kv; ++k) {
    std::string key;
    MAMBA_RETURN_IF_ERROR(cur.ReadString(&key, "key #" + std::to_string(k)));
    if (key.empty()) return InvalidArgumentError(q + ": key #" + std::to_string(k) + " is empty");
    const std::string what = "key '" + key + "'";
    uint32_t type = 0;
    MAMBA_RETURN_IF_ERROR(cur.Read(&type, what + " (type)"));
    if (!ValidType(type)) {
      return InvalidArgumentError(q + ": " + what + ": unknown value type " + std::to_string(type));
    }
    GgufValue v;
    Status s = ReadValue(cur, static_cast<GgufType>(type), 0, what, &v);
    if (!s.ok()) return s.code() == StatusCode::kDataLoss ? s : s.WithPrefix(q);
    if (!g.index_.emplace(key, g.metadata.size()).second) {
      return InvalidArgumentError(q + ": duplicate " + what);
    }
    g.metadata.emplace_back(std::move(key), std::move(v));
  }
  if (const GgufValue* a = g.Find("general.alignment")) {
    if (a->type != GgufType::kU32 || a->u == 0 || (a->u & (a->u - 1)) != 0) {
      return InvalidArgumentError(q + ": key 'general.alignment': expected a power-of-two UINT32");
    }
    g.alignment = a->u;
  }

  // Tensor infos.
  std::set<std::string> names;
  for (uint64_t k = 0; k < n_tensors; ++k) {
    GgufTensorInfo t;
    MAMBA_RETURN_IF_ERROR(cur.ReadString(&t.name, "tensor #" + std::to_string(k) + " name"));
    const std::string what = q + ": tensor '" + t.name + "'";
    if (t.name.empty())
      return InvalidArgumentError(q + ": tensor #" + std::to_string(k) + " has an empty name");
    if (!names.insert(t.name).second) return InvalidArgumentError(what + ": duplicate name");
    uint32_t n_dims = 0;
    MAMBA_RETURN_IF_ERROR(cur.Read(&n_dims, "tensor '" + t.name + "' n_dims"));
    if (n_dims < 1 || n_dims > kGgufMaxDims) {
      return InvalidArgumentError(what + ": n_dims " + std::to_string(n_dims) + " outside [1, " +
                                  std::to_string(kGgufMaxDims) + "]");
    }
    for (uint32_t d = 0; d < n_dims; ++d) {
      int64_t ne = 0;
      MAMBA_RETURN_IF_ERROR(cur.Read(&ne, "tensor '" + t.name + "' ne"));
      t.ne.push_back(ne);
    }
    MAMBA_RETURN_IF_ERROR(cur.Read(&t.ggml_type, "tensor '" + t.name + "' type"));
    MAMBA_RETURN_IF_ERROR(cur.Read(&t.offset, "tensor '" + t.name + "' offset"));
    g.tensor_infos.push_back(std::move(t));
  }
  g.data_offset = (cur.pos() + g.alignment - 1) / g.alignment * g.alignment;
  if (g.data_offset > file->size() && n_tensors > 0) {
    return DataLossError(q + ": data section starts at byte " + std::to_string(g.data_offset) +
                         ", past the end of the file (" + std::to_string(file->size()) + " bytes)");
  }

  // Tensor views, validated against the data section.
  const uint64_t data_size = file->size() >= g.data_offset ? file->size() - g.data_offset : 0;
  std::vector<std::pair<uint64_t, uint64_t>> ranges;  // [begin, end) within the data section
  for (const GgufTensorInfo& t : g.tensor_infos) {
    const std::string what = q + ": tensor '" + t.name + "'";
    int64_t numel = 1;
    for (int64_t ne : t.ne) {
      if (ne < 1 || ne > (int64_t{1} << 40) || numel > (int64_t{1} << 50) / ne) {
        return InvalidArgumentError(what + ": bad dimension " + std::to_string(ne) +
                                    " (or element count overflow)");
      }
      numel *= ne;
    }
    const std::optional<DType> dtype = DTypeFromGgmlType(t.ggml_type);
    if (!dtype) {
      return UnimplementedError(what + ": ggml type " + GgmlTypeName(t.ggml_type) +
                                " is not supported");
    }
    const DTypeInfo& info = GetDTypeInfo(*dtype);
    if (t.ne[0] % info.block_size != 0) {
      return InvalidArgumentError(what + ": row length " + std::to_string(t.ne[0]) +
                                  " is not a multiple of the " + std::string(info.name) +
                                  " block size " + std::to_string(info.block_size));
    }
    const uint64_t nbytes = DTypeRowBytes(*dtype, t.ne[0]) * static_cast<uint64_t>(numel / t.ne[0]);
    if (t.offset % g.alignment != 0) {
      return InvalidArgumentError(what + ": data offset " + std::to_string(t.offset) +
                                  " is not a multiple of the alignment " +
                                  std::to_string(g.alignment));
    }
    if (t.offset > data_size || nbytes > data_size - t.offset) {
      return DataLossError(what + ": data [" + std::to_string(t.offset) + ", +" +
                           std::to_string(nbytes) + ") runs past the end of the data section (" +
                           std::to_string(data_size) + " bytes)");
    }
    const uint8_t* data = file->data() + g.data_offset + t.offset;
    const size_t elem_align = info.block_size == 1 ? info.block_bytes : 2;
    if (reinterpret_cast<uintptr_t>(data) % elem_align != 0) {
      return UnimplementedError(what + ": data is not aligned to " + std::to_string(elem_align) +
                                " bytes in memory");
    }
    ranges.emplace_back(t.offset, t.offset + nbytes);
    TensorView v;
    v.name = t.name;
    v.dtype = *dtype;
    v.shape.assign(t.ne.rbegin(), t.ne.rend());
    v.data = data;
    v.nbytes = static_cast<size_t>(nbytes);
    v.file = file;
    MAMBA_RETURN_IF_ERROR(g.tensors.Add(std::move(v)).WithPrefix(q));
  }
  std::vector<size_t> order(ranges.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return ranges[a].first < ranges[b].first; });
  for (size_t i = 1; i < order.size(); ++i) {
    const auto& prev = ranges[order[i - 1]];
    const auto& cur_r = ranges[order[i]];
    if (cur_r.first < prev.second && cur_r.second > cur_r.first && prev.second > prev.first) {
      return InvalidArgumentError(q + ": tensor '" + g.tensor_infos[order[i]].name +
                                  "' overlaps tensor '" + g.tensor_infos[order[i - 1]].name + "'");
    }
  }
  return g;
}

StatusOr<GgufFile> LoadGgufFile(const std::string& path, FileAccess access) {
  MAMBA_ASSIGN_OR_RETURN(std::shared_ptr<MappedFile> file, MappedFile::Open(path, access));
  return ReadGguf(std::move(file));
}

}  // namespace mamba
