// One optimizer step of data-parallel training, MODEL.md's semantics:
//
//   1. read the next train.accumulate global batches (fewer at the end of
//      the data; none: the data is over and nothing is done);
//   2. grads = 0; for each batch, this rank's part forward and backward
//      with grad_scale = 1 / T, T = the real target tokens of all of them
//      over all ranks (Batch::global_tgt_tokens), and dropout counter =
//      the batches done before it;
//   3. GradSync::Finish: grads = the sum over ranks (the step's gradient),
//      loss and token totals, stop requests;
//   4. ApplyUpdate: clip to train.clip_norm, optimizer step at the
//      schedule's rate for step t = step + 1; update the moving average;
//   5. advance the run's step, data position, epoch and dropout counter.
#pragma once

#include <functional>
#include <optional>

#include "common/config.h"
#include "io/batch_reader.h"
#include "trainer/grad_sync.h"
#include "trainer/model.h"
#include "trainer/optimizer.h"
#include "trainer/run_state.h"

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
// sync, to set totals.stop_signal / stop_time for this rank.
std::optional<StepOutcome> TrainStep(Model& model, GradSync& sync, BatchReader& reader,
                                     RunState& state, const TrainConfig& train,
                                     const std::function<void(StepTotals&)>& stop_flags = {});

}  // namespace rnnsearch
