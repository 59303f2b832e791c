// SPDX-License-Identifier: MIT
// mamba-cli -i: a read-generate loop that keeps the model's recurrent state between turns.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "args.h"
#include "cli_common.h"
#include "engine/generate.h"
#include "engine/session.h"
#include "sampling/sampler.h"

namespace mamba::cli {

// Runs the REPL on stdin/stdout until EOF (Ctrl-D), /exit, or Ctrl-C at the prompt; Ctrl-C during
// a generation stops it and returns to the prompt. Each input line (plus "\n") is prefilled on top
// of the current state; /reset clears it. `first_prompt` (may be empty) is run as the first turn,
// echoed as `first_text`. Needs rt.tokenizer. Returns the exit code.
int RunInteractive(const CliOptions& options, Runtime& rt, Session& session, Sampler& sampler,
                   const GenerateOptions& gen, const std::vector<int32_t>& first_prompt,
                   const std::string& first_text);

}  // namespace mamba::cli
