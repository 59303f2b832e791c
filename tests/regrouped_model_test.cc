// SPDX-License-Identifier: MIT
// Quantized GGUF models loaded with their matrices regrouped for the kernels (RegroupedWeights)
// give the bits of the same file loaded as stored, mapped or read, on every SIMD target; the
// stored bytes of a regrouped matrix are given back and fault when read.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "engine/session.h"
#include "hwy/targets.h"
#include "kernels/kernel_target.h"
#include "kernels/quant_repack.h"
#include "model/gguf_export.h"
#include "model/model.h"
#include "model/regrouped_weights.h"
#include "model/weight_binder.h"

namespace mamba {
namespace {

namespace fs = std::filesystem;

// d_model 128, d_inner 256: out_proj and x_proj rows hold one group of 8 blocks (one Q4_K
// superblock).
const fs::path kModelDir = fs::path(MAMBA_SOURCE_DIR) / "tests/data/models/mamba1-small-v997";

// Logits of a 37-token prefill (every position) followed by 6 greedy decode steps.
std::vector<float> PrefillAndDecode(const Model& model, ThreadPool* pool) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int32_t> id(0, static_cast<int32_t>(model.config().vocab_size) - 1);
  std::vector<int32_t> prompt(37);
  for (int32_t& t : prompt) t = id(rng);
  Session s(model, pool);
  std::vector<float> out;
  EXPECT_TRUE(s.Prefill(prompt, &out).ok());
  const int64_t vocab = model.config().vocab_padded;
  for (int step = 0; step < 6; ++step) {
    const float* l = s.logits().data();
    int32_t best = 0;
    for (int64_t i = 1; i < vocab; ++i) best = l[i] > l[best] ? static_cast<int32_t>(i) : best;
    EXPECT_TRUE(s.Decode(best).ok());
    out.insert(out.end(), s.logits().begin(), s.logits().begin() + vocab);
  }
  return out;
}

// Each test gets the model exported as a GGUF whose matrices (rows of a multiple of the block
// size) are of the parameter's type, at `path`.
class RegroupedModelTest : public ::testing::TestWithParam<DType> {
 protected:
  void SetUp() override {
    auto ck = OpenCheckpoint(kModelDir.string());
    ASSERT_TRUE(ck.ok()) << ck.status().ToString();
    dir = fs::temp_directory_path() / ("regrouped_model_test_" + std::to_string(getpid()) + "_" +
                                       std::string(DTypeName(GetParam())));
    fs::create_directories(dir);
    path = dir / "model.gguf";
    GgufExportOptions opts;
    opts.matrix_type = [&](const std::string&, const TensorView& src) {
      return src.shape.back() % GetDTypeInfo(GetParam()).block_size == 0 ? GetParam() : src.dtype;
    };
    ASSERT_TRUE(WriteMambaGguf(*ck, path.string(), opts).ok());
  }
  void TearDown() override { fs::remove_all(dir); }

  fs::path dir, path;
};

TEST_P(RegroupedModelTest, SameBitsAsStoredOnEveryTarget) {
  const DType type = GetParam();
  auto stored = Model::Load(path.string(), "", FileAccess::kMap, /*regroup_weights=*/false);
  auto mapped = Model::Load(path.string(), "", FileAccess::kMap);
  auto read = Model::Load(path.string(), "", FileAccess::kRead);
  ASSERT_TRUE(stored.ok() && mapped.ok() && read.ok());
  EXPECT_EQ((*stored)->regrouped_tensors(), 0);
  // On x86 with AVX2 and up: out_proj and x_proj of both layers.
  const int want = KernelsPreferGroups8(type) ? 4 : 0;
  EXPECT_EQ((*mapped)->regrouped_tensors(), want);
  EXPECT_EQ((*read)->regrouped_tensors(), want);

  // The kernels' bytes: the tensors' own, except for the regrouped ones (same sizes).
  const TensorSet& tensors = (*mapped)->checkpoint().tensors;
  const auto memory = (*mapped)->WeightMemory();
  ASSERT_EQ(memory.size(), tensors.size());
  int moved = 0;
  for (size_t i = 0; i < memory.size(); ++i) {
    const TensorView* t = tensors.Find(tensors.Names()[i]);
    EXPECT_EQ(memory[i].second, t->nbytes);
    moved += memory[i].first != t->data;
  }
  EXPECT_EQ(moved, want);

  ThreadPool pool(2);
  for (int64_t target : hwy::SupportedAndGeneratedTargets()) {
    hwy::SetSupportedTargetsForTest(target);
    SCOPED_TRACE(KernelTargetName());
    const std::vector<float> want_logits = PrefillAndDecode(**stored, &pool);
    EXPECT_EQ(PrefillAndDecode(**mapped, &pool), want_logits);
    EXPECT_EQ(PrefillAndDecode(**read, nullptr), want_logits);
  }
  hwy::SetSupportedTargetsForTest(0);

  if (want > 0) {
    // The stored bytes of a regrouped matrix are gone: reading them faults (a whole page inside
    // out_proj, 128 rows of 256, is released).
    const TensorView* t =
        (*mapped)->checkpoint().tensors.Find("backbone.layers.0.mixer.out_proj.weight");
    ASSERT_NE(t, nullptr);
    ASSERT_GE(t->nbytes, 3 * static_cast<size_t>(::sysconf(_SC_PAGESIZE)));
    const volatile uint8_t* middle = t->data + t->nbytes / 2;
    EXPECT_DEATH((void)*middle, "");
  }
}

// A matrix bound regrouped (its stored bytes released) still converts to the F32 values of the
// stored tensor through WeightBinder::F32.
TEST_P(RegroupedModelTest, F32OfARegroupedMatrixReadsTheCopy) {
  if (!KernelsPreferGroups8(GetParam())) GTEST_SKIP() << "the dispatched kernels do not regroup";
  auto plain = OpenCheckpoint(path.string());
  auto grouped = OpenCheckpoint(path.string());
  ASSERT_TRUE(plain.ok() && grouped.ok());
  auto regrouped = RegroupedWeights::ForTensors(grouped->tensors, path.string());
  ASSERT_TRUE(regrouped.ok()) << regrouped.status().ToString();
  const WeightBinder want(plain->tensors, path.string());
  const WeightBinder got(grouped->tensors, path.string(), regrouped->get());
  const std::string name = "backbone.layers.1.mixer.out_proj.weight";
  const std::vector<int64_t> shape = grouped->tensors.Find(name)->shape;
  auto m = got.Matrix(name, shape[0], shape[1]);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->layout, WeightLayout::kGroups8);
  auto a = want.F32(name, shape);
  auto b = got.F32(name, shape);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(*b, *a);
}

INSTANTIATE_TEST_SUITE_P(Types, RegroupedModelTest,
                         ::testing::Values(DType::kQ8_0, DType::kQ4_0, DType::kQ4_1, DType::kQ5_0,
                                           DType::kQ5_1, DType::kQ4_K, DType::kQ5_K, DType::kQ6_K),
                         [](const auto& info) { return std::string(DTypeName(info.param)); });

}  // namespace
}  // namespace mamba
