// SPDX-License-Identifier: MIT
#include "engine/session.h"

#include <algorithm>
#include <cstring>

namespace mamba {

Session::Session(const Model& model, ThreadPool* pool)
    : model_(model), pool_(pool), state_(model.NewState()) {}

Status Session::Prefill(std::span<const int32_t> tokens, std::vector<float>* all_logits) {
  const int64_t vocab = model_.config().vocab_padded;
  const int64_t n = static_cast<int64_t>(tokens.size());
  for (int64_t i = 0; i < n; ++i) {
    if (tokens[i] < 0 || tokens[i] >= vocab) {
      return OutOfRangeError("token id " + std::to_string(tokens[i]) + " at position " +
                             std::to_string(i) + " is outside the vocabulary [0, " +
                             std::to_string(vocab) + ")");
    }
  }
  if (all_logits != nullptr) all_logits->assign(static_cast<size_t>(n * vocab), 0.0f);
  if (n == 0) return Status::Ok();
  last_logits_.resize(static_cast<size_t>(vocab));
  std::vector<int64_t> rows;
  for (int64_t begin = 0; begin < n; begin += kPrefillChunk) {
    const int64_t len = std::min(kPrefillChunk, n - begin);
    const bool last_chunk = begin + len == n;
    rows.clear();
    if (all_logits != nullptr) {
      for (int64_t r = 0; r < len; ++r) rows.push_back(r);
    } else if (last_chunk) {
      rows.push_back(len - 1);
    }
    const SeqSlice slice{0, len, &state_};
    ForwardBatch batch;
    batch.tokens = tokens.subspan(begin, len);
    batch.seqs = std::span<const SeqSlice>(&slice, 1);
    batch.logit_rows = rows;
    batch.logits = all_logits != nullptr ? all_logits->data() + begin * vocab : last_logits_.data();
    MAMBA_RETURN_IF_ERROR(model_.Forward(batch, scratch_, pool_));
  }
  if (all_logits != nullptr) {
    std::memcpy(last_logits_.data(), all_logits->data() + (n - 1) * vocab, vocab * sizeof(float));
  }
  return Status::Ok();
}

std::span<const float> Session::logits() const { return last_logits_; }

void Session::Reset() {
  state_.Reset();
  last_logits_.clear();
}

void Session::RestoreState(SequenceState state) {
  const StateShape& a = state.shape();
  const StateShape& b = state_.shape();
  MAMBA_CHECK(a.n_layer == b.n_layer && a.conv_rows == b.conv_rows &&
                  a.conv_channels == b.conv_channels && a.ssm_size == b.ssm_size,
              "RestoreState: state shape does not match the model");
  state_ = std::move(state);
  last_logits_.clear();
}

}  // namespace mamba
