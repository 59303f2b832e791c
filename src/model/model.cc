// SPDX-License-Identifier: MIT
// Generic Mamba language model: embedding -> n_layer x (h += Mixer(RMSNorm(h))) -> RMSNorm -> head.
// Reference: state-spaces/mamba@e9594ce mamba_ssm/models/mixer_seq_simple.py (MixerModel) and
// mamba_ssm/modules/block.py (Block with residual_in_fp32: the residual stream stays F32 here).
#include "model/model.h"

#include <cstring>

#include "base/log.h"
#include "kernels/elementwise.h"
#include "kernels/matmul.h"
#include "kernels/rmsnorm.h"

namespace mamba {

namespace {

// Scratch slots used here; the mixers use slots below kFirstModelSlot.
enum : int { kHidden = 16, kNormed, kFinal };

}  // namespace

StatusOr<std::unique_ptr<Model>> Model::Load(const std::string& path,
                                             const std::string& config_path, FileAccess access,
                                             bool regroup_weights) {
  std::unique_ptr<Model> m(new Model());
  MAMBA_ASSIGN_OR_RETURN(m->checkpoint_, OpenCheckpoint(path, config_path, access));
  const ModelConfig& c = m->checkpoint_.config;
  MAMBA_ASSIGN_OR_RETURN(m->arch_, GetArchOps(c.arch));
  if (regroup_weights) {
    // Without the memory for the copies the stored layout still runs (slower): say so, go on.
    auto regrouped =
        RegroupedWeights::ForTensors(m->checkpoint_.tensors, m->checkpoint_.weights_path);
    if (regrouped.ok()) {
      m->regrouped_ = std::move(regrouped).value();
    } else {
      Log(LogLevel::kWarning, "%s; using the weights as stored",
          regrouped.status().ToString().c_str());
    }
  }
  const WeightBinder wb(m->checkpoint_.tensors, m->checkpoint_.weights_path, m->regrouped_.get());

  // self.embedding = nn.Embedding(vocab_size, d_model)   (HF layout: backbone.embeddings)
  const std::string emb_name = wb.Has("backbone.embeddings.weight") ? "backbone.embeddings.weight"
                                                                    : "backbone.embedding.weight";
  MAMBA_ASSIGN_OR_RETURN(m->embedding_, wb.Matrix(emb_name, c.vocab_padded, c.d_model));
  // lm_head: tied to the embedding unless the config unties it.
  if (c.tie_embeddings) {
    m->lm_head_ = m->embedding_;
  } else {
    if (!wb.Has("lm_head.weight")) {
      return NotFoundError(wb.source() +
                           ": missing tensor 'lm_head.weight' (the config says the head is not "
                           "tied to the embedding)");
    }
    MAMBA_ASSIGN_OR_RETURN(m->lm_head_, wb.Matrix("lm_head.weight", c.vocab_padded, c.d_model));
  }
  for (int64_t i = 0; i < c.n_layer; ++i) {
    const std::string prefix = "backbone.layers." + std::to_string(i) + ".";
    MAMBA_ASSIGN_OR_RETURN(F32Param norm, wb.F32InPlace(prefix + "norm.weight", {c.d_model}));
    m->norm_.push_back(std::move(norm));
    MAMBA_ASSIGN_OR_RETURN(std::unique_ptr<Mixer> mixer,
                           m->arch_->load_mixer(c, wb, prefix + "mixer."));
    m->mixers_.push_back(std::move(mixer));
  }
  MAMBA_ASSIGN_OR_RETURN(m->norm_f_, wb.F32InPlace("backbone.norm_f.weight", {c.d_model}));
  for (const std::string& name : m->checkpoint_.tensors.Names()) {
    const TensorView* t = m->checkpoint_.tensors.Find(name);
    m->weight_bytes_ += t->nbytes;
    if (m->regrouped_ != nullptr && m->regrouped_->KernelBytes(*t).first != t->data) {
      ++m->regrouped_tensors_;
    }
  }
  if (m->regrouped_ != nullptr) m->regrouped_->Seal();
  return m;
}

std::vector<std::pair<const uint8_t*, size_t>> Model::WeightMemory() const {
  std::vector<std::pair<const uint8_t*, size_t>> out;
  for (const std::string& name : checkpoint_.tensors.Names()) {
    const TensorView* t = checkpoint_.tensors.Find(name);
    out.push_back(regrouped_ != nullptr ? regrouped_->KernelBytes(*t)
                                        : std::pair{t->data, t->nbytes});
  }
  return out;
}

Status Model::Forward(const ForwardBatch& batch, Scratch& scratch, ThreadPool* pool) const {
  const ModelConfig& c = checkpoint_.config;
  const int64_t n_rows = static_cast<int64_t>(batch.tokens.size());
  // Validate the external input before any state is touched.
  int64_t next = 0;
  for (const SeqSlice& s : batch.seqs) {
    if (s.begin != next || s.length < 1 || s.state == nullptr ||
        s.state->shape().n_layer != c.n_layer) {
      return InvalidArgumentError("forward batch: sequence slices do not partition the tokens");
    }
    next += s.length;
  }
  if (next != n_rows)
    return InvalidArgumentError("forward batch: slices cover " + std::to_string(next) + " of " +
                                std::to_string(n_rows) + " tokens");
  for (int64_t i = 0; i < n_rows; ++i) {
    if (batch.tokens[i] < 0 || batch.tokens[i] >= c.vocab_padded) {
      return OutOfRangeError("token id " + std::to_string(batch.tokens[i]) + " at position " +
                             std::to_string(i) + " is outside the vocabulary [0, " +
                             std::to_string(c.vocab_padded) + ")");
    }
  }
  int64_t prev = -1;
  for (int64_t r : batch.logit_rows) {
    if (r <= prev || r >= n_rows) return InvalidArgumentError("forward batch: bad logit rows");
    prev = r;
  }
  if (n_rows == 0) return Status::Ok();

  const int64_t d = c.d_model;
  float* h = scratch.Get(kHidden, n_rows * d);  // [n_rows, d_model] residual stream (F32)
  // [n_rows, d_model]: the block's RMSNorm output, then (in place) its mixer output.
  float* normed = scratch.Get(kNormed, n_rows * d);

  // hidden_states = self.embedding(input_ids)
  GatherRows(embedding_, batch.tokens.data(), n_rows, h, d);
  for (int64_t layer = 0; layer < c.n_layer; ++layer) {
    // hidden_states = self.norm(residual); hidden_states = self.mixer(hidden_states)
    RmsNorm(h, d, norm_[layer].data(), n_rows, d, static_cast<float>(c.norm_eps), normed, d);
    mixers_[layer]->Forward(layer, normed, n_rows, batch.seqs, normed, scratch, pool);
    // residual = hidden_states + residual
    AddInPlace(h, normed, n_rows * d);
  }
  for (const SeqSlice& s : batch.seqs) s.state->n_past += s.length;

  // logits = self.lm_head(self.norm_f(residual)), only for the requested rows.
  const int64_t n_out = static_cast<int64_t>(batch.logit_rows.size());
  if (n_out == 0) return Status::Ok();
  float* final_in = scratch.Get(kFinal, n_out * d);  // [n_out, d_model]
  for (int64_t i = 0; i < n_out; ++i) {
    std::memcpy(final_in + i * d, h + batch.logit_rows[i] * d, d * sizeof(float));
  }
  RmsNorm(final_in, d, norm_f_.data(), n_out, d, static_cast<float>(c.norm_eps), final_in, d);
  MatMul(lm_head_, final_in, d, n_out, batch.logits, c.vocab_padded, pool);
  return Status::Ok();
}

}  // namespace mamba
