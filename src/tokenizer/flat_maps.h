// SPDX-License-Identifier: MIT
// Two small open-addressing hash tables for the tokenizer's hot path: byte strings -> token id,
// and (left id, right id) -> merge. Both are built once at load and then only read, so lookups
// from many threads at once are safe. Layer: tokenizer (internal).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace mamba {

inline uint64_t HashBytes(const char* s, size_t n) {
  uint64_t h = 0x9E3779B97F4A7C15ull ^ (n * 0xFF51AFD7ED558CCDull);
  while (n >= 8) {
    uint64_t w;
    std::memcpy(&w, s, 8);
    h = (h ^ w) * 0xBF58476D1CE4E5B9ull;
    h ^= h >> 31;
    s += 8;
    n -= 8;
  }
  if (n > 0) {
    uint64_t w = 0;
    std::memcpy(&w, s, n);
    h = (h ^ w) * 0xBF58476D1CE4E5B9ull;
    h ^= h >> 31;
  }
  h *= 0x94D049BB133111EBull;
  return h ^ (h >> 29);
}

// Byte string -> int32 id. Keys are copied into an arena owned by the map.
class StringIdMap {
 public:
  // Prepares for about `count` keys; call once before Insert.
  void Reserve(size_t count) {
    size_t cap = 16;
    while (cap < count * 2) cap <<= 1;
    slots_.assign(cap, Slot{});
    mask_ = cap - 1;
    arena_.reserve(count * 8);
  }

  // Maps `key` to `id`, replacing an earlier id for the same key. Keys longer than 4 GiB and
  // more than half-full tables are the caller's invariant violations (Reserve sized it).
  void Insert(std::string_view key, int32_t id) {
    const uint64_t h = HashBytes(key.data(), key.size());
    for (size_t i = h & mask_;; i = (i + 1) & mask_) {
      Slot& s = slots_[i];
      if (s.id < 0) {
        s = Slot{static_cast<uint32_t>(h >> 32), id, static_cast<uint32_t>(arena_.size()),
                 static_cast<uint32_t>(key.size())};
        arena_.append(key);
        return;
      }
      if (s.hash == static_cast<uint32_t>(h >> 32) && KeyOf(s) == key) {
        s.id = id;
        return;
      }
    }
  }

  // Returns the id of `key`, or -1.
  int32_t Find(std::string_view key) const {
    return FindHashed(key, HashBytes(key.data(), key.size()));
  }
  // As Find, with h == HashBytes(key).
  int32_t FindHashed(std::string_view key, uint64_t h) const {
    if (slots_.empty()) return -1;
    const uint32_t tag = static_cast<uint32_t>(h >> 32);
    for (size_t i = h & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.id < 0) return -1;
      if (s.hash == tag && s.len == key.size() &&
          std::memcmp(arena_.data() + s.offset, key.data(), key.size()) == 0) {
        return s.id;
      }
    }
  }

 private:
  struct Slot {
    uint32_t hash = 0;
    int32_t id = -1;
    uint32_t offset = 0;
    uint32_t len = 0;
  };
  std::string_view KeyOf(const Slot& s) const {
    return std::string_view(arena_).substr(s.offset, s.len);
  }
  std::vector<Slot> slots_;
  size_t mask_ = 0;
  std::string arena_;
};

// (left, right) id pair -> (rank, merged id).
class PairMap {
 public:
  struct Value {
    uint32_t rank;
    int32_t merged;
  };

  void Reserve(size_t count) {
    size_t cap = 16;
    while (cap < count * 2) cap <<= 1;
    slots_.assign(cap, Slot{});
    mask_ = cap - 1;
  }

  // Maps the pair to `value`, replacing an earlier value (a later duplicate merge wins, as in
  // Hugging Face's HashMap collect).
  void Insert(int32_t left, int32_t right, Value value) {
    const uint64_t key = Key(left, right);
    for (size_t i = Hash(key) & mask_;; i = (i + 1) & mask_) {
      Slot& s = slots_[i];
      if (s.key == kEmpty || s.key == key) {
        s.key = key;
        s.value = value;
        return;
      }
    }
  }

  // Returns the merge of (left, right), or nullptr.
  const Value* Find(int32_t left, int32_t right) const {
    const uint64_t key = Key(left, right);
    for (size_t i = Hash(key) & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.key == key) return &s.value;
      if (s.key == kEmpty) return nullptr;
    }
  }

 private:
  static constexpr uint64_t kEmpty = ~uint64_t{0};
  struct Slot {
    uint64_t key = kEmpty;
    Value value{};
  };
  static uint64_t Key(int32_t left, int32_t right) {
    return (uint64_t{static_cast<uint32_t>(left)} << 32) | static_cast<uint32_t>(right);
  }
  static uint64_t Hash(uint64_t key) {
    key *= 0x9E3779B97F4A7C15ull;
    return key ^ (key >> 32);
  }
  std::vector<Slot> slots_ = std::vector<Slot>(16);
  size_t mask_ = 15;
};

}  // namespace mamba
