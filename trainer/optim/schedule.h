// The learning rate of each optimizer step (train.lr_schedule):
//
//   constant      lr
//   inverse_sqrt  lr * sqrt(W / t) once t > W
//   plateau       lr * decay^k, never below min(min_lr, lr), where k grows
//                 by one each time `patience` validations in a row brought
//                 no improvement of the watched metric
//
// where t is the 1-based number of the step about to be taken and W is
// train.warmup_steps. Every schedule first warms up linearly: for t <= W
// the rate is lr * t / W (so the first step uses lr / W).
//
// The schedule's state (the decay factor, the best value seen, the count
// of validations without improvement, the number of decays) is a few
// scalars exposed through State() for checkpoints; restoring them
// continues a run identically.
#pragma once

#include <cstdint>

#include "common/config.h"
#include "trainer/optim/state_refs.h"

namespace rnnsearch {

struct ScheduleOptions {
  ScheduleKind kind = ScheduleKind::kConstant;
  double lr = 5e-4;
  std::int64_t warmup_steps = 0;  // inverse_sqrt needs >= 1
  double decay = 0.5;             // plateau: factor per decay, in (0, 1]
  std::int64_t patience = 3;      // plateau: validations without improvement
  double min_lr = 1e-6;           // plateau: floor of the decayed rate

  // train.lr_schedule, lr, warmup_steps, lr_decay, lr_patience, min_lr.
  static ScheduleOptions FromConfig(const TrainConfig& train);
};

class LrSchedule {
 public:
  explicit LrSchedule(const ScheduleOptions& options);

  // The rate of optimizer step t (t >= 1: the step about to be taken).
  double LearningRate(std::int64_t t) const;

  // Reports the watched validation metric (higher_is_better: BLEU; else
  // perplexity or loss). An improvement is a value strictly better than
  // the best so far (a NaN never is). Returns true when this call decayed
  // the rate (plateau only; the other schedules only track the best).
  bool OnValidation(double value, bool higher_is_better);

  // The product of the decays so far (1 until the first).
  double factor() const { return factor_; }
  std::int64_t decays() const { return decays_; }
  std::int64_t bad_validations() const { return bad_validations_; }
  const ScheduleOptions& options() const { return options_; }

  // "schedule.factor", "schedule.best", "schedule.has_best",
  // "schedule.bad_validations", "schedule.decays".
  StateRefs State();

 private:
  ScheduleOptions options_;
  double factor_ = 1.0;
  double best_ = 0.0;
  std::int64_t has_best_ = 0;
  std::int64_t bad_validations_ = 0;
  std::int64_t decays_ = 0;
};

}  // namespace rnnsearch
