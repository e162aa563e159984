// Everything a training run changes as it goes, owned in one place: the
// parameters and their gradient buffer, the optimizer, the learning-rate
// schedule, the moving average, the progress window of the next report,
// and the loop's position (io/checkpoint.h's TrainingState). Refs() names
// every piece that a checkpoint must carry so that a resumed run continues
// bit for bit; trainer/run/checkpointing.h saves, loads and broadcasts them.
#pragma once

#include <cstdint>
#include <optional>

#include "common/config.h"
#include "io/checkpoint.h"
#include "trainer/model/params.h"
#include "trainer/optim/ema.h"
#include "trainer/optim/optimizer.h"
#include "trainer/optim/schedule.h"
#include "trainer/optim/state_refs.h"

namespace rnnsearch {

// Sums over the steps since the last progress report. Checkpointed
// ("progress.*"), so that a run resumed between two reports prints the
// same next report as the run that never stopped. A skipped step
// (trainer/run/train_step.h) adds its time only.
struct ProgressWindow {
  double loss_sum = 0;          // summed per-token losses of the steps
  double grad_norm_sum = 0;     // summed gradient norms (before clipping)
  std::int64_t tgt_tokens = 0;  // real target tokens
  std::int64_t src_tokens = 0;
  std::int64_t steps = 0;
  double seconds = 0;  // wall time of the steps (for the token rates)
  // Not checkpointed: this process's steps since the report (or its
  // start) and the time they spent waiting for the batch reader and in
  // the gradient sync (GradSync::Finish), for the progress's shares.
  double timed_seconds = 0;
  double read_seconds = 0;
  double sync_seconds = 0;

  void Reset() { *this = ProgressWindow{}; }
  StateRefs State();
};

class RunState {
 public:
  RunState(const ModelDims& dims, const TrainConfig& train);

  ParamSet params;
  ParamSet grads;
  Optimizer optimizer;
  LrSchedule schedule;
  std::optional<Ema> ema;  // train.ema_decay > 0
  ProgressWindow window;
  TrainingState training;          // step, epoch, data position, best metric, patience, elapsed
  std::uint64_t batches_done = 0;  // forward-backward calls so far: the dropout counter
  std::uint64_t seed = 0;          // train.seed (the dropout masks' seed)

  // The parameters validation and translation use: the average if kept.
  const ParamSet& EvalParams() const { return ema ? ema->params() : params; }

  // The optimizer's, the schedule's, the average's and the window's state.
  StateRefs Refs();

  // training.rng["dropout"] = {seed, batches_done} and back.
  void StoreRng();
  // Throws UserError naming `origin` when the dropout state is missing or
  // its seed is not train.seed.
  void LoadRng(const std::string& origin);
};

}  // namespace rnnsearch
