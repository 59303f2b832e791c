// SPDX-License-Identifier: MIT
// Byte-level BPE model: turns one pre-tokenized piece (raw bytes) into token ids by applying the
// merges in rank order, leftmost first among equal ranks, exactly as Hugging Face's BPE does
// (without dropout). Logically immutable after Build; Tokenize is thread-safe (its only write is a
// benign memo, see whole_). Layer: tokenizer (internal).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "tokenizer/flat_maps.h"

namespace mamba {

class BpeModel {
 public:
  struct Options {
    int32_t unk_id = -1;         // id for bytes without a token; -1 drops them
    bool fuse_unk = false;       // consecutive unknown bytes give one unk id
    bool ignore_merges = false;  // a piece that is a vocab token is emitted whole
  };

  // `token_bytes[id]` is the byte string of model token `id` (empty when the token has no byte
  // form, i.e. it cannot come out of BPE); `merges` are (left id, right id, merged id) in rank
  // order. Ids must be in [0, token_bytes.size()).
  struct Merge {
    int32_t left;
    int32_t right;
    int32_t merged;
  };
  void Build(const std::vector<std::string>& token_bytes, const std::vector<Merge>& merges,
             const Options& options);

  // Appends the ids of `piece` to `out`.
  void Tokenize(std::string_view piece, std::vector<int32_t>& out) const;

  // Returns the id of the token whose bytes are `bytes`, or -1.
  int32_t FindBytes(std::string_view bytes) const { return vocab_.Find(bytes); }

 private:
  // Merges `ids` in place (the merge loop), for short pieces: quadratic but cache-friendly.
  void MergeShort(std::vector<int32_t>& ids) const;
  // The same result in O(n log n), for long pieces.
  void MergeLong(std::vector<int32_t>& ids) const;
  void MergeAll(std::vector<int32_t>& ids) const;
  void InitialIds(std::string_view piece, std::vector<int32_t>& ids) const;

  StringIdMap vocab_;
  PairMap merges_;
  int32_t byte_ids_[256];
  Options options_;
  uint32_t serial_ = 0;  // tells this model's entries apart in the per-thread piece cache
  // whole_[id]: whether BPE of the token's own bytes gives exactly [id] (kWholeYes), so that a
  // piece equal to those bytes can skip the merge loop. Learnt the first time such a piece is
  // merged (computing it for all tokens at load would cost ~20 ms); racing threads store the
  // same value, so relaxed atomics suffice.
  enum : uint8_t { kWholeUnknown = 0, kWholeYes = 1, kWholeNo = 2 };
  std::unique_ptr<std::atomic<uint8_t>[]> whole_;

  friend class BpeModelTestPeer;
};

}  // namespace mamba
