// SPDX-License-Identifier: MIT
// mamba-bench as a user runs it: its JSON rows against figures computed here independently of
// the engine (weight bytes per token from the safetensors header, prefill work from config.json,
// the limits from the bandwidth and FMA peak it reports), and its error exits.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "command_runner.h"
#include "golden_util.h"

namespace mamba {
namespace {

namespace fs = std::filesystem;
const fs::path kModels = fs::path(MAMBA_SOURCE_DIR) / "tests/data/models";

testing::CommandResult RunBench(const std::string& args) {
  return testing::RunCommand(MAMBA_BENCH_PATH, args);
}

// Every tensor's byte count from a safetensors header (u64 LE length, then JSON).
std::map<std::string, int64_t> TensorBytes(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  uint64_t n = 0;
  in.read(reinterpret_cast<char*>(&n), 8);
  std::string header(n, '\0');
  in.read(header.data(), static_cast<std::streamsize>(n));
  std::map<std::string, int64_t> out;
  const nlohmann::json tensors = nlohmann::json::parse(header);
  for (const auto& [name, t] : tensors.items()) {
    if (name == "__metadata__") continue;
    out[name] = t["data_offsets"][1].get<int64_t>() - t["data_offsets"][0].get<int64_t>();
  }
  return out;
}

struct Case {
  std::string dir;
  std::string untied_embedding;  // the tensor decode only gathers from ("" when tied)
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.dir; }

class BenchToolTest : public ::testing::TestWithParam<Case> {};

TEST_P(BenchToolTest, JsonRowsAgreeWithTheModelAndTheLimits) {
  const fs::path dir = kModels / GetParam().dir;
  const auto r =
      RunBench("-m '" + dir.string() + "' -p 8 -n 4 -r 2 -t 1,2 --bw-buffer-mb 16 -o json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto rows = nlohmann::json::parse(r.out);
  ASSERT_EQ(rows.size(), 4u) << r.out;  // (pp8, tg4) x (1, 2 threads)

  int64_t bytes_per_token = 0;
  for (const auto& [name, bytes] : TensorBytes(dir / "model.safetensors")) {
    if (name != GetParam().untied_embedding) bytes_per_token += bytes;
  }
  // Multiply-adds per prefill token: the four projections of each layer, from config.json.
  const auto cfg = testing::ReadJson(dir / "config.json");
  auto get = [&](const char* a, const char* b) {
    return static_cast<double>(cfg.contains(a) ? cfg[a].get<int64_t>() : cfg[b].get<int64_t>());
  };
  const double d_model = get("d_model", "hidden_size"),
               n_layer = get("n_layer", "num_hidden_layers");
  const double d_inner = 2 * d_model;
  const nlohmann::json ssm = cfg.value("ssm_cfg", nlohmann::json::object());
  double gflop = 0;
  if (ssm.value("layer", "") == "Mamba2") {
    // in_proj [2 d_inner + 2 ngroups d_state + nheads, d_model] and out_proj [d_model, d_inner].
    const double d_state = ssm["d_state"].get<double>(), groups = ssm["ngroups"].get<double>();
    const double heads = d_inner / ssm["headdim"].get<double>();
    gflop = 2 * n_layer *
            ((2 * d_inner + 2 * groups * d_state + heads) * d_model + d_model * d_inner) / 1e9;
  } else {
    const double d_state = cfg.contains("state_size") ? cfg["state_size"].get<double>() : 16.0;
    const double dt_rank = cfg.contains("time_step_rank") ? cfg["time_step_rank"].get<double>()
                                                          : std::ceil(d_model / 16);
    gflop = 2 * n_layer *
            (2 * d_inner * d_model + (dt_rank + 2 * d_state) * d_inner + d_inner * dt_rank +
             d_model * d_inner) /
            1e9;
  }

  for (const auto& row : rows) {
    SCOPED_TRACE(row.dump());
    const bool tg = row["n_gen"].get<int>() > 0;
    EXPECT_EQ(row["test"], tg ? "tg4" : "pp8");
    EXPECT_EQ(row["weight_bytes_per_token"].get<int64_t>(), bytes_per_token);
    EXPECT_EQ(row["file_bytes"].get<int64_t>(),
              static_cast<int64_t>(fs::file_size(dir / "model.safetensors")));
    const auto samples = row["samples_ts"].get<std::vector<double>>();
    ASSERT_EQ(samples.size(), 2u);
    EXPECT_GT(samples[0], 0);
    EXPECT_GT(samples[1], 0);
    const double avg = row["avg_ts"].get<double>();
    EXPECT_NEAR(avg, (samples[0] + samples[1]) / 2, 1e-9 * avg);
    const double limit = row["limit_ts"].get<double>();
    if (tg) {
      // Decode: bandwidth / bytes per token; the limit's bandwidth is the best probe pass.
      const double bw = row["bandwidth_gbps"].get<double>();
      EXPECT_GT(bw, 0);
      EXPECT_GE(bw, row["bandwidth_weights_gbps"].get<double>());
      EXPECT_GE(bw, row["bandwidth_anon_gbps"].get<double>());
      EXPECT_NEAR(limit, bw * 1e9 / bytes_per_token, 1e-9 * limit);
      // One paired fraction per repetition; its median (here the mean of two) is reported.
      const auto paired = row["paired_fractions"].get<std::vector<double>>();
      ASSERT_EQ(paired.size(), 2u);
      for (double f : paired) EXPECT_GT(f, 0);
      EXPECT_NEAR(row["fraction_of_paired_bandwidth"].get<double>(), (paired[0] + paired[1]) / 2,
                  1e-12);
      EXPECT_EQ(row["limit_kind"], "memory_bandwidth");
    } else {
      EXPECT_NEAR(row["gflop_per_prefill_token"].get<double>(), gflop, 1e-12);
      EXPECT_NEAR(limit, row["fma_peak_gflops"].get<double>() / gflop, 1e-9 * limit);
      EXPECT_FALSE(row.contains("paired_fractions"));
      EXPECT_EQ(row["limit_kind"], "fma_peak");
    }
    EXPECT_NEAR(row["fraction_of_limit"].get<double>(), avg / limit, 1e-9);
    EXPECT_GT(row["peak_rss_bytes"].get<int64_t>(), 0);
  }
  EXPECT_EQ(rows[0]["n_threads"], 1);
  EXPECT_EQ(rows[2]["n_threads"], 2);
}

INSTANTIATE_TEST_SUITE_P(Models, BenchToolTest,
                         ::testing::Values(Case{"mamba1-tiny", ""},
                                           Case{"mamba1-hf-dstate8", "backbone.embeddings.weight"},
                                           Case{"mamba2-ngroups2", ""}),
                         [](const auto& info) {
                           std::string s = info.param.dir;
                           std::replace(s.begin(), s.end(), '-', '_');
                           return s;
                         });

TEST(BenchToolErrors, NamesWhatIsWrongAndExitsNonZero) {
  const auto missing = RunBench("-m /nonexistent/mamba-model -n 1 -p 0 --bw-buffer-mb 16");
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_NE(missing.err.find("/nonexistent/mamba-model"), std::string::npos) << missing.err;

  const std::string tiny = "-m '" + (kModels / "mamba1-tiny").string() + "' ";
  const auto threads = RunBench(tiny + "-t 0 --bw-buffer-mb 16");
  EXPECT_NE(threads.exit_code, 0);
  EXPECT_NE(threads.err.find("-t"), std::string::npos) << threads.err;

  const auto output = RunBench(tiny + "-o xml");
  EXPECT_NE(output.exit_code, 0);
  EXPECT_NE(output.err.find("-o"), std::string::npos) << output.err;

  const auto nothing = RunBench("-n 1");
  EXPECT_NE(nothing.exit_code, 0);
  EXPECT_NE(nothing.err.find("nothing to benchmark"), std::string::npos) << nothing.err;

  const auto shape = RunBench("--synthetic 7b");
  EXPECT_NE(shape.exit_code, 0);
  EXPECT_NE(shape.err.find("7b"), std::string::npos) << shape.err;
}

}  // namespace
}  // namespace mamba
