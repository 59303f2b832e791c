// SPDX-License-Identifier: MIT
// Test helpers around the bundled demo model: the held-out tiny Shakespeare tokens and an
// independent perplexity computed straight from Session logits.
#pragma once

#include <cstdint>
#include <vector>

#include "model/model.h"
#include "threading/thread_pool.h"

namespace mamba::testing {

// tests/data/tinyshakespeare_heldout.txt encoded with models/tokenizer.json (empty on failure,
// which is reported as a test failure).
std::vector<int32_t> HeldOutTokens();

// exp(mean negative log-likelihood) of ids[1..] given the preceding ids, in double precision
// from the logits of one Session::Prefill on `pool` (may be null).
double ReferencePerplexity(const Model& model, const std::vector<int32_t>& ids, ThreadPool* pool);

}  // namespace mamba::testing
