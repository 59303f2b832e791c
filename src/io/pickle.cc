// SPDX-License-Identifier: MIT
// Pickle subset interpreter for torch state dicts: a stack machine over an object arena (values are
// arena indices, so memo/stack references never own memory and cycles cannot leak).
#include "io/pickle.h"

#include <cstdio>
#include <cstring>
#include <limits>
#include <unordered_map>
#include <utility>

namespace mamba {
namespace {

enum class Kind : uint8_t {
  kNone,
  kBool,
  kInt,
  kFloat,
  kString,
  kBytes,
  kTuple,
  kList,
  kDict,
  kGlobal,
  kStorage,
  kTensor
};

const char* KindName(Kind kind) {
  constexpr const char* kNames[] = {"None",  "bool", "int",  "float",  "str",     "bytes",
                                    "tuple", "list", "dict", "global", "storage", "tensor"};
  return kNames[static_cast<int>(kind)];
}

enum class Callable : uint8_t {
  kOrderedDict,
  kRebuildTensorV2,
  kRebuildParameter,
  kFloatStorage,
  kHalfStorage,
  kBFloat16Storage
};

struct WhitelistEntry {
  std::string_view module;
  std::string_view name;
  Callable callable;
};
constexpr WhitelistEntry kWhitelist[] = {
    {"collections", "OrderedDict", Callable::kOrderedDict},
    {"torch._utils", "_rebuild_tensor_v2", Callable::kRebuildTensorV2},
    {"torch._utils", "_rebuild_parameter", Callable::kRebuildParameter},
    {"torch", "FloatStorage", Callable::kFloatStorage},
    {"torch", "HalfStorage", Callable::kHalfStorage},
    {"torch", "BFloat16Storage", Callable::kBFloat16Storage},
};

struct Object {
  Kind kind = Kind::kNone;
  int64_t i = 0;  // bool/int value; Callable of a global; storage numel; index of a tensor
  double f = 0;
  std::string s;               // str/bytes; "module.name" of a global; storage key
  std::vector<int32_t> items;  // tuple/list elements; dict keys and values interleaved
  DType dtype = DType::kF32;   // storage element type
};

struct TensorInfo {
  int32_t storage = 0;
  int64_t offset = 0;
  std::vector<int64_t> shape;
  std::vector<int64_t> stride;
};

bool ValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<uint8_t>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k) {
      if ((static_cast<uint8_t>(s[i + k]) & 0xC0) != 0x80) return false;
    }
    i += n;
  }
  return true;
}

class Machine {
 public:
  Machine(std::string_view bytes, const std::string& name, const PickleLimits& limits)
      : bytes_(bytes), name_(name), limits_(limits) {}

  StatusOr<std::vector<TorchTensorRecord>> Run();

 private:
  Status Step(uint8_t op);
  Status OpError(const std::string& msg) const;
  Status Truncated(const char* what) const;
  StatusOr<uint64_t> ReadUint(size_t n, const char* what);
  StatusOr<std::string_view> ReadBytes(uint64_t n, const char* what);
  StatusOr<std::string_view> ReadLine(const char* what);
  StatusOr<int32_t> New(Kind kind);
  Status PushNew(Kind kind, int64_t i = 0);
  Status Push(int32_t id);
  StatusOr<int32_t> Pop();
  StatusOr<int32_t> Top() const;
  StatusOr<std::vector<int32_t>> PopMark();
  Status AddItems(int32_t container, std::vector<int32_t> items);
  Status PushGlobal(std::string_view module, std::string_view name);
  Status Call(int32_t callable, int32_t args);
  Status PersistentLoad(int32_t pid);
  StatusOr<int64_t> IntArg(int32_t id, const char* what) const;
  StatusOr<std::vector<int64_t>> IntTuple(int32_t id, const char* what) const;
  StatusOr<std::vector<TorchTensorRecord>> Collect(int32_t root) const;

  std::string_view bytes_;
  const std::string& name_;
  const PickleLimits& limits_;
  size_t pos_ = 0;
  size_t op_offset_ = 0;
  uint8_t op_ = 0;
  std::vector<Object> objects_;
  std::vector<TensorInfo> tensors_;
  std::vector<int32_t> stack_;
  std::vector<size_t> marks_;  // stack_ sizes at each MARK; the top is the current frame's floor
  std::unordered_map<uint64_t, int32_t> memo_;
  size_t container_items_ = 0;
};

Status Machine::OpError(const std::string& msg) const {
  char op[8];
  std::snprintf(op, sizeof(op), "0x%02x", op_);
  return InvalidArgumentError(name_ + ": pickle opcode " + op + " at offset " +
                              std::to_string(op_offset_) + ": " + msg);
}

Status Machine::Truncated(const char* what) const {
  return DataLossError(name_ + ": truncated pickle: " + what + " of the opcode at offset " +
                       std::to_string(op_offset_) + " runs past the end (" +
                       std::to_string(bytes_.size()) + " bytes)");
}

StatusOr<uint64_t> Machine::ReadUint(size_t n, const char* what) {
  if (n > bytes_.size() - pos_) return Truncated(what);
  uint64_t v = 0;
  for (size_t k = n; k-- > 0;) v = (v << 8) | static_cast<uint8_t>(bytes_[pos_ + k]);
  pos_ += n;
  return v;
}

StatusOr<std::string_view> Machine::ReadBytes(uint64_t n, const char* what) {
  if (n > bytes_.size() - pos_) return Truncated(what);
  std::string_view out = bytes_.substr(pos_, static_cast<size_t>(n));
  pos_ += static_cast<size_t>(n);
  return out;
}

StatusOr<std::string_view> Machine::ReadLine(const char* what) {
  const size_t nl = bytes_.find('\n', pos_);
  if (nl == std::string_view::npos) return Truncated(what);
  std::string_view out = bytes_.substr(pos_, nl - pos_);
  pos_ = nl + 1;
  return out;
}

StatusOr<int32_t> Machine::New(Kind kind) {
  if (objects_.size() >= limits_.max_objects) {
    return OutOfRangeError(name_ + ": pickle creates more than " +
                           std::to_string(limits_.max_objects) + " objects");
  }
  objects_.emplace_back().kind = kind;
  return static_cast<int32_t>(objects_.size() - 1);
}

Status Machine::PushNew(Kind kind, int64_t i) {
  MAMBA_ASSIGN_OR_RETURN(int32_t id, New(kind));
  objects_[id].i = i;
  return Push(id);
}

Status Machine::Push(int32_t id) {
  if (stack_.size() >= limits_.max_stack) {
    return OutOfRangeError(name_ + ": pickle stack exceeds " + std::to_string(limits_.max_stack) +
                           " entries");
  }
  stack_.push_back(id);
  return Status::Ok();
}

StatusOr<int32_t> Machine::Top() const {
  const size_t floor = marks_.empty() ? 0 : marks_.back();
  if (stack_.size() <= floor) return OpError("stack underflow");
  return stack_.back();
}

StatusOr<int32_t> Machine::Pop() {
  MAMBA_ASSIGN_OR_RETURN(int32_t id, Top());
  stack_.pop_back();
  return id;
}

StatusOr<std::vector<int32_t>> Machine::PopMark() {
  if (marks_.empty()) return OpError("no MARK on the stack");
  const size_t mark = marks_.back();
  marks_.pop_back();
  std::vector<int32_t> items(stack_.begin() + static_cast<ptrdiff_t>(mark), stack_.end());
  stack_.resize(mark);
  return items;
}

Status Machine::AddItems(int32_t container, std::vector<int32_t> items) {
  container_items_ += items.size();
  if (container_items_ > limits_.max_container_items) {
    return OutOfRangeError(name_ + ": pickle containers hold more than " +
                           std::to_string(limits_.max_container_items) + " items");
  }
  auto& dst = objects_[container].items;
  dst.insert(dst.end(), items.begin(), items.end());
  return Status::Ok();
}

// `module` and `name` may point into objects_ (STACK_GLOBAL), which New() can reallocate, so
// they are copied before anything is created.
Status Machine::PushGlobal(std::string_view module, std::string_view name) {
  const std::string full = std::string(module) + "." + std::string(name);
  for (const WhitelistEntry& w : kWhitelist) {
    if (w.module == module && w.name == name) {
      MAMBA_ASSIGN_OR_RETURN(int32_t id, New(Kind::kGlobal));
      objects_[id].i = static_cast<int64_t>(w.callable);
      objects_[id].s = full;
      return Push(id);
    }
  }
  return UnimplementedError(name_ + ": pickle global '" + full + "' at offset " +
                            std::to_string(op_offset_) +
                            " is not supported (only torch state dict globals are allowed)");
}

StatusOr<int64_t> Machine::IntArg(int32_t id, const char* what) const {
  const Object& o = objects_[id];
  if (o.kind != Kind::kInt && o.kind != Kind::kBool) {
    return OpError(std::string(what) + " is a " + KindName(o.kind) + ", expected an int");
  }
  return o.i;
}

StatusOr<std::vector<int64_t>> Machine::IntTuple(int32_t id, const char* what) const {
  const Object& o = objects_[id];
  if (o.kind != Kind::kTuple) {
    return OpError(std::string(what) + " is a " + KindName(o.kind) + ", expected a tuple");
  }
  std::vector<int64_t> out;
  for (int32_t item : o.items) {
    MAMBA_ASSIGN_OR_RETURN(int64_t v, IntArg(item, what));
    if (v < 0) return OpError(std::string(what) + " has a negative entry");
    out.push_back(v);
  }
  return out;
}

Status Machine::Call(int32_t callable, int32_t args) {
  const Object& fn = objects_[callable];
  if (fn.kind != Kind::kGlobal) return OpError(std::string("cannot call a ") + KindName(fn.kind));
  if (objects_[args].kind != Kind::kTuple) return OpError("arguments are not a tuple");
  const std::vector<int32_t> a = objects_[args].items;
  switch (static_cast<Callable>(fn.i)) {
    case Callable::kOrderedDict:
      if (!a.empty()) return OpError("collections.OrderedDict called with arguments");
      return PushNew(Kind::kDict);
    case Callable::kRebuildParameter:
      if (a.size() < 1 || objects_[a[0]].kind != Kind::kTensor) {
        return OpError("torch._utils._rebuild_parameter expects a tensor argument");
      }
      return Push(a[0]);
    case Callable::kRebuildTensorV2: {
      if (a.size() != 6 && a.size() != 7) {
        return OpError("torch._utils._rebuild_tensor_v2 takes 6 or 7 arguments, got " +
                       std::to_string(a.size()));
      }
      if (objects_[a[0]].kind != Kind::kStorage) {
        return OpError(std::string("_rebuild_tensor_v2 storage is a ") +
                       KindName(objects_[a[0]].kind));
      }
      TensorInfo t;
      t.storage = a[0];
      MAMBA_ASSIGN_OR_RETURN(t.offset, IntArg(a[1], "_rebuild_tensor_v2 storage_offset"));
      if (t.offset < 0) return OpError("_rebuild_tensor_v2 storage_offset is negative");
      MAMBA_ASSIGN_OR_RETURN(t.shape, IntTuple(a[2], "_rebuild_tensor_v2 size"));
      MAMBA_ASSIGN_OR_RETURN(t.stride, IntTuple(a[3], "_rebuild_tensor_v2 stride"));
      if (t.shape.size() != t.stride.size()) {
        return OpError("_rebuild_tensor_v2 size and stride have different lengths");
      }
      tensors_.push_back(std::move(t));
      return PushNew(Kind::kTensor, static_cast<int64_t>(tensors_.size() - 1));
    }
    default:
      return OpError("cannot call " + fn.s);
  }
}

// ('storage', storage_type, key, location, numel) -> a storage object.
Status Machine::PersistentLoad(int32_t pid) {
  const Object& p = objects_[pid];
  if (p.kind != Kind::kTuple || p.items.size() != 5 || objects_[p.items[0]].kind != Kind::kString ||
      objects_[p.items[0]].s != "storage") {
    return OpError("persistent id is not a ('storage', type, key, location, numel) tuple");
  }
  const Object& type = objects_[p.items[1]];
  DType dtype;
  const auto callable = static_cast<Callable>(type.i);
  if (type.kind == Kind::kGlobal && callable == Callable::kFloatStorage) {
    dtype = DType::kF32;
  } else if (type.kind == Kind::kGlobal && callable == Callable::kHalfStorage) {
    dtype = DType::kF16;
  } else if (type.kind == Kind::kGlobal && callable == Callable::kBFloat16Storage) {
    dtype = DType::kBF16;
  } else {
    return OpError("persistent id storage type is not a supported torch storage");
  }
  const Object& key = objects_[p.items[2]];
  if (key.kind != Kind::kString) return OpError("persistent id storage key is not a str");
  MAMBA_ASSIGN_OR_RETURN(int64_t numel, IntArg(p.items[4], "persistent id numel"));
  if (numel < 0) return OpError("persistent id numel is negative");
  std::string key_text = key.s;
  MAMBA_ASSIGN_OR_RETURN(int32_t id, New(Kind::kStorage));
  objects_[id].s = std::move(key_text);
  objects_[id].i = numel;
  objects_[id].dtype = dtype;
  return Push(id);
}

Status Machine::Step(uint8_t op) {
  switch (op) {
    case 0x80: {  // PROTO
      MAMBA_ASSIGN_OR_RETURN(uint64_t proto, ReadUint(1, "PROTO argument"));
      if (proto > 5) return OpError("unsupported pickle protocol " + std::to_string(proto));
      return Status::Ok();
    }
    case 0x95:  // FRAME: a length hint only
      return ReadUint(8, "FRAME length").status();
    case '(':  // MARK
      if (marks_.size() >= limits_.max_marks) {
        return OutOfRangeError(name_ + ": more than " + std::to_string(limits_.max_marks) +
                               " nested pickle MARKs");
      }
      marks_.push_back(stack_.size());
      return Status::Ok();
    case '0':  // POP
      return Pop().status();
    case '1':  // POP_MARK
      return PopMark().status();
    case '2': {  // DUP
      MAMBA_ASSIGN_OR_RETURN(int32_t top, Top());
      return Push(top);
    }
    case 'N':  // NONE
      return PushNew(Kind::kNone);
    case 0x88:  // NEWTRUE
    case 0x89:  // NEWFALSE
      return PushNew(Kind::kBool, op == 0x88 ? 1 : 0);
    case 'K':    // BININT1
    case 'M':    // BININT2
    case 'J': {  // BININT (signed)
      const size_t n = op == 'K' ? 1 : op == 'M' ? 2 : 4;
      MAMBA_ASSIGN_OR_RETURN(uint64_t v, ReadUint(n, "integer argument"));
      return PushNew(Kind::kInt, op == 'J' ? static_cast<int32_t>(static_cast<uint32_t>(v))
                                           : static_cast<int64_t>(v));
    }
    case 0x8a:    // LONG1
    case 0x8b: {  // LONG4
      MAMBA_ASSIGN_OR_RETURN(uint64_t n, ReadUint(op == 0x8a ? 1 : 4, "LONG length"));
      if (n > 8) return OpError("integer of " + std::to_string(n) + " bytes does not fit int64");
      MAMBA_ASSIGN_OR_RETURN(uint64_t v, ReadUint(static_cast<size_t>(n), "LONG value"));
      if (n > 0 && n < 8 && (v >> (8 * n - 1)) & 1) v |= ~uint64_t{0} << (8 * n);  // sign-extend
      return PushNew(Kind::kInt, static_cast<int64_t>(v));
    }
    case 'G': {  // BINFLOAT, big-endian
      MAMBA_ASSIGN_OR_RETURN(std::string_view raw, ReadBytes(8, "BINFLOAT value"));
      uint64_t bits = 0;
      for (char c : raw) bits = (bits << 8) | static_cast<uint8_t>(c);
      MAMBA_ASSIGN_OR_RETURN(int32_t id, New(Kind::kFloat));
      std::memcpy(&objects_[id].f, &bits, 8);
      return Push(id);
    }
    case 'X':     // BINUNICODE
    case 0x8c:    // SHORT_BINUNICODE
    case 0x8d:    // BINUNICODE8
    case 'T':     // BINSTRING
    case 'U':     // SHORT_BINSTRING
    case 'B':     // BINBYTES
    case 'C':     // SHORT_BINBYTES
    case 0x8e: {  // BINBYTES8
      const size_t len_bytes = (op == 0x8c || op == 'U' || op == 'C') ? 1
                               : (op == 0x8d || op == 0x8e)           ? 8
                                                                      : 4;
      MAMBA_ASSIGN_OR_RETURN(uint64_t n, ReadUint(len_bytes, "string length"));
      if (op == 'T' && n > 0x7FFFFFFFu) return OpError("negative BINSTRING length");
      MAMBA_ASSIGN_OR_RETURN(std::string_view text, ReadBytes(n, "string data"));
      const bool is_bytes = op == 'B' || op == 'C' || op == 0x8e;
      const bool is_unicode = op == 'X' || op == 0x8c || op == 0x8d;
      if (is_unicode && !ValidUtf8(text)) return OpError("string is not valid UTF-8");
      MAMBA_ASSIGN_OR_RETURN(int32_t id, New(is_bytes ? Kind::kBytes : Kind::kString));
      objects_[id].s.assign(text);
      return Push(id);
    }
    case ')':  // EMPTY_TUPLE
      return PushNew(Kind::kTuple);
    case ']':  // EMPTY_LIST
      return PushNew(Kind::kList);
    case '}':  // EMPTY_DICT
      return PushNew(Kind::kDict);
    case 0x85:    // TUPLE1
    case 0x86:    // TUPLE2
    case 0x87: {  // TUPLE3
      std::vector<int32_t> items(op - 0x84);
      for (size_t k = items.size(); k-- > 0;) {
        MAMBA_ASSIGN_OR_RETURN(items[k], Pop());
      }
      MAMBA_ASSIGN_OR_RETURN(int32_t id, New(Kind::kTuple));
      MAMBA_RETURN_IF_ERROR(AddItems(id, std::move(items)));
      return Push(id);
    }
    case 't':    // TUPLE
    case 'l':    // LIST
    case 'd': {  // DICT
      MAMBA_ASSIGN_OR_RETURN(std::vector<int32_t> items, PopMark());
      if (op == 'd' && items.size() % 2 != 0) return OpError("odd number of dict items");
      MAMBA_ASSIGN_OR_RETURN(int32_t id, New(op == 't'   ? Kind::kTuple
                                             : op == 'l' ? Kind::kList
                                                         : Kind::kDict));
      MAMBA_RETURN_IF_ERROR(AddItems(id, std::move(items)));
      return Push(id);
    }
    case 'a':    // APPEND
    case 'e':    // APPENDS
    case 's':    // SETITEM
    case 'u': {  // SETITEMS
      std::vector<int32_t> items;
      if (op == 'a') {
        items.resize(1);
        MAMBA_ASSIGN_OR_RETURN(items[0], Pop());
      } else if (op == 's') {
        items.resize(2);
        MAMBA_ASSIGN_OR_RETURN(items[1], Pop());
        MAMBA_ASSIGN_OR_RETURN(items[0], Pop());
      } else {
        MAMBA_ASSIGN_OR_RETURN(items, PopMark());
      }
      MAMBA_ASSIGN_OR_RETURN(int32_t target, Top());
      const bool to_dict = op == 's' || op == 'u';
      const Kind want = to_dict ? Kind::kDict : Kind::kList;
      if (objects_[target].kind != want) {
        return OpError(std::string("target is a ") + KindName(objects_[target].kind) +
                       ", expected a " + KindName(want));
      }
      if (to_dict && items.size() % 2 != 0) return OpError("odd number of dict items");
      return AddItems(target, std::move(items));
    }
    case 'q':     // BINPUT
    case 'r':     // LONG_BINPUT
    case 0x94: {  // MEMOIZE
      uint64_t index = memo_.size();
      if (op != 0x94) {
        MAMBA_ASSIGN_OR_RETURN(index, ReadUint(op == 'q' ? 1 : 4, "memo index"));
      }
      MAMBA_ASSIGN_OR_RETURN(int32_t top, Top());
      if (memo_.size() >= limits_.max_memo && memo_.find(index) == memo_.end()) {
        return OutOfRangeError(name_ + ": pickle memo exceeds " + std::to_string(limits_.max_memo) +
                               " entries");
      }
      memo_[index] = top;
      return Status::Ok();
    }
    case 'h':    // BINGET
    case 'j': {  // LONG_BINGET
      MAMBA_ASSIGN_OR_RETURN(uint64_t index, ReadUint(op == 'h' ? 1 : 4, "memo index"));
      auto it = memo_.find(index);
      if (it == memo_.end()) return OpError("memo index " + std::to_string(index) + " is unset");
      return Push(it->second);
    }
    case 'c': {  // GLOBAL
      MAMBA_ASSIGN_OR_RETURN(std::string_view module, ReadLine("GLOBAL module"));
      MAMBA_ASSIGN_OR_RETURN(std::string_view name, ReadLine("GLOBAL name"));
      return PushGlobal(module, name);
    }
    case 0x93: {  // STACK_GLOBAL
      MAMBA_ASSIGN_OR_RETURN(int32_t name, Pop());
      MAMBA_ASSIGN_OR_RETURN(int32_t module, Pop());
      if (objects_[name].kind != Kind::kString || objects_[module].kind != Kind::kString) {
        return OpError("STACK_GLOBAL needs two str");
      }
      return PushGlobal(objects_[module].s, objects_[name].s);
    }
    case 'R':     // REDUCE
    case 0x81: {  // NEWOBJ: cls.__new__(cls, *args); only OrderedDict is constructed this way
      MAMBA_ASSIGN_OR_RETURN(int32_t args, Pop());
      MAMBA_ASSIGN_OR_RETURN(int32_t callable, Pop());
      if (op == 0x81 && !(objects_[callable].kind == Kind::kGlobal &&
                          objects_[callable].i == static_cast<int64_t>(Callable::kOrderedDict))) {
        return OpError("NEWOBJ is only supported for collections.OrderedDict");
      }
      return Call(callable, args);
    }
    case 'b': {  // BUILD: sets attributes (e.g. OrderedDict._metadata), which we do not need
      MAMBA_RETURN_IF_ERROR(Pop().status());
      return Top().status();
    }
    case 'Q': {  // BINPERSID
      MAMBA_ASSIGN_OR_RETURN(int32_t pid, Pop());
      return PersistentLoad(pid);
    }
    default: {
      const bool printable = op >= 0x20 && op < 0x7f;
      return InvalidArgumentError(name_ + ": unsupported pickle opcode 0x" +
                                  "0123456789abcdef"[op >> 4] + "0123456789abcdef"[op & 15] +
                                  (printable ? std::string(" ('") + char(op) + "')" : "") +
                                  " at offset " + std::to_string(op_offset_));
    }
  }
}

StatusOr<std::vector<TorchTensorRecord>> Machine::Run() {
  while (true) {
    op_offset_ = pos_;
    if (pos_ >= bytes_.size()) {
      return DataLossError(name_ + ": truncated pickle: no STOP opcode in " +
                           std::to_string(bytes_.size()) + " bytes");
    }
    op_ = static_cast<uint8_t>(bytes_[pos_++]);
    if (op_ == '.') {  // STOP
      MAMBA_ASSIGN_OR_RETURN(int32_t root, Pop());
      return Collect(root);
    }
    MAMBA_RETURN_IF_ERROR(Step(op_));
  }
}

StatusOr<std::vector<TorchTensorRecord>> Machine::Collect(int32_t root) const {
  const Object& dict = objects_[root];
  if (dict.kind != Kind::kDict) {
    return InvalidArgumentError(name_ + ": top-level object is a " + KindName(dict.kind) +
                                ", expected a state dict");
  }
  std::vector<TorchTensorRecord> out;
  std::unordered_map<std::string, size_t> seen;
  for (size_t k = 0; k + 1 < dict.items.size(); k += 2) {
    const Object& key = objects_[dict.items[k]];
    const Object& value = objects_[dict.items[k + 1]];
    if (value.kind != Kind::kTensor) continue;
    if (key.kind != Kind::kString) {
      return InvalidArgumentError(name_ + ": state dict has a tensor under a " +
                                  KindName(key.kind) + " key");
    }
    if (!seen.emplace(key.s, out.size()).second) {
      return InvalidArgumentError(name_ + ": duplicate state dict key '" + key.s + "'");
    }
    const TensorInfo& t = tensors_[static_cast<size_t>(value.i)];
    const Object& storage = objects_[t.storage];
    TorchTensorRecord r;
    r.name = key.s;
    r.storage_key = storage.s;
    r.dtype = storage.dtype;
    r.storage_numel = storage.i;
    r.storage_offset = t.offset;
    r.shape = t.shape;
    r.stride = t.stride;
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace

StatusOr<std::vector<TorchTensorRecord>> ParseTorchPickle(std::string_view bytes,
                                                          const std::string& source_name,
                                                          const PickleLimits& limits) {
  Machine machine(bytes, source_name, limits);
  return machine.Run();
}

}  // namespace mamba
