// SPDX-License-Identifier: MIT
// mamba-quantize: converts a Mamba checkpoint (safetensors, .bin or GGUF) into a GGUF of the
// requested type, choosing per-tensor types as llama-quantize does (see docs/quantize.md).
#include <CLI/CLI.hpp>

#include <cstdio>
#include <string>

#include "io/mapped_file.h"
#include "quantize_plan.h"

int main(int argc, char** argv) {
  std::string types;
  for (const mamba::QuantTarget& t : mamba::QuantTargets()) types += " " + t.name;
  CLI::App app{"Quantize a Mamba model into a llama.cpp-layout GGUF.\nTYPE:" + types};
  std::string in, out, type;
  bool quiet = false;
  app.add_option("IN", in, "model directory or weights file (safetensors, .bin, .gguf)")
      ->required();
  app.add_option("OUT", out, "output .gguf file")->required();
  app.add_option("TYPE", type, "output type:" + types)->required();
  app.add_flag("-q,--quiet", quiet, "no progress output");
  bool keep_cached = false;
  app.add_flag("--keep-cached", keep_cached,
               "leave OUT in the page cache as written (by default it is written back and dropped, "
               "so the next run maps it in 2 MiB pages)");
  CLI11_PARSE(app, argc, argv);

  const auto target = mamba::FindQuantTarget(type);
  if (!target) {
    std::fprintf(stderr, "mamba-quantize: unknown type '%s' (one of:%s)\n", type.c_str(),
                 types.c_str());
    return 2;
  }
  bool line_open = false;
  auto progress = [quiet, &line_open](const std::string& name, int done, int total) {
    if (quiet) return;
    line_open = done < total;
    std::fprintf(stderr, "\r[%3d/%3d] %-48s", done, total, name.c_str());
    if (done >= total) std::fputc('\n', stderr);
    std::fflush(stderr);
  };
  auto result = mamba::QuantizeModelFile(in, out, *target, progress);
  if (line_open) std::fputc('\n', stderr);
  if (!result.ok()) {
    std::fprintf(stderr, "mamba-quantize: %s\n", result.status().ToString().c_str());
    return 1;
  }
  // Dropped from the page cache, the new file is faulted back in 2 MiB folios by the first run
  // that maps it, instead of staying in the page sizes the writes left (docs/PERFORMANCE.md).
  if (!keep_cached) {
    if (const mamba::Status st = mamba::DropFromPageCache(out); !st.ok()) {
      std::fprintf(stderr, "mamba-quantize: warning: %s\n", st.ToString().c_str());
    }
  }
  std::printf("%s: %.2f MB -> %s (%s): %.2f MB\n", in.c_str(), result->in_bytes / 1e6, out.c_str(),
              target->name.c_str(), result->out_bytes / 1e6);
  if (!result->has_vocab) {
    std::fprintf(stderr,
                 "mamba-quantize: warning: no tokenizer.json next to '%s': '%s' has no vocabulary "
                 "(mamba-ssm runs it on token ids; llama.cpp refuses to load it)\n",
                 in.c_str(), out.c_str());
  }
  return 0;
}
