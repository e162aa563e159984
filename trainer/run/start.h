// How `rnnsearch train` starts: from scratch, by resuming a checkpoint, or
// from another run's parameters (--init-from), and with which config.
//
// Rank 0 decides and every rank learns the decision; a failure (a
// checkpoint that cannot be read, a config that does not fit it) is the
// same CollectiveError on every rank. The rules (README, "Training and
// resuming"):
//   --resume PATH      resume from PATH;
//   else               resume from the newest valid checkpoint of the run
//                      directory (damaged newer ones are skipped with a
//                      warning naming them; io/checkpoint_dir.h);
//   else --init-from P a new run from P's parameters only;
//   else               a new run, parameters from trainer/model/init.h.
// With checkpoints in the run directory, --init-from is ignored with a
// warning: the run it started continues (so the same command line can be
// relaunched after a failure).
//
// Config precedence: defaults < the checkpoint's config (resume: every
// section; --init-from: the model section) < --config FILE < --set. When
// resuming or initialising, the model section must then equal the
// checkpoint's (a ConfigError names every model.* key that differs).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/comm.h"
#include "common/config.h"
#include "io/checkpoint.h"

namespace rnnsearch {

struct StartPlan {
  enum class Kind { kFresh, kResume, kInitFrom };
  Kind kind = Kind::kFresh;
  std::string path;                                // the checkpoint (resume, init-from)
  std::shared_ptr<const CheckpointReader> reader;  // rank 0: that checkpoint, opened
  std::string checkpoint_config;                   // its config (YAML), on every rank
};

std::string KindName(StartPlan::Kind kind);  // "new run", "resume", "init-from"

// See above; `run_dir` must not be empty. Rank 0 creates it if needed.
StartPlan PlanStart(Comm& comm, const std::string& run_dir, const std::string& resume,
                    const std::string& init_from);

// The run's config by the precedence above; rank 0 reads `file` and
// validates, every rank gets the result.
Config ResolveRunConfig(Comm& comm, const StartPlan& plan, const std::string& file,
                        const std::vector<std::string>& overrides);

}  // namespace rnnsearch
