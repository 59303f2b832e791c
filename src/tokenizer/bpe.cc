// SPDX-License-Identifier: MIT
// The BPE merge loop. A piece first becomes one symbol per byte; then the lowest-ranked adjacent
// pair that has a merge is merged, the leftmost one when a pair occurs more than once, until no
// pair has a merge. Pieces that are themselves a token whose own BPE is that token skip the loop.

#include "tokenizer/bpe.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <queue>

namespace mamba {
namespace {

constexpr uint32_t kNoRank = std::numeric_limits<uint32_t>::max();
constexpr size_t kShortPiece = 48;  // symbols; above this MergeLong is used

std::atomic<uint32_t> next_serial{1};

// A per-thread, direct-mapped cache of merge results (Hugging Face's BPE keeps a similar shared
// cache): natural text repeats its words, and a hit costs one probe instead of the merge loop.
// Entries are tagged with the model's serial, so several models can share a thread.
class PieceCache {
 public:
  static constexpr size_t kMaxKey = 46;
  static constexpr size_t kMaxIds = 15;

  // Returns the cached ids of `piece` (hash h) for model `serial`, or nullptr; sets `count`.
  const int32_t* Find(uint32_t serial, std::string_view piece, uint64_t h, size_t& count) const {
    const Entry& e = entries_[h & (kEntries - 1)];
    if (e.hash != h || e.serial != serial || e.key_len != piece.size() ||
        std::memcmp(e.key, piece.data(), piece.size()) != 0) {
      return nullptr;
    }
    count = e.n_ids;
    return e.ids;
  }

  void Store(uint32_t serial, std::string_view piece, uint64_t h, const std::vector<int32_t>& ids) {
    if (piece.size() > kMaxKey || ids.size() > kMaxIds) return;
    Entry& e = entries_[h & (kEntries - 1)];
    e.hash = h;
    e.serial = serial;
    e.key_len = static_cast<uint8_t>(piece.size());
    e.n_ids = static_cast<uint8_t>(ids.size());
    std::memcpy(e.key, piece.data(), piece.size());
    std::memcpy(e.ids, ids.data(), ids.size() * sizeof(int32_t));
  }

 private:
  static constexpr size_t kEntries = 8192;
  struct Entry {
    uint64_t hash = 0;
    uint32_t serial = 0;  // 0: empty
    uint8_t key_len = 0;
    uint8_t n_ids = 0;
    char key[kMaxKey];
    int32_t ids[kMaxIds];
  };
  std::vector<Entry> entries_ = std::vector<Entry>(kEntries);
};

}  // namespace

void BpeModel::Build(const std::vector<std::string>& token_bytes, const std::vector<Merge>& merges,
                     const Options& options) {
  options_ = options;
  serial_ = next_serial.fetch_add(1, std::memory_order_relaxed);
  vocab_.Reserve(token_bytes.size());
  for (size_t id = 0; id < token_bytes.size(); ++id) {
    if (!token_bytes[id].empty()) vocab_.Insert(token_bytes[id], static_cast<int32_t>(id));
  }
  for (int b = 0; b < 256; ++b) {
    const char c = static_cast<char>(b);
    byte_ids_[b] = vocab_.Find(std::string_view(&c, 1));
  }
  merges_.Reserve(merges.size());
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    const Merge& m = merges[rank];
    merges_.Insert(m.left, m.right, PairMap::Value{static_cast<uint32_t>(rank), m.merged});
  }
  whole_ = std::make_unique<std::atomic<uint8_t>[]>(token_bytes.size());
  for (size_t id = 0; id < token_bytes.size(); ++id) {
    whole_[id].store(kWholeUnknown, std::memory_order_relaxed);
  }
}

void BpeModel::InitialIds(std::string_view piece, std::vector<int32_t>& ids) const {
  bool last_unk = false;
  for (const char c : piece) {
    const int32_t id = byte_ids_[static_cast<uint8_t>(c)];
    if (id >= 0) {
      ids.push_back(id);
      last_unk = false;
    } else if (options_.unk_id >= 0) {
      if (!(options_.fuse_unk && last_unk)) ids.push_back(options_.unk_id);
      last_unk = true;
    }
  }
}

void BpeModel::MergeAll(std::vector<int32_t>& ids) const {
  if (ids.size() < 2) return;
  if (ids.size() <= kShortPiece) {
    MergeShort(ids);
  } else {
    MergeLong(ids);
  }
}

void BpeModel::MergeShort(std::vector<int32_t>& ids) const {
  size_t n = ids.size();
  MAMBA_DCHECK(n <= kShortPiece);
  uint32_t rank[kShortPiece];
  int32_t merged[kShortPiece];
  auto update = [&](size_t k) {
    const PairMap::Value* v = merges_.Find(ids[k], ids[k + 1]);
    rank[k] = v ? v->rank : kNoRank;
    merged[k] = v ? v->merged : -1;
  };
  for (size_t k = 0; k + 1 < n; ++k) update(k);
  while (n > 1) {
    size_t best = 0;
    for (size_t k = 1; k + 1 < n; ++k) {
      if (rank[k] < rank[best]) best = k;
    }
    if (rank[best] == kNoRank) break;
    ids[best] = merged[best];
    for (size_t k = best + 1; k + 1 < n; ++k) {
      ids[k] = ids[k + 1];
      rank[k] = rank[k + 1];
      merged[k] = merged[k + 1];
    }
    --n;
    if (best + 1 < n) update(best);
    if (best > 0) update(best - 1);
  }
  ids.resize(n);
}

void BpeModel::MergeLong(std::vector<int32_t>& ids) const {
  // Doubly linked symbols; a min-heap of candidate merges ordered by (rank, position). Stale
  // candidates are skipped when popped.
  const size_t n = ids.size();
  std::vector<int32_t> prev(n), next(n);
  std::vector<uint8_t> alive(n, 1);
  for (size_t i = 0; i < n; ++i) {
    prev[i] = static_cast<int32_t>(i) - 1;
    next[i] = i + 1 < n ? static_cast<int32_t>(i + 1) : -1;
  }
  struct Candidate {
    uint32_t rank;
    int32_t pos;
    int32_t merged;
    bool operator>(const Candidate& o) const {
      return rank != o.rank ? rank > o.rank : pos > o.pos;
    }
  };
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<Candidate>> heap;
  auto push = [&](int32_t pos) {
    if (pos < 0 || next[pos] < 0) return;
    const PairMap::Value* v = merges_.Find(ids[pos], ids[next[pos]]);
    if (v) heap.push(Candidate{v->rank, pos, v->merged});
  };
  for (size_t i = 0; i + 1 < n; ++i) push(static_cast<int32_t>(i));
  while (!heap.empty()) {
    const Candidate top = heap.top();
    heap.pop();
    if (!alive[top.pos] || next[top.pos] < 0) continue;
    const int32_t right = next[top.pos];
    const PairMap::Value* v = merges_.Find(ids[top.pos], ids[right]);
    if (v == nullptr || v->merged != top.merged || v->rank != top.rank) continue;
    ids[top.pos] = top.merged;
    alive[right] = 0;
    next[top.pos] = next[right];
    if (next[right] >= 0) prev[next[right]] = top.pos;
    push(prev[top.pos]);
    push(top.pos);
  }
  size_t out = 0;
  for (int32_t i = 0; i >= 0; i = next[i]) ids[out++] = ids[i];
  ids.resize(out);
}

void BpeModel::Tokenize(std::string_view piece, std::vector<int32_t>& out) const {
  if (piece.empty()) return;
  const uint64_t h = HashBytes(piece.data(), piece.size());
  const int32_t whole = vocab_.FindHashed(piece, h);
  uint8_t state = kWholeNo;
  if (whole >= 0) {
    state = whole_[whole].load(std::memory_order_relaxed);
    if (state == kWholeYes || options_.ignore_merges) {
      out.push_back(whole);
      return;
    }
  }
  thread_local PieceCache cache;
  size_t count = 0;
  if (const int32_t* cached = cache.Find(serial_, piece, h, count)) {
    out.insert(out.end(), cached, cached + count);
    return;
  }
  thread_local std::vector<int32_t> ids;
  ids.clear();
  InitialIds(piece, ids);
  MergeAll(ids);
  if (state == kWholeUnknown) {
    const bool yes = ids.size() == 1 && ids[0] == whole;
    whole_[whole].store(yes ? kWholeYes : kWholeNo, std::memory_order_relaxed);
  }
  if (ids.size() > 1) cache.Store(serial_, piece, h, ids);
  out.insert(out.end(), ids.begin(), ids.end());
}

}  // namespace mamba
