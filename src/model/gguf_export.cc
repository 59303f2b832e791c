// SPDX-License-Identifier: MIT
// Checkpoint -> llama.cpp-layout GGUF (see gguf_export.h). Names, key order and tensor order
// follow llama.cpp's convert_hf_to_gguf.py (MambaModel) so a file we write is laid out like the
// converter's.
#include "model/gguf_export.h"

#include <cmath>
#include <cstring>
#include <memory>

#include "kernels/matmul.h"
#include "kernels/quantize.h"
#include "model/gguf_checkpoint.h"

namespace mamba {

std::vector<std::pair<std::string, GgufValue>> MambaGgufMetadata(const ModelConfig& c,
                                                                 const std::string& name,
                                                                 uint32_t file_type) {
  auto u32 = [](int64_t v) { return GgufValue::U32(static_cast<uint32_t>(v)); };
  const bool m2 = c.arch == Arch::kMamba2;
  const std::string a = m2 ? "mamba2" : "mamba";
  std::vector<std::pair<std::string, GgufValue>> kv = {
      {"general.architecture", GgufValue::String(a)},
      {"general.type", GgufValue::String("model")},
      {"general.name", GgufValue::String(name)},
      {a + ".context_length", u32(1 << 20)},
      {a + ".embedding_length", u32(c.d_model)},
      {a + ".feed_forward_length", u32(0)},
      {a + ".attention.head_count", u32(0)},
      {a + ".block_count", u32(c.n_layer)},
      {a + ".ssm.conv_kernel", u32(c.d_conv)},
      {a + ".ssm.inner_size", u32(c.d_inner)},
      {a + ".ssm.state_size", u32(c.d_state)},
      // Mamba-2: the number of heads (llama.cpp's convention).
      {a + ".ssm.time_step_rank", u32(m2 ? c.d_inner / c.headdim : c.dt_rank)},
  };
  if (m2) kv.emplace_back(a + ".ssm.group_count", u32(c.ngroups));
  kv.emplace_back(a + ".attention.layer_norm_rms_epsilon",
                  GgufValue::F32(static_cast<float>(c.norm_eps)));
  if (!m2) kv.emplace_back("mamba.ssm.dt_b_c_rms", GgufValue::Bool(false));
  kv.emplace_back("general.file_type", GgufValue::U32(file_type));
  kv.emplace_back("general.quantization_version", GgufValue::U32(2));
  return kv;
}

namespace {

// Collects output tensors; owns the bytes of the ones it converts.
class Exporter {
 public:
  Exporter(const Checkpoint& ck, const GgufExportOptions& opts) : ck_(ck), opts_(opts) {}

  StatusOr<const TensorView*> Source(const std::string& name) const {
    const TensorView* t = ck_.tensors.Find(name);
    if (t == nullptr)
      return NotFoundError("'" + ck_.weights_path + "': missing tensor '" + name + "'");
    return t;
  }

  // Stored as is (matrices).
  Status AsIs(const std::string& src, const std::string& dst) {
    MAMBA_ASSIGN_OR_RETURN(const TensorView* t, Source(src));
    TensorView v = *t;
    v.name = dst;
    if (opts_.matrix_type) {
      const DType want = opts_.matrix_type(dst, *t);
      if (want != t->dtype) {
        MAMBA_ASSIGN_OR_RETURN(v, Convert(src, *t, want));
        v.name = dst;
      }
      ++converted_;
      if (opts_.progress) opts_.progress(src, converted_);
    }
    out_.push_back(std::move(v));
    return Status::Ok();
  }

  // `t` re-stored as `want` through F32, row by row (rows = last dim).
  StatusOr<TensorView> Convert(const std::string& src, const TensorView& t, DType want) {
    const int64_t cols = t.shape.empty() ? 1 : t.shape.back();
    const int64_t rows = cols == 0 ? 0 : t.numel() / cols;
    const auto& info = GetDTypeInfo(want);
    if (IsQuantized(want) && cols % info.block_size != 0) {
      return InvalidArgumentError("'" + ck_.weights_path + "': tensor '" + src + "': rows of " +
                                  std::to_string(cols) + " do not fit " +
                                  std::string(DTypeName(want)) + " blocks");
    }
    const size_t in_row = DTypeRowBytes(t.dtype, cols);
    const size_t out_row = DTypeRowBytes(want, cols);
    auto buf = std::make_unique<std::vector<float>>(static_cast<size_t>(rows) * out_row / 4 + 1);
    uint8_t* out = reinterpret_cast<uint8_t*>(buf->data());
    std::vector<float> row(static_cast<size_t>(cols));
    for (int64_t r = 0; r < rows; ++r) {
      ConvertToF32(t.dtype, t.data + r * in_row, cols, row.data());
      uint8_t* o = out + r * out_row;
      if (want == DType::kF32) {
        std::memcpy(o, row.data(), out_row);
      } else if (want == DType::kF16 || want == DType::kBF16) {
        for (int64_t i = 0; i < cols; ++i) {
          const uint16_t h = want == DType::kF16 ? F32ToF16(row[i]) : F32ToBF16(row[i]);
          std::memcpy(o + 2 * i, &h, 2);
        }
      } else if (IsQuantized(want)) {
        QuantizeRow(want, row.data(), cols, o);
      } else {
        return UnimplementedError("'" + ck_.weights_path + "': tensor '" + src +
                                  "': cannot store as " + std::string(DTypeName(want)));
      }
    }
    TensorView v;
    v.dtype = want;
    v.shape = t.shape;
    v.data = out;
    v.nbytes = static_cast<size_t>(rows) * out_row;
    owned_.push_back(std::move(buf));
    return v;
  }

  // Upcast to F32 with `shape`; `transform` may change the values (e.g. A = -exp(A_log)).
  template <class Fn>
  Status F32(const std::string& src, const std::string& dst, std::vector<int64_t> shape,
             Fn transform) {
    MAMBA_ASSIGN_OR_RETURN(const TensorView* t, Source(src));
    if (IsQuantized(t->dtype)) {
      return UnimplementedError("'" + ck_.weights_path + "': tensor '" + src +
                                "': quantized source tensors cannot be exported");
    }
    auto buf = std::make_unique<std::vector<float>>(static_cast<size_t>(t->numel()));
    ConvertToF32(t->dtype, t->data, t->numel(), buf->data());
    for (float& x : *buf) x = transform(x, t->dtype);
    TensorView v;
    v.name = dst;
    v.dtype = DType::kF32;
    v.shape = std::move(shape);
    v.data = reinterpret_cast<const uint8_t*>(buf->data());
    v.nbytes = buf->size() * sizeof(float);
    out_.push_back(std::move(v));
    owned_.push_back(std::move(buf));
    return Status::Ok();
  }
  Status F32(const std::string& src, const std::string& dst) {
    MAMBA_ASSIGN_OR_RETURN(const TensorView* t, Source(src));
    return F32(src, dst, t->shape, [](float x, DType) { return x; });
  }

  const std::vector<TensorView>& tensors() const { return out_; }

 private:
  const Checkpoint& ck_;
  const GgufExportOptions& opts_;
  int converted_ = 0;
  std::vector<TensorView> out_;
  std::vector<std::unique_ptr<std::vector<float>>> owned_;
};

// -exp(a) in float32, rounded to `dtype` as the converter (which computes in the checkpoint
// dtype) does.
float NegExpInDType(float a_log, DType dtype) {
  const float a = -std::exp(a_log);
  if (dtype == DType::kF16) return F16ToF32(F32ToF16(a));
  if (dtype == DType::kBF16) return BF16ToF32(F32ToBF16(a));
  return a;
}

}  // namespace

Status WriteMambaGguf(const Checkpoint& ck, const std::string& path,
                      const GgufExportOptions& options) {
  const ModelConfig& c = ck.config;
  Exporter ex(ck, options);
  const std::string emb = ck.tensors.Find("backbone.embeddings.weight") != nullptr
                              ? "backbone.embeddings.weight"
                              : "backbone.embedding.weight";
  MAMBA_RETURN_IF_ERROR(ex.AsIs(emb, "token_embd.weight"));
  for (int64_t i = 0; c.arch == Arch::kMamba2 && i < c.n_layer; ++i) {
    // As convert_hf_to_gguf.py's Mamba2Model: A and D as [nheads, 1], the gated norm's weight as
    // [ngroups, d_inner / ngroups], dt_bias as ssm_dt.bias.
    const std::string p = "backbone.layers." + std::to_string(i) + ".";
    const std::string m = p + "mixer.";
    const std::string b = "blk." + std::to_string(i) + ".";
    const int64_t heads = c.d_inner / c.headdim;
    const int64_t conv_dim = c.d_inner + 2 * c.ngroups * c.d_state;
    if (ck.tensors.Find(m + "A_log") != nullptr) {
      MAMBA_RETURN_IF_ERROR(ex.F32(m + "A_log", b + "ssm_a", {heads, 1},
                                   [](float x, DType dt) { return NegExpInDType(x, dt); }));
    } else {
      MAMBA_RETURN_IF_ERROR(
          ex.F32(m + "A", b + "ssm_a", {heads, 1}, [](float x, DType) { return x; }));
    }
    MAMBA_RETURN_IF_ERROR(
        ex.F32(m + "D", b + "ssm_d", {heads, 1}, [](float x, DType) { return x; }));
    if (c.conv_bias) MAMBA_RETURN_IF_ERROR(ex.F32(m + "conv1d.bias", b + "ssm_conv1d.bias"));
    MAMBA_RETURN_IF_ERROR(ex.F32(m + "conv1d.weight", b + "ssm_conv1d.weight", {conv_dim, c.d_conv},
                                 [](float x, DType) { return x; }));
    MAMBA_RETURN_IF_ERROR(ex.F32(m + "dt_bias", b + "ssm_dt.bias"));
    MAMBA_RETURN_IF_ERROR(ex.AsIs(m + "in_proj.weight", b + "ssm_in.weight"));
    if (c.proj_bias) MAMBA_RETURN_IF_ERROR(ex.F32(m + "in_proj.bias", b + "ssm_in.bias"));
    MAMBA_RETURN_IF_ERROR(ex.F32(m + "norm.weight", b + "ssm_norm.weight",
                                 {c.ngroups, c.d_inner / c.ngroups},
                                 [](float x, DType) { return x; }));
    MAMBA_RETURN_IF_ERROR(ex.AsIs(m + "out_proj.weight", b + "ssm_out.weight"));
    if (c.proj_bias) MAMBA_RETURN_IF_ERROR(ex.F32(m + "out_proj.bias", b + "ssm_out.bias"));
    MAMBA_RETURN_IF_ERROR(ex.F32(p + "norm.weight", b + "attn_norm.weight"));
  }
  for (int64_t i = 0; c.arch == Arch::kMamba1 && i < c.n_layer; ++i) {
    const std::string p = "backbone.layers." + std::to_string(i) + ".";
    const std::string m = p + "mixer.";
    const std::string b = "blk." + std::to_string(i) + ".";
    if (ck.tensors.Find(m + "A_log") != nullptr) {
      MAMBA_RETURN_IF_ERROR(ex.F32(m + "A_log", b + "ssm_a", {c.d_inner, c.d_state},
                                   [](float x, DType dt) { return NegExpInDType(x, dt); }));
    } else {
      MAMBA_RETURN_IF_ERROR(ex.F32(m + "A", b + "ssm_a"));
    }
    MAMBA_RETURN_IF_ERROR(ex.F32(m + "D", b + "ssm_d"));
    if (c.conv_bias) MAMBA_RETURN_IF_ERROR(ex.F32(m + "conv1d.bias", b + "ssm_conv1d.bias"));
    MAMBA_RETURN_IF_ERROR(ex.F32(m + "conv1d.weight", b + "ssm_conv1d.weight",
                                 {c.d_inner, c.d_conv}, [](float x, DType) { return x; }));
    MAMBA_RETURN_IF_ERROR(ex.F32(m + "dt_proj.bias", b + "ssm_dt.bias"));
    MAMBA_RETURN_IF_ERROR(ex.AsIs(m + "dt_proj.weight", b + "ssm_dt.weight"));
    MAMBA_RETURN_IF_ERROR(ex.AsIs(m + "in_proj.weight", b + "ssm_in.weight"));
    if (c.proj_bias) MAMBA_RETURN_IF_ERROR(ex.F32(m + "in_proj.bias", b + "ssm_in.bias"));
    MAMBA_RETURN_IF_ERROR(ex.AsIs(m + "out_proj.weight", b + "ssm_out.weight"));
    if (c.proj_bias) MAMBA_RETURN_IF_ERROR(ex.F32(m + "out_proj.bias", b + "ssm_out.bias"));
    MAMBA_RETURN_IF_ERROR(ex.AsIs(m + "x_proj.weight", b + "ssm_x.weight"));
    MAMBA_RETURN_IF_ERROR(ex.F32(p + "norm.weight", b + "attn_norm.weight"));
  }
  MAMBA_RETURN_IF_ERROR(ex.F32("backbone.norm_f.weight", "output_norm.weight"));
  if (!c.tie_embeddings) MAMBA_RETURN_IF_ERROR(ex.AsIs("lm_head.weight", "output.weight"));

  uint32_t file_type = 0;
  const DType emb_dtype = ck.tensors.Find(emb)->dtype;
  if (emb_dtype == DType::kF16) file_type = 1;
  if (emb_dtype == DType::kBF16) file_type = 32;
  if (options.file_type) file_type = *options.file_type;
  auto metadata = MambaGgufMetadata(c, options.name, file_type);
  metadata.insert(metadata.end(), options.extra_metadata.begin(), options.extra_metadata.end());
  return WriteGguf(path, metadata, ex.tensors());
}

}  // namespace mamba
