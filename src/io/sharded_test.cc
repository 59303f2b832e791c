// SPDX-License-Identifier: MIT
// Tests for sharded safetensors: a 2-shard checkpoint built from a real test model in a temp dir,
// and broken indexes (missing tensors, unlisted tensors, shard names escaping the directory).
#include "io/sharded.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "io/io_test_util.h"
#include "io/safetensors.h"

namespace mamba {
namespace {

using ::testing::HasSubstr;

class ShardedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("mamba_sharded_test_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    StatusOr<TensorSet> set =
        LoadSafetensorsFile(::mamba::testing::ModelPath("mamba1-tiny/model.safetensors"));
    ASSERT_TRUE(set.ok()) << set.status().ToString();
    original_ = std::move(set).value();
    // Alternate tensors between the two shards.
    std::vector<TensorView> shards[2];
    size_t i = 0;
    for (const std::string& name : original_.Names()) {
      const size_t shard = i++ % 2;
      shards[shard].push_back(*original_.Find(name));
      weight_map_[name] = ShardName(shard);
    }
    for (size_t s = 0; s < 2; ++s) {
      ASSERT_TRUE(WriteSafetensors(Path(ShardName(s)), shards[s]).ok());
    }
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  static std::string ShardName(size_t s) {
    return "model-0000" + std::to_string(s + 1) + "-of-00002.safetensors";
  }
  std::string Path(const std::string& name) const { return (dir_ / name).string(); }

  // Writes an index with `weight_map` and returns its path.
  std::string WriteIndex(const nlohmann::json& weight_map) const {
    const std::string path = Path("model.safetensors.index.json");
    nlohmann::json index = {{"metadata", {{"total_size", 0}}}, {"weight_map", weight_map}};
    std::ofstream(path) << index.dump(1);
    return path;
  }

  Status LoadError(const nlohmann::json& weight_map) const {
    StatusOr<TensorSet> set = LoadShardedSafetensors(WriteIndex(weight_map));
    EXPECT_FALSE(set.ok());
    return set.status();
  }

  std::filesystem::path dir_;
  TensorSet original_;
  nlohmann::json weight_map_ = nlohmann::json::object();
};

TEST_F(ShardedTest, LoadsTwoShardsWithIdenticalBytes) {
  StatusOr<TensorSet> set = LoadShardedSafetensors(WriteIndex(weight_map_));
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  ASSERT_EQ(set->Names(), original_.Names());
  for (const std::string& name : original_.Names()) {
    const TensorView* a = original_.Find(name);
    const TensorView* b = set->Find(name);
    EXPECT_EQ(a->shape, b->shape) << name;
    EXPECT_EQ(a->dtype, b->dtype) << name;
    ASSERT_EQ(a->nbytes, b->nbytes) << name;
    EXPECT_EQ(std::memcmp(a->data, b->data, a->nbytes), 0) << name;
    EXPECT_THAT(b->file->path(), HasSubstr("-of-00002.safetensors"));
  }
}

TEST_F(ShardedTest, TensorMissingFromItsShard) {
  nlohmann::json map = weight_map_;
  map["backbone.norm_f.weight"] =
      map["backbone.norm_f.weight"] == ShardName(0) ? ShardName(1) : ShardName(0);
  Status s = LoadError(map);
  EXPECT_THAT(s.message(), HasSubstr("model.safetensors.index.json"));
  EXPECT_THAT(s.message(), HasSubstr("'backbone.norm_f.weight'"));
  EXPECT_THAT(s.message(), HasSubstr("-of-00002.safetensors"));
}

TEST_F(ShardedTest, IndexListsUnknownTensor) {
  nlohmann::json map = weight_map_;
  map["lm_head.weight"] = ShardName(0);
  Status s = LoadError(map);
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_THAT(s.message(),
              HasSubstr("tensor 'lm_head.weight' is not in its shard '" + ShardName(0) + "'"));
}

TEST_F(ShardedTest, ShardHoldsUnlistedTensor) {
  nlohmann::json map = weight_map_;
  map.erase("backbone.norm_f.weight");
  Status s = LoadError(map);
  EXPECT_THAT(s.message(), HasSubstr("holds tensor 'backbone.norm_f.weight', which the "
                                     "weight_map does not list"));
}

TEST_F(ShardedTest, MissingShardFile) {
  nlohmann::json map = weight_map_;
  map["extra.weight"] = "model-00003-of-00002.safetensors";
  Status s = LoadError(map);
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_THAT(s.message(), HasSubstr("shard 'model-00003-of-00002.safetensors'"));
}

TEST_F(ShardedTest, RejectsShardNamesEscapingTheDirectory) {
  for (const char* bad :
       {"/etc/passwd", "../model.safetensors", "a/../../b.safetensors", "..", "sub\\..\\x", ""}) {
    nlohmann::json map = weight_map_;
    map["backbone.norm_f.weight"] = bad;
    Status s = LoadError(map);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(s.message(), HasSubstr("tensor 'backbone.norm_f.weight'")) << bad;
  }
}

TEST_F(ShardedTest, MalformedIndex) {
  const std::string path = Path("bad.index.json");
  for (const char* text :
       {"{", "[]", "{\"metadata\":{}}", "{\"weight_map\":[]}", "{\"weight_map\":{\"a\":1}}"}) {
    std::ofstream(path) << text;
    StatusOr<TensorSet> set = LoadShardedSafetensors(path);
    ASSERT_FALSE(set.ok()) << text;
    EXPECT_EQ(set.status().code(), StatusCode::kInvalidArgument) << text;
    EXPECT_THAT(set.status().message(), HasSubstr("bad.index.json")) << text;
  }
  EXPECT_EQ(LoadShardedSafetensors(Path("absent.index.json")).status().code(),
            StatusCode::kNotFound);
}

TEST_F(ShardedTest, CorruptShardNamesShardAndFile) {
  std::ofstream(Path(ShardName(1)), std::ios::binary | std::ios::trunc) << "garbage";
  Status s = LoadError(weight_map_);
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
  EXPECT_THAT(s.message(), HasSubstr("shard '" + ShardName(1) + "'"));
}

}  // namespace
}  // namespace mamba
