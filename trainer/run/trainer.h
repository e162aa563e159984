// The training loop of `rnnsearch train` (README, "Training and resuming").
//
//   Trainer trainer(config, {run_dir, PlanStart(...)}, comm, ctx,
//                   MakeGradSync(comm, config.dist));
//   TrainOutcome outcome = trainer.Run();
//
// Setup (constructor): opens the training corpus (its manifest gives the
// vocabularies), builds the model of config.model, and starts the run as
// the StartPlan says (trainer/run/start.h): a new run (trainer/model/init.h), a
// resume (the whole state from the checkpoint, read by rank 0 and
// broadcast; the checkpoint's vocabularies must be the corpus's), or
// --init-from (parameters only). The data position is restored in O(1).
//
// Each step is TrainStep (trainer/run/train_step.h). After it, in this order:
//   - every train.log_every steps: the progress line (rank 0) and a
//     "train" line in RUN/metrics.jsonl;
//   - every train.valid_every steps (with data.valid): validation
//     (trainer/run/validate.h) on the moving average if kept, else on the
//     parameters; a "valid" metrics line; early stopping and the plateau
//     schedule are fed train.early_stop_metric;
//   - a checkpoint (rank 0, RUN/ckpt-<step>.h5) every checkpoint.every
//     steps, when validation reached a new best (also RUN/best.h5), and
//     when the run stops.
// A step whose gradient norm is NaN or infinite is skipped (nothing is
// updated, trainer/run/train_step.h) but otherwise a step like any other: rank
// 0 logs "step N: gradient norm is nan, step skipped (K in a row)", "train"
// metrics lines count such steps (skipped_steps, in all) and leave them out
// of their loss, gradient norm and token rates. The train.max_bad_steps-th
// in a row ends the run on every rank with a CollectiveError (exit status
// 1) before anything is reported, validated or saved: no checkpoint of it
// is written and the run directory keeps the ones it has. The counters are
// in TrainingState, so a resumed run skips and stops as the one that
// never stopped.
// Stops, agreed by all ranks at a step boundary: train.max_steps, the end
// of train.max_epochs (the reader has no batch left), train.max_time,
// early stopping (train.patience validations without a new best), and
// SIGTERM / SIGINT received by any rank (trainer/run/stop_signal.h). A run
// that ends by a limit (steps, epochs, time) and was not just validated
// validates its final parameters once more, for the report only (this
// validation does not change the early-stopping state or best.h5).
//
// Determinism: the same config, world size and threads give the same
// bits, and a run resumed from any of its checkpoints continues exactly as
// the run that never stopped (every RNG is counter-based or saved, the
// progress window is saved, metrics.jsonl is cut back to the checkpoint's
// step).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "common/comm.h"
#include "common/config.h"
#include "io/batch_reader.h"
#include "io/checkpoint_dir.h"
#include "io/corpus.h"
#include "ops/context.h"
#include "trainer/dist/grad_sync.h"
#include "trainer/dist/watchdog.h"
#include "trainer/model/model.h"
#include "trainer/run/gradient_poison.h"
#include "trainer/run/metrics.h"
#include "trainer/run/run_state.h"
#include "trainer/run/start.h"
#include "trainer/run/train_step.h"
#include "trainer/run/validate.h"

namespace rnnsearch {

enum class StopReason { kEpochs, kMaxSteps, kMaxTime, kEarlyStop, kSignal };
// kSignal: "stopped by a signal: SIGTERM" with `signal` (its number).
std::string StopReasonText(StopReason reason, int signal = 0);

struct TrainerOptions {
  std::string run_dir;  // checkpoints, metrics.jsonl, valid-hyp.txt (rank 0 writes)
  StartPlan start;
};

struct TrainOutcome {
  StopReason reason = StopReason::kEpochs;
  int signal = 0;          // kSignal: the signal (the highest number if ranks got several)
  std::int64_t step = 0;   // steps done (skipped ones too)
  std::string checkpoint;  // rank 0: the last checkpoint written ("" if none)
};

class Trainer {
 public:
  Trainer(const Config& config, const TrainerOptions& options, Comm& comm, ops::Context& ctx,
          std::unique_ptr<GradSync> sync);
  ~Trainer();
  Trainer(const Trainer&) = delete;
  Trainer& operator=(const Trainer&) = delete;

  // The loop above, until a stop; rank 0 has written the final checkpoint.
  TrainOutcome Run();

  // One optimizer step (TrainStep with this run's pieces); nullopt at the
  // end of the data. For benchmarks and tests: no report, validation or
  // checkpoint.
  std::optional<StepOutcome> Step();

  RunState& state() { return *state_; }
  Model& model() { return *model_; }
  const Corpus& corpus() const { return *corpus_; }

 private:
  void Report();
  // After a skipped step: the log line, and the error after
  // train.max_bad_steps in a row.
  void OnSkippedStep(const StepOutcome& step);
  // Validates; returns true on a new best (never when report_only).
  bool Validate(bool report_only);
  // Rank 0 writes the checkpoint of the current step (a collective call).
  void Save(bool best);
  double EpochProgress();
  double Elapsed() const;

  Config config_;
  TrainerOptions options_;
  Comm& comm_;
  ops::Context& ctx_;
  std::unique_ptr<GradSync> sync_;
  std::unique_ptr<Watchdog> watchdog_;  // ends the process when a rank goes silent
  GradientPoison poison_;               // tests only (trainer/run/gradient_poison.h)
  std::shared_ptr<const Corpus> corpus_;
  std::unique_ptr<Model> model_;
  std::unique_ptr<RunState> state_;
  std::unique_ptr<BatchReader> reader_;
  std::unique_ptr<Validator> validator_;
  std::unique_ptr<CheckpointDir> checkpoints_;  // rank 0
  std::unique_ptr<MetricsWriter> metrics_;      // rank 0
  double start_elapsed_ = 0;                    // elapsed_seconds when this process started
  std::int64_t start_step_ = 0;
  double start_epoch_ = 0;
  double clock_start_ = 0;  // steady clock, seconds
  std::int64_t last_saved_step_ = -1;
  std::string last_checkpoint_;
  double last_lr_ = 0;
  std::int64_t plan_epoch_ = -1, plan_batches_ = 0;  // BatchesInEpoch cache
};

}  // namespace rnnsearch
