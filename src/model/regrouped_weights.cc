// SPDX-License-Identifier: MIT
#include "model/regrouped_weights.h"

#include <algorithm>
#include <thread>
#include <vector>

#include "base/check.h"
#include "kernels/matmul.h"
#include "kernels/quant_repack.h"

namespace mamba {

bool RegroupedWeights::WillRegroup(const TensorView& t) {
  return t.shape.size() == 2 && t.file != nullptr && HasGroups8Layout(t.dtype) &&
         t.shape[1] % 256 == 0 && KernelsPreferGroups8(t.dtype);
}

StatusOr<std::unique_ptr<RegroupedWeights>> RegroupedWeights::ForTensors(
    const TensorSet& tensors, const std::string& source) {
  std::unique_ptr<RegroupedWeights> r(new RegroupedWeights());
  size_t total = 0;
  for (const std::string& name : tensors.Names()) {
    const TensorView& t = *tensors.Find(name);
    if (!WillRegroup(t)) continue;
    r->slots_[name].offset = total;
    total += (t.nbytes + 63) / 64 * 64;  // every copy 64-byte aligned
  }
  MAMBA_ASSIGN_OR_RETURN(r->memory_,
                         AnonymousMemory::Allocate(total, source + ": regrouping the weights"));
  return r;
}

const uint8_t* RegroupedWeights::Get(const TensorView& t) {
  auto it = slots_.find(t.name);
  if (it == slots_.end()) return nullptr;
  uint8_t* dst = memory_.data() + it->second.offset;
  if (it->second.made) return dst;
  const int64_t rows = t.shape[0], cols = t.shape[1];
  const size_t row_bytes = DTypeRowBytes(t.dtype, cols);
  // Up to 4 threads, each over its own rows, releasing its source rows as it goes (so the
  // weights never sit in memory twice over more than a few MiB): the copy runs at the speed of
  // faulting in the source pages and fresh huge pages, one core each.
  constexpr int64_t kChunkBytes = int64_t{8} << 20;
  const int64_t chunk_rows = std::max<int64_t>(1, kChunkBytes / static_cast<int64_t>(row_bytes));
  const int parts = static_cast<int>(std::clamp<int64_t>(
      std::min<int64_t>(std::thread::hardware_concurrency(), (rows + chunk_rows - 1) / chunk_rows),
      1, 4));
  auto regroup = [&](int part) {
    const int64_t begin = rows * part / parts, end = rows * (part + 1) / parts;
    for (int64_t r = begin; r < end; r += chunk_rows) {
      const int64_t n = std::min(chunk_rows, end - r);
      const uint8_t* src = t.data + static_cast<size_t>(r) * row_bytes;
      RegroupRows(t.dtype, src, n, cols, dst + static_cast<size_t>(r) * row_bytes);
      t.file->Release(src, static_cast<size_t>(n) * row_bytes);
    }
  };
  std::vector<std::thread> threads;
  for (int p = 1; p < parts; ++p) threads.emplace_back(regroup, p);
  regroup(0);
  for (std::thread& th : threads) th.join();
  t.file->Release(t.data, t.nbytes);  // the pages that straddled two chunks
  it->second.made = true;
  return dst;
}

std::pair<const uint8_t*, size_t> RegroupedWeights::KernelBytes(const TensorView& t) const {
  auto it = slots_.find(t.name);
  if (it == slots_.end() || !it->second.made) return {t.data, t.nbytes};
  return {memory_.data() + it->second.offset, t.nbytes};
}

}  // namespace mamba
