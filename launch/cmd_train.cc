// rnnsearch train: trains a model in a run directory, starting a new run,
// resuming the newest checkpoint, or starting from another run's
// parameters (trainer/run/start.h, trainer/run/trainer.h); --print-config prints
// the effective config and exits; --config-keys-markdown prints
// docs/config.md (common/config_markdown.h) and exits.
#include <filesystem>
#include <memory>

#include "common/config_markdown.h"
#include "common/error.h"
#include "common/log.h"
#include "io/collective.h"
#include "io/run_dir_lock.h"
#include "launch/cli.h"
#include "launch/mpi_session.h"
#include "trainer/dist/grad_sync.h"
#include "trainer/run/start.h"
#include "trainer/run/stop_signal.h"
#include "trainer/run/trainer.h"

namespace rnnsearch {

int RunTrain(const std::vector<std::string>& args, CommandEnv& env) {
  po::options_description options("Options");
  AddConfigOptions(options);
  // clang-format off
  options.add_options()
      ("run-dir", po::value<std::string>()->default_value(""),
       "run directory: checkpoints, metrics.jsonl, valid-hyp.txt (required for training); "
       "if it has checkpoints, training resumes from the newest valid one")
      ("resume", po::value<std::string>()->default_value("", "none"),
       "resume from this checkpoint instead of the run directory's newest")
      ("init-from", po::value<std::string>()->default_value("", "none"),
       "start a new run from this checkpoint's parameters (not its optimizer or data position)")
      ("print-config", po::bool_switch()->default_value(false),
       "print the effective config as YAML (feed it back with --config) and exit")
      ("config-keys-markdown", po::bool_switch()->default_value(false),
       "print the table of config keys as Markdown (docs/config.md) and exit");
  // clang-format on
  po::variables_map vm;
  const std::string synopsis =
      "--run-dir DIR [--config FILE] [--set section.key=value ...] [--resume CKPT | --init-from "
      "CKPT] [--print-config]";
  if (!ParseCommandArgs("train", synopsis, options, args, vm, env, nullptr, ConfigKeysHelp())) {
    return 0;
  }
  if (vm["config-keys-markdown"].as<bool>()) {
    PrintOnRoot(env, ConfigKeysMarkdown());
    return 0;
  }
  const std::string run_dir = vm["run-dir"].as<std::string>();
  const std::string resume = vm["resume"].as<std::string>();
  const std::string init_from = vm["init-from"].as<std::string>();
  if (!resume.empty() && !init_from.empty()) {
    throw UsageError("rnnsearch train: --resume and --init-from exclude each other");
  }
  const bool from_checkpoint = !resume.empty() || !init_from.empty() ||
                               (!run_dir.empty() && std::filesystem::is_directory(run_dir));
  if (vm["print-config"].as<bool>() && !from_checkpoint) {
    PrintOnRoot(env, ConfigToYaml(ConfigFromOptions(vm, env.comm)));
    return 0;
  }
  if (run_dir.empty()) {
    ConfigFromOptions(vm, env.comm);  // a bad config is reported first
    throw UsageError(
        "rnnsearch train: --run-dir DIR is required for training (checkpoints and "
        "metrics go there)\n\nUsage: rnnsearch train " +
        synopsis);
  }
  // One trainer per run directory: rank 0 locks it before anything in it is
  // written (io/run_dir_lock.h), and every rank fails if it cannot. Declared
  // before the trainer, so released after it.
  std::unique_ptr<RunDirLock> lock;
  RunCollectively(env.comm, [&] {
    if (env.comm.rank() == 0) lock = std::make_unique<RunDirLock>(run_dir);
  });
  // Before any thread that computes or reads is started, so that the stop
  // signals reach none of them (trainer/run/stop_signal.h).
  const StopSignalScope stop_signals;
  const StartPlan plan = PlanStart(env.comm, run_dir, resume, init_from);
  const Config config = ResolveRunConfig(env.comm, plan, vm["config"].as<std::string>(),
                                         vm["set"].as<std::vector<std::string>>());
  if (vm["print-config"].as<bool>()) {
    PrintOnRoot(env, ConfigToYaml(config));
    return 0;
  }
  ops::Context ctx(ResolveThreadsPerRank(config.dist.threads_per_rank, env.comm));
  Trainer trainer(config, TrainerOptions{run_dir, plan}, env.comm, ctx,
                  MakeGradSync(env.comm, config.dist));
  trainer.Run();
  return 0;
}

}  // namespace rnnsearch
