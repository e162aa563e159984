#include "trainer/run/start.h"

#include "common/error.h"
#include "common/log.h"
#include "io/checkpoint_dir.h"
#include "io/collective.h"

namespace rnnsearch {

std::string KindName(StartPlan::Kind kind) {
  switch (kind) {
    case StartPlan::Kind::kResume: return "resume";
    case StartPlan::Kind::kInitFrom: return "init-from";
    case StartPlan::Kind::kFresh: break;
  }
  return "new run";
}

StartPlan PlanStart(Comm& comm, const std::string& run_dir, const std::string& resume,
                    const std::string& init_from) {
  StartPlan plan;
  RunCollectively(comm, [&] {
    if (comm.rank() != 0) return;
    if (!resume.empty()) {
      plan.kind = StartPlan::Kind::kResume;
      plan.path = resume;
    } else {
      const CheckpointDir dir(run_dir, 1);  // keep is unused here
      if (auto newest = dir.NewestValid()) {
        plan.kind = StartPlan::Kind::kResume;
        plan.path = *newest;
        if (!init_from.empty()) {
          RNN_LOG(kWarn) << "--init-from " << init_from << " is ignored: the run directory '"
                         << run_dir << "' has checkpoints, and the run continues from '"
                         << plan.path << "'";
        }
      } else if (!dir.List().empty()) {
        throw UserError("the run directory '" + run_dir +
                        "' has checkpoints, but none of them is valid (see the warnings above); "
                        "move them away to start a new run, or give --resume PATH");
      } else if (!init_from.empty()) {
        plan.kind = StartPlan::Kind::kInitFrom;
        plan.path = init_from;
      }
    }
    if (plan.kind != StartPlan::Kind::kFresh) {
      plan.reader = std::make_shared<const CheckpointReader>(plan.path);
      plan.checkpoint_config = plan.reader->info().meta.config_yaml;
    }
  });
  // Every rank learns the decision.
  std::int64_t kind = static_cast<std::int64_t>(plan.kind);
  comm.Broadcast(&kind, sizeof kind, 0);
  plan.kind = static_cast<StartPlan::Kind>(kind);
  comm.BroadcastString(plan.path, 0);
  comm.BroadcastString(plan.checkpoint_config, 0);
  return plan;
}

Config ResolveRunConfig(Comm& comm, const StartPlan& plan, const std::string& file,
                        const std::vector<std::string>& overrides) {
  std::string yaml;
  RunCollectively(comm, [&] {
    if (comm.rank() != 0) return;
    Config config;
    ConfigOrigins origins;
    ModelConfig checkpoint_model;
    if (plan.kind != StartPlan::Kind::kFresh) {
      const Config saved = ConfigFromYamlText(plan.checkpoint_config, plan.path + ":/config");
      checkpoint_model = plan.reader->info().meta.model;
      if (plan.kind == StartPlan::Kind::kResume) {
        config = saved;
      } else {
        config.model = saved.model;
      }
    }
    if (!file.empty()) MergeConfigFile(file, config, origins);
    for (const std::string& o : overrides) ApplyConfigOverride(o, config, origins);
    Validate(config, origins);
    if (plan.kind != StartPlan::Kind::kFresh) {
      CheckSameModel(plan.path, checkpoint_model, config.model);
    }
    yaml = ConfigToYaml(config);
  });
  comm.BroadcastString(yaml, 0);
  return ConfigFromYamlText(yaml, "(the run's config)");
}

}  // namespace rnnsearch
