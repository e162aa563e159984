// One optimizer step of data-parallel training, docs/model.md, data-parallel semantics:
//
//   1. read the next train.accumulate global batches (fewer at the end of
//      the data; none: the data is over and nothing is done);
//   2. the embedding rows the batches touch to the GradSync
//      (GradSync::SetTouchedRows); grads = 0; for each batch, this rank's
//      part forward and backward with grad_scale = 1 / T, T = the real
//      target tokens of all of them
//      over all ranks (Batch::global_tgt_tokens), and dropout counter =
//      the batches done before it;
//   3. GradSync::Finish: grads = the sum over ranks (the step's gradient),
//      loss and token totals, stop requests;
//   4. ApplyUpdate: clip to train.clip_norm, optimizer step at the
//      schedule's rate for step t = step + 1; update the moving average;
//   5. advance the run's step, data position, epoch and dropout counter.
//
// A step whose summed gradient has a NaN or infinite norm is skipped: in
// 4 nothing changes (parameters, the optimizer's moments and step count,
// the moving average), on every rank alike, as they all see the same sum
// (GradSync); 5 happens as for any step, so the step keeps its number and
// its batches are consumed. TrainingState counts it: bad_steps (in a row;
// 0 after a step that is applied) and skipped_steps (in all). Stopping
// after train.max_bad_steps in a row is the caller's (trainer/run/trainer.h).
#pragma once

#include <functional>
#include <optional>

#include "common/config.h"
#include "io/batch_reader.h"
#include "trainer/dist/grad_sync.h"
#include "trainer/model/model.h"
#include "trainer/optim/optimizer.h"
#include "trainer/run/gradient_poison.h"
#include "trainer/run/run_state.h"

namespace rnnsearch {

struct StepOutcome {
  StepTotals totals;        // summed over the ranks
  UpdateStats update;       // gradient norm before clipping, clip factor
  double lr = 0;            // the rate of this step
  int batches = 0;          // global batches consumed
  double read_seconds = 0;  // this rank waiting for BatchReader::Next
  double sync_seconds = 0;  // this rank in GradSync::Finish
};

// `stop_flags` is called after this rank's backward passes, before the
// sync, to set totals.stop_signal / stop_time for this rank. `poison`
// (tests only, trainer/run/gradient_poison.h) spoils the gradient of its steps.
std::optional<StepOutcome> TrainStep(Model& model, GradSync& sync, BatchReader& reader,
                                     RunState& state, const TrainConfig& train,
                                     const std::function<void(StepTotals&)>& stop_flags = {},
                                     const GradientPoison* poison = nullptr);

}  // namespace rnnsearch
