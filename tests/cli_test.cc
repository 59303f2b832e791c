// SPDX-License-Identifier: MIT
// mamba-cli's testing interface (--prompt-ids, --dump-logits, -n/--temp 0/--ignore-eos/
// --print-ids) against the golden files, model selection flags, and its error exits.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "command_runner.h"
#include "download/fake_hub_server.h"
#include "golden_util.h"
#include "model/checkpoint.h"
#include "model/gguf_export.h"

namespace mamba {
namespace {

namespace fs = std::filesystem;
const fs::path kModels = fs::path(MAMBA_SOURCE_DIR) / "tests/data/models";

using RunResult = testing::CommandResult;

RunResult RunCli(const std::string& args, const fs::path& cwd = fs::current_path(),
                 const std::string& env = "") {
  return testing::RunCommand(MAMBA_CLI_PATH, args, "", cwd, env);
}

std::string Join(const std::vector<int32_t>& ids, const char* sep) {
  std::string s;
  for (size_t i = 0; i < ids.size(); ++i) s += (i ? sep : "") + std::to_string(ids[i]);
  return s;
}

class CliGoldenTest : public ::testing::TestWithParam<std::string> {};

TEST_P(CliGoldenTest, LogitsAndGreedyIdsMatchGolden) {
  const fs::path dir = kModels / GetParam();
  const auto index = testing::ReadJson(dir / "golden/f32/index.json");
  const auto& tol = index["recommended_tolerance"]["float32_compute"];
  for (const auto& prompt : index["prompts"]) {
    SCOPED_TRACE(prompt["name"].get<std::string>());
    const auto tokens = prompt["tokens"].get<std::vector<int32_t>>();
    const fs::path dump =
        fs::temp_directory_path() / ("mamba_cli_logits_" + std::to_string(getpid()));
    const RunResult r =
        RunCli("-m '" + dir.string() + "' --prompt-ids " + Join(tokens, ",") + " --dump-logits '" +
               dump.string() + "' -n 32 --temp 0 --ignore-eos --print-ids -t 2");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto want =
        testing::ReadI32(dir / "golden/f32" / prompt["files"]["greedy_tokens"]["file"]);
    EXPECT_EQ(r.out, Join(want, " ") + "\n");
    const auto golden = testing::ReadF32(dir / "golden/f32" / prompt["files"]["logits"]["file"]);
    const auto logits = testing::ReadF32(dump);
    fs::remove(dump);
    ASSERT_EQ(logits.size(), golden.size());
    const double limit = tol["atol"].get<double>() +
                         tol["rtol"].get<double>() * testing::MaxAbs(golden.data(), golden.size());
    EXPECT_LE(testing::MaxAbsDiff(logits.data(), golden.data(), golden.size()), limit);
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, CliGoldenTest,
                         ::testing::Values("mamba1-tiny", "mamba1-hf-dstate8"),
                         [](const auto& info) {
                           std::string s = info.param;
                           for (char& c : s)
                             c = std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
                           return s;
                         });

// Seed-style flags (-m weights file -c config), a .bin file, --no-mmap and the default models/
// folder give the same greedy ids.
TEST(CliTest, ModelSelectionFlags) {
  const fs::path dir = kModels / "mamba1-tiny";
  const std::string gen = " --prompt-ids 5,6,7 -n 8 --temp 0 --ignore-eos --print-ids --no-stats";
  const RunResult by_dir = RunCli("-m '" + dir.string() + "'" + gen);
  ASSERT_EQ(by_dir.exit_code, 0) << by_dir.err;
  const RunResult by_file = RunCli("-m '" + (dir / "model.safetensors").string() + "' -c '" +
                                   (dir / "config.json").string() + "'" + gen);
  EXPECT_EQ(by_file.exit_code, 0) << by_file.err;
  EXPECT_EQ(by_file.out, by_dir.out);
  const RunResult by_bin =
      RunCli("-m '" + (dir / "variants/pt_bin/pytorch_model.bin").string() + "'" + gen);
  EXPECT_EQ(by_bin.exit_code, 0) << by_bin.err;
  EXPECT_EQ(by_bin.out, by_dir.out);
  // --no-mmap reads the same weights into memory (--no-regroup: nothing to regroup in F32).
  const RunResult by_read = RunCli("-m '" + dir.string() + "' --no-mmap --no-regroup" + gen);
  EXPECT_EQ(by_read.exit_code, 0) << by_read.err;
  EXPECT_EQ(by_read.out, by_dir.out);
  // No -m: ./models.
  const fs::path tmp =
      fs::temp_directory_path() / ("mamba_cli_default_" + std::to_string(getpid()));
  fs::create_directories(tmp);
  fs::create_directory_symlink(dir, tmp / "models");
  const RunResult by_default = RunCli(gen, tmp);
  fs::remove_all(tmp);
  EXPECT_EQ(by_default.exit_code, 0) << by_default.err;
  EXPECT_EQ(by_default.out, by_dir.out);
}

TEST(CliTest, ErrorsExitNonZeroAndNameTheCulprit) {
  const fs::path dir = kModels / "mamba1-tiny";
  RunResult r = RunCli("-m /nonexistent/model --prompt-ids 1");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("/nonexistent/model"), std::string::npos) << r.err;

  r = RunCli("-m '" + dir.string() + "' --prompt-ids 1,x,3");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("'x'"), std::string::npos) << r.err;

  r = RunCli("-m '" + dir.string() + "' --prompt-ids 1,99999");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("99999"), std::string::npos) << r.err;

  r = RunCli("-m '" + (dir / "model.safetensors").string() +
             "' -c /nonexistent/config.json "
             "--prompt-ids 1");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("/nonexistent/config.json"), std::string::npos) << r.err;
}

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// --hf ORG/NAME against a local server with the Hub's URL layout: the repo (state-spaces style,
// no tokenizer.json) is downloaded into the HF cache under HF_HOME, the GPT-NeoX tokenizer is
// fetched as the fallback, and the run gives the golden greedy ids. A second run reuses the cache.
TEST(CliTest, HfDownloadsIntoCacheAndRuns) {
  const fs::path dir = kModels / "mamba1-tiny";
  FakeHub hub;
  hub.AddFile("state-spaces/mamba-tiny", "config.json", ReadFile(dir / "config.json"), false);
  hub.AddFile("state-spaces/mamba-tiny", "model.safetensors", ReadFile(dir / "model.safetensors"),
              true);
  hub.AddFile("EleutherAI/gpt-neox-20b", "tokenizer.json",
              ReadFile(fs::path(MAMBA_SOURCE_DIR) / "tests/data/tokenizer/tokenizer.json"), true);
  const fs::path home = fs::temp_directory_path() / ("mamba_cli_hf_" + std::to_string(getpid()));
  fs::remove_all(home);
  const auto index = testing::ReadJson(dir / "golden/f32/index.json");
  const auto& prompt = index["prompts"][1];
  const auto want = testing::ReadI32(dir / "golden/f32" / prompt["files"]["greedy_tokens"]["file"]);
  const std::string env = "HF_HOME='" + home.string() + "' HF_ENDPOINT=" + hub.endpoint() + " ";
  const std::string args = "--hf state-spaces/mamba-tiny --prompt-ids " +
                           Join(prompt["tokens"].get<std::vector<int32_t>>(), ",") +
                           " -n 32 --temp 0 --ignore-eos --print-ids --no-stats";
  // RunCli prefixes the binary; put the environment in front of the whole command via `env`.
  RunResult r = RunCli(args, fs::current_path(), env);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, Join(want, " ") + "\n");
  const fs::path snapshots = home / "hub/models--state-spaces--mamba-tiny/snapshots";
  ASSERT_TRUE(fs::is_directory(snapshots));
  const fs::path snap = fs::directory_iterator(snapshots)->path();
  EXPECT_TRUE(fs::exists(snap / "tokenizer.json"));
  EXPECT_TRUE(fs::is_symlink(snap / "model.safetensors"));
  const int gets = hub.Count("GET", "model.safetensors");
  r = RunCli(args, fs::current_path(), env);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, Join(want, " ") + "\n");
  EXPECT_EQ(hub.Count("GET", "model.safetensors"), gets) << "second run downloaded again";
  fs::remove_all(home);
}

// A GGUF file runs alone: mamba-cli takes the GGUF export of mamba1-tiny (no config.json, no
// tokenizer.json next to it) and gives the golden greedy ids.
TEST(CliTest, GgufFileRunsAlone) {
  const fs::path dir = kModels / "mamba1-tiny";
  auto ck = OpenCheckpoint(dir.string());
  ASSERT_TRUE(ck.ok()) << ck.status().ToString();
  const fs::path tmp = fs::temp_directory_path() / ("mamba_cli_gguf_" + std::to_string(getpid()));
  fs::create_directories(tmp);
  const fs::path gguf = tmp / "tiny.gguf";
  ASSERT_TRUE(WriteMambaGguf(*ck, gguf.string()).ok());
  const auto index = testing::ReadJson(dir / "golden/f32/index.json");
  const auto& prompt = index["prompts"][2];
  const auto want = testing::ReadI32(dir / "golden/f32" / prompt["files"]["greedy_tokens"]["file"]);
  const RunResult r = RunCli("-m '" + gguf.string() + "' --prompt-ids " +
                             Join(prompt["tokens"].get<std::vector<int32_t>>(), ",") +
                             " -n 32 --temp 0 --ignore-eos --print-ids --no-stats");
  fs::remove_all(tmp);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, Join(want, " ") + "\n");
}

}  // namespace
}  // namespace mamba
