#include "trainer/optim/schedule.h"

#include <algorithm>
#include <cassert>
#include <cmath>

namespace rnnsearch {

ScheduleOptions ScheduleOptions::FromConfig(const TrainConfig& train) {
  ScheduleOptions o;
  o.kind = ChoiceValue<ScheduleKind>(train.lr_schedule);
  o.lr = train.lr;
  o.warmup_steps = train.warmup_steps;
  o.decay = train.lr_decay;
  o.patience = train.lr_patience;
  o.min_lr = train.min_lr;
  return o;
}

LrSchedule::LrSchedule(const ScheduleOptions& options) : options_(options) {
  assert(options.kind != ScheduleKind::kInverseSqrt || options.warmup_steps >= 1);
  assert(options.decay > 0.0 && options.decay <= 1.0 && options.patience >= 1);
}

double LrSchedule::LearningRate(std::int64_t t) const {
  assert(t >= 1);
  const double lr = options_.lr;
  const std::int64_t w = options_.warmup_steps;
  double rate = lr;
  if (options_.kind == ScheduleKind::kPlateau) {
    rate = std::max(lr * factor_, std::min(options_.min_lr, lr));
  }
  if (t <= w) return rate * static_cast<double>(t) / static_cast<double>(w);
  if (options_.kind == ScheduleKind::kInverseSqrt) {
    return lr * std::sqrt(static_cast<double>(w) / static_cast<double>(t));
  }
  return rate;
}

bool LrSchedule::OnValidation(double value, bool higher_is_better) {
  const bool improved =
      !std::isnan(value) && (!has_best_ || (higher_is_better ? value > best_ : value < best_));
  if (improved) {
    best_ = value;
    has_best_ = 1;
    bad_validations_ = 0;
    return false;
  }
  ++bad_validations_;
  if (options_.kind != ScheduleKind::kPlateau || bad_validations_ < options_.patience) return false;
  bad_validations_ = 0;
  const double floor = std::min(options_.min_lr, options_.lr);
  if (options_.lr * factor_ <= floor || options_.decay == 1.0) return false;
  factor_ *= options_.decay;
  ++decays_;
  return true;
}

StateRefs LrSchedule::State() {
  StateRefs s;
  s.reals.push_back({"schedule.factor", &factor_});
  s.reals.push_back({"schedule.best", &best_});
  s.ints.push_back({"schedule.has_best", &has_best_});
  s.ints.push_back({"schedule.bad_validations", &bad_validations_});
  s.ints.push_back({"schedule.decays", &decays_});
  return s;
}

}  // namespace rnnsearch
