// The training loop: steps, progress reports, validation, early stopping,
// checkpoints and the agreed stops (trainer/trainer.h).
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/error.h"
#include "common/log.h"
#include "trainer/stop_signal.h"
#include "trainer/trainer.h"

namespace rnnsearch {
namespace {

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// This process's peak resident memory in MB (VmHWM), -1 where unknown.
double PeakRssMb() {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  }
  return -1;
}

}  // namespace

TrainOutcome Trainer::Run() {
  InstallStopSignals();
  const TrainConfig& tc = config_.train;
  TrainingState& t = state_->training;
  ProgressWindow& w = state_->window;
  clock_start_ = Now();
  start_elapsed_ = t.elapsed_seconds;
  TrainOutcome outcome;
  bool validated_now = false;
  bool stopped = false;
  if (tc.max_steps > 0 && t.step >= tc.max_steps) {
    outcome.reason = StopReason::kMaxSteps;
    stopped = true;
  } else if (tc.max_time > 0 && t.elapsed_seconds >= tc.max_time) {
    outcome.reason = StopReason::kMaxTime;
    stopped = true;
  }
  while (!stopped) {
    const double t0 = Now();
    const std::optional<StepOutcome> step = Step();
    if (!step) {
      outcome.reason = StopReason::kEpochs;
      break;
    }
    if (!step->update.skipped) {
      w.loss_sum += step->totals.loss;
      w.grad_norm_sum += step->update.grad_norm;
      w.tgt_tokens += step->totals.tgt_tokens;
      w.src_tokens += step->totals.src_tokens;
      w.steps += 1;
    }
    const double seconds = Now() - t0;
    w.seconds += seconds;
    w.timed_seconds += seconds;
    w.read_seconds += step->read_seconds;
    w.sync_seconds += step->sync_seconds;
    last_lr_ = step->lr;
    if (step->update.skipped) OnSkippedStep(*step);
    if (t.step % tc.log_every == 0) Report();
    validated_now = false;
    bool best = false;
    if (validator_ != nullptr && tc.valid_every > 0 && t.step % tc.valid_every == 0) {
      best = Validate(false);
      validated_now = true;
    }
    if (step->totals.stop_signal > 0) {
      outcome.reason = StopReason::kSignal;
      stopped = true;
      // Every rank is here (the stop flag came with the step's allreduce):
      // rank 0 learns which signal a rank got.
      std::int64_t signal = StopSignal();
      comm_.Allreduce(&signal, 1, ReduceOp::kMax);
      outcome.signal = static_cast<int>(signal);
      RNN_LOG(kInfo) << "stopping on " << StopSignalName(outcome.signal) << " after step "
                     << t.step;
    } else if (step->totals.stop_time > 0) {
      outcome.reason = StopReason::kMaxTime;
      stopped = true;
    } else if (tc.max_steps > 0 && t.step >= tc.max_steps) {
      outcome.reason = StopReason::kMaxSteps;
      stopped = true;
    } else if (tc.patience > 0 && t.bad_validations >= tc.patience) {
      outcome.reason = StopReason::kEarlyStop;
      stopped = true;
    }
    const std::int64_t every = config_.checkpoint.every;
    if (best || (every > 0 && t.step % every == 0)) Save(best);
  }
  const bool by_limit = outcome.reason == StopReason::kEpochs ||
                        outcome.reason == StopReason::kMaxSteps ||
                        outcome.reason == StopReason::kMaxTime;
  if (by_limit && validator_ != nullptr && !validated_now && t.step > start_step_) {
    Validate(true);
  }
  if (last_saved_step_ != t.step) Save(false);
  RemoveStopSignals();
  outcome.step = t.step;
  outcome.checkpoint = last_checkpoint_;
  RNN_LOG(kInfo) << "training ends at step " << t.step << ": "
                 << StopReasonText(outcome.reason, outcome.signal)
                 << (last_checkpoint_.empty() ? "" : "; checkpoint '" + last_checkpoint_ + "'")
                 << "; peak memory of rank 0: " << static_cast<int>(PeakRssMb()) << " MB";
  return outcome;
}

void Trainer::OnSkippedStep(const StepOutcome& step) {
  const TrainingState& t = state_->training;
  if (comm_.rank() == 0) {
    RNN_LOG(kWarn) << "step " << t.step << ": gradient norm is "
                   << (std::isnan(step.update.grad_norm) ? "nan" : "inf") << ", step skipped ("
                   << t.bad_steps << " in a row)";
  }
  const std::int64_t max_bad = config_.train.max_bad_steps;
  if (t.bad_steps < max_bad) return;
  const std::int64_t last = t.step - t.bad_steps;  // the last step applied (0: none)
  std::string newest = "none was written";
  if (comm_.rank() == 0 && !checkpoints_->List().empty()) {
    newest = "the newest is '" + checkpoints_->List().front().path + "'";
  }
  throw CollectiveError("step " + std::to_string(t.step) + ": the gradient norm was NaN or " +
                            "infinite in " + std::to_string(max_bad) + " steps in a row " +
                            "(train.max_bad_steps); training stops without a checkpoint of " +
                            "this state; " +
                            (last > 0 ? "the last update was step " + std::to_string(last)
                                      : std::string("no step was applied")) +
                            " (checkpoints: " + newest + ")",
                        1);
}

void Trainer::Report() {
  ProgressWindow& w = state_->window;
  const TrainingState& t = state_->training;
  const TrainConfig& tc = config_.train;
  ProgressFigures f;
  f.step = t.step;
  f.max_steps = tc.max_steps;
  f.epoch = EpochProgress();
  // NaN (null) when every step since the last report was skipped.
  f.loss = w.tgt_tokens > 0 ? w.loss_sum / static_cast<double>(w.tgt_tokens) : NAN;
  f.lr = last_lr_;
  f.grad_norm = w.steps > 0 ? w.grad_norm_sum / static_cast<double>(w.steps) : NAN;
  f.skipped_steps = t.skipped_steps;
  f.src_tokens_per_s = w.seconds > 0 ? static_cast<double>(w.src_tokens) / w.seconds : 0.0;
  f.tgt_tokens_per_s = w.seconds > 0 ? static_cast<double>(w.tgt_tokens) / w.seconds : 0.0;
  if (w.timed_seconds > 0) {
    f.data_share = w.read_seconds / w.timed_seconds;
    if (comm_.size() > 1) f.sync_share = w.sync_seconds / w.timed_seconds;
  }
  f.elapsed_s = Elapsed();
  const TrainLimits limits{tc.max_steps, static_cast<double>(tc.max_epochs), tc.max_time};
  f.time_left_s = EstimateTimeLeft(limits, f.step, f.epoch, f.elapsed_s, start_step_, start_epoch_,
                                   start_elapsed_);
  if (comm_.rank() == 0) {
    RNN_LOG(kInfo) << FormatProgress(f);
    metrics_->Write(ProgressJson(f));
  }
  w.Reset();
}

bool Trainer::Validate(bool report_only) {
  const std::string hyp_path =
      comm_.rank() == 0 ? (std::filesystem::path(options_.run_dir) / "valid-hyp.txt").string()
                        : std::string();
  const ValidationResult r = validator_->Run(state_->EvalParams(), hyp_path);
  const std::string& metric = config_.train.early_stop_metric;
  const double value = MetricOf(r, metric);
  TrainingState& t = state_->training;
  bool best = false, decayed = false;
  if (!report_only) {
    const bool higher = HigherIsBetter(metric);
    if (t.best_step < 0) {
      best = !std::isnan(value);
    } else {
      best = higher ? value > t.best_value : value < t.best_value;
    }
    if (best) {
      t.best_metric = metric;
      t.best_value = value;
      t.best_step = t.step;
      t.bad_validations = 0;
    } else {
      ++t.bad_validations;
    }
    decayed = state_->schedule.OnValidation(value, higher);
  }
  if (comm_.rank() == 0) {
    std::ostringstream line;
    line << (report_only ? "final validation" : "validation") << " at step " << t.step
         << " | loss " << r.loss << " | ppl " << r.perplexity << " | BLEU " << r.bleu.score
         << " (greedy, " << r.sentences << " sentences)";
    if (t.best_step >= 0) {
      line << " | best " << metric << " " << t.best_value << " at step " << t.best_step;
    }
    if (!report_only && !best) line << " | " << t.bad_validations << " without improvement";
    if (decayed) line << " | lr decayed";
    line << " | " << r.seconds << "s";
    RNN_LOG(kInfo) << line.str();
    JsonLine j;
    j.AddString("kind", "valid")
        .AddInt("step", t.step)
        .AddReal("epoch", EpochProgress())
        .AddReal("loss", r.loss)
        .AddReal("ppl", r.perplexity)
        .AddReal("bleu", r.bleu.score)
        .AddInt("sentences", r.sentences)
        .AddInt("tgt_tokens", r.tgt_tokens)
        .AddString("metric", metric)
        .AddBool("best", best)
        .AddReal("best_value", t.best_step >= 0 ? t.best_value : NAN)
        .AddInt("best_step", t.best_step)
        .AddInt("bad_validations", t.bad_validations)
        .AddBool("lr_decayed", decayed)
        .AddBool("final", report_only)
        .AddReal("valid_s", r.seconds)
        .AddReal("elapsed_s", Elapsed());
    metrics_->Write(j);
  }
  return best;
}

}  // namespace rnnsearch
