#include "launch/checkpoint_options.h"

#include "common/error.h"

namespace rnnsearch {

void AddCheckpointOptions(po::options_description& options, const std::string& ensemble_help) {
  options.add_options()("model", po::value<std::string>()->default_value(""), "checkpoint file")(
      "run-dir", po::value<std::string>()->default_value(""),
      "or a run directory: its best.h5, else its newest valid ckpt-<step>.h5")(
      "ensemble", po::value<std::vector<std::string>>()->default_value({}, ""),
      ensemble_help.c_str())(
      "weights", po::value<std::string>()->default_value("auto"),
      "auto (the moving average when the checkpoint has one), params or ema")(
      "threads", po::value<int>()->default_value(0),
      "compute threads per rank (0: the cores of the node divided by its ranks)");
}

CheckpointChoice CheckpointChoiceFrom(const po::variables_map& vm, const std::string& command) {
  const std::string who = "rnnsearch " + command;
  CheckpointChoice c;
  c.model_path = vm["model"].as<std::string>();
  c.run_dir = vm["run-dir"].as<std::string>();
  if (c.model_path.empty() == c.run_dir.empty()) {
    throw UsageError(who + ": give exactly one of --model CKPT and --run-dir DIR");
  }
  c.ensemble = vm["ensemble"].as<std::vector<std::string>>();
  c.weights = vm["weights"].as<std::string>();
  if (c.weights != "auto" && c.weights != "params" && c.weights != "ema") {
    throw UsageError(who + ": --weights: expected auto, params or ema, found '" + c.weights + "'");
  }
  c.threads = vm["threads"].as<int>();
  if (c.threads < 0) {
    throw UsageError(who + ": --threads: expected 0 or more, found " + std::to_string(c.threads));
  }
  return c;
}

}  // namespace rnnsearch
