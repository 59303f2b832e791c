// SPDX-License-Identifier: MIT
// libFuzzer target: arbitrary bytes -> ReadGguf, then every typed getter on every key and, when
// the file parses, the tokenizer from its tokenizer.ggml.* keys. Must never crash, leak or read
// out of bounds; every returned tensor view is read in full.
#include <cstddef>
#include <cstdint>

#include "io/gguf.h"
#include "tokenizer/gguf_vocab.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto file = mamba::MappedFile::FromBytes("fuzz.gguf", data, size);
  mamba::StatusOr<mamba::GgufFile> g = mamba::ReadGguf(file);
  if (!g.ok()) {
    MAMBA_CHECK(!g.status().message().empty(), "error without a message");
    return 0;
  }
  volatile uint64_t sink = 0;
  for (const mamba::GgufTensorInfo& info : g->tensor_infos) {
    const mamba::TensorView* t = g->tensors.Find(info.name);
    MAMBA_CHECK(t != nullptr, "tensor '%s' missing from the set", info.name.c_str());
    MAMBA_CHECK(t->data >= file->data() && t->data + t->nbytes <= file->data() + file->size(),
                "tensor '%s' points outside its file", info.name.c_str());
    const int64_t row = t->shape.back();
    MAMBA_CHECK(
        mamba::DTypeRowBytes(t->dtype, row) * static_cast<size_t>(t->numel() / row) == t->nbytes,
        "tensor '%s' nbytes does not match its shape", info.name.c_str());
    for (size_t i = 0; i < t->nbytes; ++i) sink = sink + t->data[i];
  }
  for (const auto& [key, value] : g->metadata) {
    (void)g->GetUInt(key);
    (void)g->GetInt(key);
    (void)g->GetFloat(key);
    (void)g->GetBool(key);
    (void)g->GetString(key);
    (void)g->GetArray(key, value.elem_type);
    for (size_t k = 0; k < value.ArraySize(); ++k) {  // packed and unpacked elements alike
      const mamba::GgufValue e = value.Element(k);
      if (value.elem_type == mamba::GgufType::kString) {
        MAMBA_CHECK(value.StringAt(k) == e.str, "GGUF string element %zu differs", k);
      }
    }
  }
  auto tok = mamba::TokenizerFromGguf(*g);
  if (tok.ok()) {
    const std::vector<int32_t> ids = tok->Encode("ab a<|endoftext|>b");
    sink = sink + tok->Decode(ids).size();
  }
  (void)sink;
  return 0;
}
