// SPDX-License-Identifier: MIT
// Reader and writer for GGUF (llama.cpp / ggml model files), versions 2 and 3: the "GGUF" magic,
// a header of typed key/value metadata and tensor infos, then the tensor data section starting at
// the header end rounded up to `general.alignment` (default 32). Layer: io. Tensors are not
// copied: every TensorView points into the memory map of the file. Little-endian hosts only.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/dtype.h"
#include "base/status.h"
#include "io/mapped_file.h"
#include "io/tensor_view.h"

namespace mamba {

// GGUF metadata value types (gguf_type in ggml's gguf.h; the numbers are the file encoding).
enum class GgufType : uint32_t {
  kU8 = 0,
  kI8 = 1,
  kU16 = 2,
  kI16 = 3,
  kU32 = 4,
  kI32 = 5,
  kF32 = 6,
  kBool = 7,
  kString = 8,
  kArray = 9,
  kU64 = 10,
  kI64 = 11,
  kF64 = 12,
};

// "UINT32", "STRING", ... (gguf-py spelling); "?" for values outside the enum.
std::string_view GgufTypeName(GgufType type);

// One metadata value. Integers are held widened (`u` for unsigned and bool, `i` for signed),
// floats as double; `type` remembers the stored width so a written file round-trips exactly.
struct GgufValue {
  GgufType type = GgufType::kU32;
  uint64_t u = 0;
  int64_t i = 0;
  double f = 0;
  std::string str;
  // Arrays: every element has type elem_type. Arrays of arrays, and arrays built with Array(),
  // hold their elements as GgufValues in `array`. Arrays of strings or numbers read from a file
  // (or built with StringArray/I32Array) are `packed` instead, since a GgufValue per element
  // (~100 bytes) made a 50k-token vocabulary ~15 MB of resident memory: packed_bytes holds the
  // elements in their GGUF encoding (little-endian numbers of elem_type's width, bools one byte;
  // strings as a u64 length and the bytes, element k's encoding starting at packed_offsets[k]).
  // For a value read from a file packed_bytes points into the mapped file, whose pages are
  // resident already; packed_owner keeps those bytes (or an in-memory copy) alive, so copies of
  // the value stay valid. Read them through ArraySize / Element / StringAt.
  GgufType elem_type = GgufType::kU8;
  std::vector<GgufValue> array;
  bool packed = false;
  std::string_view packed_bytes;
  std::vector<uint32_t> packed_offsets;
  std::shared_ptr<const void> packed_owner;

  static GgufValue U8(uint8_t v);
  static GgufValue U32(uint32_t v);
  static GgufValue U64(uint64_t v);
  static GgufValue I32(int32_t v);
  static GgufValue I64(int64_t v);
  static GgufValue F32(float v);
  static GgufValue F64(double v);
  static GgufValue Bool(bool v);
  static GgufValue String(std::string v);
  // An array of `elem_type`; every element must have that type (checked by WriteGguf).
  static GgufValue Array(GgufType elem_type, std::vector<GgufValue> elems);
  static GgufValue StringArray(const std::vector<std::string>& v);
  static GgufValue I32Array(const std::vector<int32_t>& v);

  size_t ArraySize() const;  // 0 for a value that is not an array
  // Element k (< ArraySize()) as a value of its own.
  GgufValue Element(size_t k) const;
  // Element k (< ArraySize()) of an array of STRING, without a copy.
  std::string_view StringAt(size_t k) const;

  bool is_unsigned() const;  // U8..U64 (not bool)
  bool is_signed() const;    // I8..I64
  bool is_float() const;     // F32, F64
};

// Bytes of one encoded element of a number or bool type (1, 2, 4 or 8); 0 for STRING and ARRAY.
size_t GgufScalarBytes(GgufType type);

// Where one tensor lives, as written in the header. `ne` is ggml order (ne[0] = row length).
struct GgufTensorInfo {
  std::string name;
  uint32_t ggml_type = 0;
  std::vector<int64_t> ne;
  uint64_t offset = 0;  // relative to the data section
};

// Maps a ggml tensor type id (F32 0, F16 1, Q4_0 2, Q4_1 3, Q5_0 6, Q5_1 7, Q8_0 8, Q4_K 12,
// Q5_K 13, Q6_K 14, BF16 30) to a DType; nullopt for ids we cannot hold.
std::optional<DType> DTypeFromGgmlType(uint32_t ggml_type);
// The inverse; every DType that can appear in a file has a ggml id (checked).
uint32_t GgmlTypeFromDType(DType dtype);
// "F32", "Q4_K", ... or "type <id>" for unknown ids.
std::string GgmlTypeName(uint32_t ggml_type);

inline constexpr uint64_t kGgufDefaultAlignment = 32;
// Bounds that no real file comes near; they stop hostile headers from asking for huge
// allocations before the (bounded by file size) contents are read.
inline constexpr uint64_t kGgufMaxKeyValues = 1u << 20;
inline constexpr uint64_t kGgufMaxTensors = 1u << 20;
inline constexpr int kGgufMaxDims = 4;
inline constexpr int kGgufMaxArrayDepth = 8;

// A parsed GGUF file. Immutable; the tensor views keep `file` alive.
class GgufFile {
 public:
  uint32_t version = 0;
  uint64_t alignment = kGgufDefaultAlignment;
  uint64_t data_offset = 0;  // absolute file offset of the tensor data section
  std::vector<std::pair<std::string, GgufValue>> metadata;  // in file order
  std::vector<GgufTensorInfo> tensor_infos;                 // in file order
  TensorSet tensors;  // by GGUF name; shape = ne reversed (PyTorch order)
  std::shared_ptr<MappedFile> file;

  const std::string& path() const { return file->path(); }

  // The value of `key`, or nullptr.
  const GgufValue* Find(const std::string& key) const;
  bool Has(const std::string& key) const { return Find(key) != nullptr; }

  // Typed getters. A missing key is NotFound, a value of another type (or out of range for the
  // requested C++ type) InvalidArgument; both name the file and the key. GetUInt accepts any
  // integer type holding a non-negative value; GetFloat accepts F32 and F64.
  StatusOr<uint64_t> GetUInt(const std::string& key) const;
  StatusOr<int64_t> GetInt(const std::string& key) const;
  StatusOr<double> GetFloat(const std::string& key) const;
  StatusOr<bool> GetBool(const std::string& key) const;
  StatusOr<std::string> GetString(const std::string& key) const;
  // An array whose elements are all `elem_type` (read it with ArraySize / Element / StringAt).
  StatusOr<const GgufValue*> GetArray(const std::string& key, GgufType elem_type) const;

 private:
  friend StatusOr<GgufFile> ReadGguf(std::shared_ptr<MappedFile> file);
  std::map<std::string, size_t> index_;  // key -> position in metadata
};

// Parses and validates the GGUF file held in `file`. Returns a non-OK Status naming the file and
// the key/tensor at fault for: a bad magic or unsupported version, counts above the bounds above,
// any read past the end of the header, a string that is not valid-length, an unknown value
// type, arrays nested deeper than kGgufMaxArrayDepth, duplicate keys or tensor names, a
// `general.alignment` that is not a power-of-two U32, n_dims outside [1, 4], a dimension < 1 or
// an element count that overflows, a row length that is not a multiple of the type's block size,
// an offset that is not aligned, data past the end of the file, or overlapping tensors. A ggml
// type that DType cannot hold is Unimplemented naming the tensor and the type.
StatusOr<GgufFile> ReadGguf(std::shared_ptr<MappedFile> file);

// Maps (or reads, see FileAccess) `path` and calls ReadGguf.
StatusOr<GgufFile> LoadGgufFile(const std::string& path, FileAccess access = FileAccess::kMap);

// Writes a GGUF v3 file: `metadata` in the given order, then tensor infos and data for
// `tensors` (names as given, ne = shape reversed, each tensor's data padded to `alignment`).
// When `alignment` is not 32 a `general.alignment` U32 key is added unless present (it must then
// agree). Fails (InvalidArgument) for a bad alignment, duplicate or empty keys/names, array
// elements whose type differs from the array's, more than 4 dims, nbytes that does not match the
// shape, and (IoError) when the file cannot be written; a partially written file is removed.
Status WriteGguf(const std::string& path,
                 const std::vector<std::pair<std::string, GgufValue>>& metadata,
                 const std::vector<TensorView>& tensors,
                 uint64_t alignment = kGgufDefaultAlignment);

}  // namespace mamba
