// The options of `rnnsearch translate` and `rnnsearch rescore` that choose
// the checkpoint(s) to load (trainer/decode/translation_model.h loads them).
#pragma once

#include <string>
#include <vector>

#include "launch/cli.h"

namespace rnnsearch {

// The options that choose the checkpoint(s) of translate and rescore:
// --model, --run-dir, --ensemble (help: ensemble_help), --weights,
// --threads.
void AddCheckpointOptions(po::options_description& options, const std::string& ensemble_help);

struct CheckpointChoice {
  std::string model_path, run_dir;    // exactly one is non-empty
  std::vector<std::string> ensemble;  // --ensemble, in order
  std::string weights;                // auto, params or ema
  int threads = 0;                    // --threads (0: ResolveThreadsPerRank's default)
};

// The values of AddCheckpointOptions' options; a UsageError naming
// `rnnsearch COMMAND` and the option for a bad one.
CheckpointChoice CheckpointChoiceFrom(const po::variables_map& vm, const std::string& command);

}  // namespace rnnsearch
