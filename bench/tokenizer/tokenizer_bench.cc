// SPDX-License-Identifier: MIT
// mamba-tokenizer-bench: load time of a tokenizer.json and single-threaded encode throughput on
// text files, printed in the same format as hf_bench.mjs so run_bench.sh can put the two side by
// side. Each file is encoded as one string (-c 0) or as chunks of whole lines of at least -c bytes
// (both programs cut at the same places); ids_hash (FNV-1a over all ids) shows that both sides
// produced the same ids. Not a test: run it by hand (see docs/tokenizer.md).
// With -j IN.jsonl it instead encodes each line's JSON string and prints "ids<TAB>decoded-JSON"
// per line, for diff_vs_hf.mjs.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tokenizer/tokenizer.h"

namespace {

double NowMs() {
  using Clock = std::chrono::steady_clock;
  return std::chrono::duration<double, std::milli>(Clock::now().time_since_epoch()).count();
}

// CPU time of the whole process (user + system), in ms: robust against a busy machine, and what
// hf_bench.mjs reports from process.cpuUsage().
double CpuMs() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

uint32_t HashIds(const std::vector<int32_t>& ids) {
  uint32_t h = 2166136261u;
  for (const int32_t id : ids) h = (h ^ static_cast<uint32_t>(id)) * 16777619u;
  return h;
}

// Cuts `text` after a '\n' once a chunk has at least `chunk` bytes; 0 keeps it whole.
std::vector<std::string_view> Chunks(std::string_view text, size_t chunk) {
  std::vector<std::string_view> out;
  if (chunk == 0) {
    out.push_back(text);
    return out;
  }
  size_t start = 0;
  while (start < text.size()) {
    size_t end = start + chunk;
    if (end >= text.size()) {
      end = text.size();
    } else {
      const size_t nl = text.find('\n', end - 1);
      end = nl == std::string_view::npos ? text.size() : nl + 1;
    }
    out.push_back(text.substr(start, end - start));
    start = end;
  }
  return out;
}

// Encodes every JSON string line of `path`; prints ids and the decoded text (as JSON) per line.
int EncodeJsonl(const mamba::Tokenizer& tok, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return 1;
  std::string line;
  std::string out;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const nlohmann::json text = nlohmann::json::parse(line, nullptr, false);
    if (!text.is_string()) return 1;
    const std::vector<int32_t> ids = tok.Encode(text.get<std::string>());
    for (size_t i = 0; i < ids.size(); ++i) {
      if (i > 0) out.push_back(' ');
      out += std::to_string(ids[i]);
    }
    out.push_back('\t');
    out += nlohmann::json(tok.Decode(ids))
               .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    out.push_back('\n');
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

int Usage() {
  std::fprintf(stderr,
               "usage: mamba-tokenizer-bench -t tokenizer.json [-r REPEAT] [-l LOADS] [-c CHUNK] "
               "FILE...\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string tokenizer_path;
  int repeat = 5;
  int loads = 10;
  size_t chunk = 0;
  std::string jsonl;
  std::vector<std::string> files;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if ((arg == "-t" || arg == "-r" || arg == "-l" || arg == "-c" || arg == "-j") && i + 1 < argc) {
      const std::string value = argv[++i];
      if (arg == "-t") tokenizer_path = value;
      if (arg == "-j") jsonl = value;
      if (arg == "-r") repeat = std::max(1, std::stoi(value));
      if (arg == "-l") loads = std::max(1, std::stoi(value));
      if (arg == "-c") chunk = static_cast<size_t>(std::max(0, std::stoi(value)));
    } else if (!arg.empty() && arg[0] == '-') {
      return Usage();
    } else {
      files.push_back(arg);
    }
  }
  if (tokenizer_path.empty()) return Usage();

  if (!jsonl.empty()) {
    mamba::StatusOr<mamba::Tokenizer> tok = mamba::Tokenizer::FromFile(tokenizer_path);
    if (!tok.ok()) {
      std::fprintf(stderr, "%s\n", tok.status().ToString().c_str());
      return 1;
    }
    return EncodeJsonl(*tok, jsonl);
  }
  std::vector<double> load_ms, load_cpu_ms;
  for (int i = 0; i < loads; ++i) {
    const double t0 = NowMs();
    const double c0 = CpuMs();
    mamba::StatusOr<mamba::Tokenizer> tok = mamba::Tokenizer::FromFile(tokenizer_path);
    load_cpu_ms.push_back(CpuMs() - c0);
    load_ms.push_back(NowMs() - t0);
    if (!tok.ok()) {
      std::fprintf(stderr, "%s\n", tok.status().ToString().c_str());
      return 1;
    }
  }
  mamba::Tokenizer tok = std::move(mamba::Tokenizer::FromFile(tokenizer_path)).value();
  std::printf("impl=mamba load_ms_median=%.1f load_ms_min=%.1f load_cpu_ms_median=%.1f\n",
              Median(load_ms), *std::min_element(load_ms.begin(), load_ms.end()),
              Median(load_cpu_ms));

  for (const std::string& file : files) {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "cannot read %s\n", file.c_str());
      return 1;
    }
    std::ostringstream buf;
    buf << in.rdbuf();
    const std::string text = buf.str();
    const std::vector<std::string_view> chunks = Chunks(text, chunk);
    std::vector<double> secs, cpu_secs;
    std::vector<int32_t> ids;
    for (int r = 0; r < repeat; ++r) {
      ids.clear();
      const double t0 = NowMs();
      const double c0 = CpuMs();
      for (const std::string_view c : chunks) {
        const std::vector<int32_t> part = tok.Encode(c);
        ids.insert(ids.end(), part.begin(), part.end());
      }
      cpu_secs.push_back((CpuMs() - c0) / 1000.0);
      secs.push_back((NowMs() - t0) / 1000.0);
    }
    const double mb = static_cast<double>(text.size()) / 1e6;
    std::printf(
        "impl=mamba file=%s chunk=%zu bytes=%zu tokens=%zu ids_hash=%08x mb_s_median=%.2f "
        "mb_s_best=%.2f cpu_mb_s_median=%.2f\n",
        file.c_str(), chunk, text.size(), ids.size(), HashIds(ids), mb / Median(secs),
        mb / *std::min_element(secs.begin(), secs.end()), mb / Median(cpu_secs));
  }
  return 0;
}
