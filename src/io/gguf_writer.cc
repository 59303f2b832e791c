// SPDX-License-Identifier: MIT
// GGUF metadata values, the typed getters of GgufFile, and the GGUF v3 writer (see gguf.h).
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <set>

#include "base/check.h"
#include "io/gguf.h"

namespace mamba {

// ---- GgufValue ----

GgufValue GgufValue::U8(uint8_t v) {
  GgufValue x;
  x.type = GgufType::kU8;
  x.u = v;
  return x;
}
GgufValue GgufValue::U32(uint32_t v) {
  GgufValue x;
  x.type = GgufType::kU32;
  x.u = v;
  return x;
}
GgufValue GgufValue::U64(uint64_t v) {
  GgufValue x;
  x.type = GgufType::kU64;
  x.u = v;
  return x;
}
GgufValue GgufValue::I32(int32_t v) {
  GgufValue x;
  x.type = GgufType::kI32;
  x.i = v;
  return x;
}
GgufValue GgufValue::I64(int64_t v) {
  GgufValue x;
  x.type = GgufType::kI64;
  x.i = v;
  return x;
}
GgufValue GgufValue::F32(float v) {
  GgufValue x;
  x.type = GgufType::kF32;
  x.f = v;
  return x;
}
GgufValue GgufValue::F64(double v) {
  GgufValue x;
  x.type = GgufType::kF64;
  x.f = v;
  return x;
}
GgufValue GgufValue::Bool(bool v) {
  GgufValue x;
  x.type = GgufType::kBool;
  x.u = v ? 1 : 0;
  return x;
}
GgufValue GgufValue::String(std::string v) {
  GgufValue x;
  x.type = GgufType::kString;
  x.str = std::move(v);
  return x;
}
GgufValue GgufValue::Array(GgufType elem_type, std::vector<GgufValue> elems) {
  GgufValue x;
  x.type = GgufType::kArray;
  x.elem_type = elem_type;
  x.array = std::move(elems);
  return x;
}
GgufValue GgufValue::StringArray(const std::vector<std::string>& v) {
  GgufValue x = Array(GgufType::kString, {});
  x.packed = true;
  auto bytes = std::make_shared<std::string>();
  x.packed_offsets.reserve(v.size());
  for (const std::string& s : v) {
    MAMBA_CHECK(bytes->size() <= UINT32_MAX, "GgufValue::StringArray: over 4 GiB of strings");
    x.packed_offsets.push_back(static_cast<uint32_t>(bytes->size()));
    const uint64_t len = s.size();
    bytes->append(reinterpret_cast<const char*>(&len), sizeof len);
    bytes->append(s);
  }
  x.packed_bytes = *bytes;
  x.packed_owner = std::move(bytes);
  return x;
}
GgufValue GgufValue::I32Array(const std::vector<int32_t>& v) {
  GgufValue x = Array(GgufType::kI32, {});
  x.packed = true;
  auto bytes = std::make_shared<std::string>(reinterpret_cast<const char*>(v.data()),
                                             v.size() * sizeof(int32_t));
  x.packed_bytes = *bytes;
  x.packed_owner = std::move(bytes);
  return x;
}

size_t GgufScalarBytes(GgufType type) {
  switch (type) {
    case GgufType::kU8:
    case GgufType::kI8:
    case GgufType::kBool:
      return 1;
    case GgufType::kU16:
    case GgufType::kI16:
      return 2;
    case GgufType::kU32:
    case GgufType::kI32:
    case GgufType::kF32:
      return 4;
    case GgufType::kU64:
    case GgufType::kI64:
    case GgufType::kF64:
      return 8;
    case GgufType::kString:
    case GgufType::kArray:
      break;
  }
  return 0;
}

size_t GgufValue::ArraySize() const {
  if (type != GgufType::kArray) return 0;
  if (!packed) return array.size();
  if (elem_type == GgufType::kString) return packed_offsets.size();
  return packed_bytes.size() / GgufScalarBytes(elem_type);
}

std::string_view GgufValue::StringAt(size_t k) const {
  MAMBA_CHECK(type == GgufType::kArray && elem_type == GgufType::kString && k < ArraySize(),
              "GgufValue::StringAt(%zu) on a value that is not a STRING array of that size", k);
  if (!packed) return array[k].str;
  // The reader (or StringArray) checked that every encoding lies inside packed_bytes.
  uint64_t len = 0;
  std::memcpy(&len, packed_bytes.data() + packed_offsets[k], sizeof len);
  return packed_bytes.substr(packed_offsets[k] + sizeof len, static_cast<size_t>(len));
}

namespace {
// The little-endian `T` at p, widened.
template <class T>
T LoadLE(const char* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
}  // namespace

GgufValue GgufValue::Element(size_t k) const {
  MAMBA_CHECK(k < ArraySize(), "GgufValue::Element(%zu) past the end of the array", k);
  if (!packed) return array[k];
  GgufValue x;
  x.type = elem_type;
  const char* p = packed_bytes.data() + k * GgufScalarBytes(elem_type);
  switch (elem_type) {
    case GgufType::kString:
      x.str = std::string(StringAt(k));
      break;
    case GgufType::kU8:
      x.u = LoadLE<uint8_t>(p);
      break;
    case GgufType::kBool:
      x.u = LoadLE<uint8_t>(p) != 0;
      break;
    case GgufType::kI8:
      x.i = LoadLE<int8_t>(p);
      break;
    case GgufType::kU16:
      x.u = LoadLE<uint16_t>(p);
      break;
    case GgufType::kI16:
      x.i = LoadLE<int16_t>(p);
      break;
    case GgufType::kU32:
      x.u = LoadLE<uint32_t>(p);
      break;
    case GgufType::kI32:
      x.i = LoadLE<int32_t>(p);
      break;
    case GgufType::kF32:
      x.f = LoadLE<float>(p);
      break;
    case GgufType::kU64:
      x.u = LoadLE<uint64_t>(p);
      break;
    case GgufType::kI64:
      x.i = LoadLE<int64_t>(p);
      break;
    case GgufType::kF64:
      x.f = LoadLE<double>(p);
      break;
    case GgufType::kArray:
      MAMBA_CHECK(false, "GgufValue::Element: packed arrays hold no arrays");
  }
  return x;
}

bool GgufValue::is_unsigned() const {
  return type == GgufType::kU8 || type == GgufType::kU16 || type == GgufType::kU32 ||
         type == GgufType::kU64;
}
bool GgufValue::is_signed() const {
  return type == GgufType::kI8 || type == GgufType::kI16 || type == GgufType::kI32 ||
         type == GgufType::kI64;
}
bool GgufValue::is_float() const { return type == GgufType::kF32 || type == GgufType::kF64; }

// ---- GgufFile getters ----

const GgufValue* GgufFile::Find(const std::string& key) const {
  auto it = index_.find(key);
  return it == index_.end() ? nullptr : &metadata[it->second].second;
}

namespace {

Status Missing(const GgufFile& g, const std::string& key) {
  return NotFoundError("'" + g.path() + "': missing key '" + key + "'");
}
Status WrongType(const GgufFile& g, const std::string& key, const GgufValue& v,
                 const std::string& want) {
  return InvalidArgumentError("'" + g.path() + "': key '" + key + "': expected " + want +
                              ", found " + std::string(GgufTypeName(v.type)));
}

}  // namespace

StatusOr<uint64_t> GgufFile::GetUInt(const std::string& key) const {
  const GgufValue* v = Find(key);
  if (v == nullptr) return Missing(*this, key);
  if (v->is_unsigned()) return v->u;
  if (v->is_signed()) {
    if (v->i < 0) {
      return InvalidArgumentError("'" + path() + "': key '" + key + "': negative value " +
                                  std::to_string(v->i));
    }
    return static_cast<uint64_t>(v->i);
  }
  return WrongType(*this, key, *v, "an unsigned integer");
}

StatusOr<int64_t> GgufFile::GetInt(const std::string& key) const {
  const GgufValue* v = Find(key);
  if (v == nullptr) return Missing(*this, key);
  if (v->is_signed()) return v->i;
  if (v->is_unsigned()) {
    if (v->u > static_cast<uint64_t>(INT64_MAX)) {
      return InvalidArgumentError("'" + path() + "': key '" + key + "': value out of range");
    }
    return static_cast<int64_t>(v->u);
  }
  return WrongType(*this, key, *v, "an integer");
}

StatusOr<double> GgufFile::GetFloat(const std::string& key) const {
  const GgufValue* v = Find(key);
  if (v == nullptr) return Missing(*this, key);
  if (v->is_float()) return v->f;
  return WrongType(*this, key, *v, "FLOAT32 or FLOAT64");
}

StatusOr<bool> GgufFile::GetBool(const std::string& key) const {
  const GgufValue* v = Find(key);
  if (v == nullptr) return Missing(*this, key);
  if (v->type == GgufType::kBool) return v->u != 0;
  return WrongType(*this, key, *v, "BOOL");
}

StatusOr<std::string> GgufFile::GetString(const std::string& key) const {
  const GgufValue* v = Find(key);
  if (v == nullptr) return Missing(*this, key);
  if (v->type == GgufType::kString) return v->str;
  return WrongType(*this, key, *v, "STRING");
}

StatusOr<const GgufValue*> GgufFile::GetArray(const std::string& key, GgufType elem_type) const {
  const GgufValue* v = Find(key);
  if (v == nullptr) return Missing(*this, key);
  if (v->type != GgufType::kArray || v->elem_type != elem_type) {
    std::string found(GgufTypeName(v->type));
    if (v->type == GgufType::kArray) found += " of " + std::string(GgufTypeName(v->elem_type));
    return InvalidArgumentError("'" + path() + "': key '" + key + "': expected ARRAY of " +
                                std::string(GgufTypeName(elem_type)) + ", found " + found);
  }
  return v;
}

// ---- Writer ----

namespace {

class Writer {
 public:
  template <class T>
  void Put(T x) {
    const size_t n = buf_.size();
    buf_.resize(n + sizeof(T));
    std::memcpy(&buf_[n], &x, sizeof(T));
  }
  void PutString(const std::string& s) {
    Put<uint64_t>(s.size());
    buf_.append(s);
  }
  Status PutValue(const GgufValue& v, const std::string& what) {
    switch (v.type) {
      case GgufType::kU8:
        Put<uint8_t>(static_cast<uint8_t>(v.u));
        break;
      case GgufType::kI8:
        Put<int8_t>(static_cast<int8_t>(v.i));
        break;
      case GgufType::kU16:
        Put<uint16_t>(static_cast<uint16_t>(v.u));
        break;
      case GgufType::kI16:
        Put<int16_t>(static_cast<int16_t>(v.i));
        break;
      case GgufType::kU32:
        Put<uint32_t>(static_cast<uint32_t>(v.u));
        break;
      case GgufType::kI32:
        Put<int32_t>(static_cast<int32_t>(v.i));
        break;
      case GgufType::kU64:
        Put<uint64_t>(v.u);
        break;
      case GgufType::kI64:
        Put<int64_t>(v.i);
        break;
      case GgufType::kF32:
        Put<float>(static_cast<float>(v.f));
        break;
      case GgufType::kF64:
        Put<double>(v.f);
        break;
      case GgufType::kBool:
        Put<uint8_t>(v.u != 0 ? 1 : 0);
        break;
      case GgufType::kString:
        PutString(v.str);
        break;
      case GgufType::kArray:
        Put<uint32_t>(static_cast<uint32_t>(v.elem_type));
        Put<uint64_t>(v.ArraySize());
        for (size_t k = 0; k < v.ArraySize(); ++k) {
          const GgufValue e = v.Element(k);
          if (e.type != v.elem_type) {
            return InvalidArgumentError(what + ": array element of type " +
                                        std::string(GgufTypeName(e.type)) + " in an ARRAY of " +
                                        std::string(GgufTypeName(v.elem_type)));
          }
          MAMBA_RETURN_IF_ERROR(PutValue(e, what));
        }
        break;
      default:
        return InvalidArgumentError(what + ": unknown value type");
    }
    return Status::Ok();
  }
  void PadTo(uint64_t alignment) {
    while (buf_.size() % alignment != 0) buf_.push_back('\0');
  }
  std::string& buf() { return buf_; }

 private:
  std::string buf_;
};

uint64_t AlignUp(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

}  // namespace

Status WriteGguf(const std::string& path,
                 const std::vector<std::pair<std::string, GgufValue>>& metadata,
                 const std::vector<TensorView>& tensors, uint64_t alignment) {
  const std::string q = "'" + path + "'";
  if (alignment == 0 || (alignment & (alignment - 1)) != 0 || alignment > (1u << 30)) {
    return InvalidArgumentError(q + ": alignment " + std::to_string(alignment) +
                                " is not a power of two");
  }
  std::vector<std::pair<std::string, GgufValue>> kv = metadata;
  std::set<std::string> keys;
  bool has_alignment = false;
  for (const auto& [key, v] : kv) {
    if (key.empty()) return InvalidArgumentError(q + ": empty metadata key");
    if (!keys.insert(key).second) return InvalidArgumentError(q + ": duplicate key '" + key + "'");
    if (key == "general.alignment") {
      if (v.type != GgufType::kU32 || v.u != alignment) {
        return InvalidArgumentError(q + ": key 'general.alignment' disagrees with alignment " +
                                    std::to_string(alignment));
      }
      has_alignment = true;
    }
  }
  if (alignment != kGgufDefaultAlignment && !has_alignment) {
    kv.emplace_back("general.alignment", GgufValue::U32(static_cast<uint32_t>(alignment)));
  }

  Writer w;
  w.buf().append("GGUF", 4);
  w.Put<uint32_t>(3);
  w.Put<uint64_t>(tensors.size());
  w.Put<uint64_t>(kv.size());
  for (const auto& [key, v] : kv) {
    w.PutString(key);
    w.Put<uint32_t>(static_cast<uint32_t>(v.type));
    MAMBA_RETURN_IF_ERROR(w.PutValue(v, q + ": key '" + key + "'"));
  }
  std::set<std::string> names;
  uint64_t offset = 0;
  for (const TensorView& t : tensors) {
    const std::string what = q + ": tensor '" + t.name + "'";
    if (t.name.empty()) return InvalidArgumentError(q + ": tensor with an empty name");
    if (!names.insert(t.name).second) return InvalidArgumentError(what + ": duplicate name");
    if (t.shape.empty() || t.shape.size() > static_cast<size_t>(kGgufMaxDims)) {
      return InvalidArgumentError(what + ": " + std::to_string(t.shape.size()) +
                                  " dims (GGUF allows 1 to 4)");
    }
    for (int64_t d : t.shape) {
      if (d < 1) return InvalidArgumentError(what + ": bad shape " + ShapeToString(t.shape));
    }
    const DTypeInfo& info = GetDTypeInfo(t.dtype);
    const int64_t row = t.shape.back();
    if (row % info.block_size != 0) {
      return InvalidArgumentError(what + ": row length not a multiple of the block size");
    }
    const uint64_t nbytes = DTypeRowBytes(t.dtype, row) * static_cast<uint64_t>(t.numel() / row);
    if (nbytes != t.nbytes || (t.data == nullptr && nbytes > 0)) {
      return InvalidArgumentError(what + ": nbytes " + std::to_string(t.nbytes) +
                                  " does not match shape " + ShapeToString(t.shape) + " in " +
                                  std::string(info.name));
    }
    w.PutString(t.name);
    w.Put<uint32_t>(static_cast<uint32_t>(t.shape.size()));
    for (auto it = t.shape.rbegin(); it != t.shape.rend(); ++it) w.Put<int64_t>(*it);
    w.Put<uint32_t>(GgmlTypeFromDType(t.dtype));
    w.Put<uint64_t>(offset);
    offset = AlignUp(offset + nbytes, alignment);
  }
  w.PadTo(alignment);

  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return IoError(q + ": cannot open for writing");
  bool ok = std::fwrite(w.buf().data(), 1, w.buf().size(), f) == w.buf().size();
  static const char kZeros[64] = {};
  for (const TensorView& t : tensors) {
    if (!ok) break;
    ok = t.nbytes == 0 || std::fwrite(t.data, 1, t.nbytes, f) == t.nbytes;
    size_t pad = AlignUp(t.nbytes, alignment) - t.nbytes;
    while (ok && pad > 0) {
      const size_t n = pad < sizeof(kZeros) ? pad : sizeof(kZeros);
      ok = std::fwrite(kZeros, 1, n, f) == n;
      pad -= n;
    }
  }
  ok = (std::fclose(f) == 0) && ok;
  if (!ok) {
    std::remove(path.c_str());
    return IoError(q + ": write failed");
  }
  return Status::Ok();
}

}  // namespace mamba
