// The trainer: its setup, the loop (steps, progress reports, validation,
// early stopping, checkpoints and the agreed stops), one step, and
// checkpoint writing.
#include "trainer/run/trainer.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <sstream>

#include "common/clock.h"
#include "common/error.h"
#include "common/log.h"
#include "common/peak_rss.h"
#include "io/collective.h"
#include "trainer/model/init.h"
#include "trainer/model/memory.h"
#include "trainer/run/checkpointing.h"
#include "trainer/run/stop_signal.h"

namespace rnnsearch {

std::string StopReasonText(StopReason reason, int signal) {
  switch (reason) {
    case StopReason::kEpochs: return "train.max_epochs reached (the data is used up)";
    case StopReason::kMaxSteps: return "train.max_steps reached";
    case StopReason::kMaxTime: return "train.max_time reached";
    case StopReason::kEarlyStop:
      return "early stopping (train.patience validations without a new best)";
    case StopReason::kSignal: return "stopped by a signal: " + StopSignalName(signal);
  }
  return "?";
}

Trainer::Trainer(const Config& config, const TrainerOptions& options, Comm& comm, ops::Context& ctx,
                 std::unique_ptr<GradSync> sync)
    : config_(config),
      options_(options),
      comm_(comm),
      ctx_(ctx),
      sync_(std::move(sync)),
      poison_(GradientPoison::FromEnvironment(comm.rank(), comm.size())) {
  if (poison_.active() && comm.rank() == 0) {
    RNN_LOG(kWarn) << "TEST ONLY: " << GradientPoison::kVariable << "=" << poison_.spec()
                   << " spoils the gradient of these steps";
  }
  watchdog_ = std::make_unique<Watchdog>(comm, static_cast<double>(config.dist.timeout));
  if (config.data.train.empty()) {
    throw CollectiveError(
        "data.train: expected the directory of the training shards "
        "(rnnsearch preprocess --out), found an empty string",
        1);
  }
  RunCollectively(comm, [&] { corpus_ = Corpus::OpenNamed("data.train", config.data.train); });
  const Vocab& src_vocab = corpus_->src_vocab();
  const Vocab& tgt_vocab = corpus_->tgt_vocab();
  const ModelDims dims = ModelDims::From(config.model, src_vocab.size(), tgt_vocab.size());
  // Refuse a run that cannot fit before allocating it (trainer/model/memory.h).
  RunCollectively(comm, [&] {
    const Manifest& m = corpus_->manifest();  // histograms: [length] = sentences
    const auto longest =
        static_cast<std::int64_t>(std::max(m.src_length_hist.size(), m.tgt_length_hist.size()) - 1);
    CheckMemoryFits(EstimateTrainingMemory(config, dims.Vs, dims.Vt, comm.size(), longest),
                    comm.local_size(), MachineAvailableMemory());
  });
  RunCollectively(comm, [&] {
    Allocating(
        "the model and its parameters, gradients and optimizer state (model.*, "
        "train.optimizer, train.ema_decay)",
        [&] {
          const ModelOptions model_options = ModelOptions::FromConfig(config.train);
          model_ = std::make_unique<Model>(ctx, dims, model_options);
          state_ = std::make_unique<RunState>(dims, config.train);
        });
  });
  RunState& s = *state_;

  const StartPlan& plan = options.start;
  if (plan.kind == StartPlan::Kind::kFresh) {
    InitParams(s.params, static_cast<std::uint64_t>(config.train.seed));
    if (s.ema) s.ema->params() = s.params;
  } else {
    RunCollectively(comm, [&] {
      if (comm.rank() != 0) return;
      CheckSameVocabularies(plan.path, plan.reader->info().meta, src_vocab, tgt_vocab);
      if (plan.kind == StartPlan::Kind::kResume) {
        LoadRunState(*plan.reader, s);
      } else {
        LoadRunParams(*plan.reader, s);
      }
    });
  }
  s.StoreRng();
  BroadcastRunState(comm, s);
  // Equal on every rank from here on: the sync may keep one copy per node.
  std::vector<ParamSet*> state_buffers = {&s.params};
  for (const StateRefs::Buffers& b : s.Refs().buffers) state_buffers.push_back(b.set);
  sync_->ShareState(state_buffers);
  TrainingState& t = s.training;
  if (t.best_step >= 0 && FindChoice<EarlyStopMetric>(t.best_metric) !=
                              ChoiceValue<EarlyStopMetric>(config.train.early_stop_metric)) {
    RNN_LOG(kWarn) << "train.early_stop_metric changed from " << t.best_metric << " to "
                   << config.train.early_stop_metric
                   << ": the best value and the patience count start over";
    t.best_step = -1;
    t.best_value = 0;
    t.bad_validations = 0;
  }
  RunCollectively(comm, [&] {
    reader_ =
        std::make_unique<BatchReader>(corpus_, ReaderOptionsFromConfig(config, comm), t.position);
  });
  if (!config.data.valid.empty()) {
    RunCollectively(comm, [&] {
      validator_ = std::make_unique<Validator>(comm, ctx, config, *corpus_, *model_);
    });
  }
  RunCollectively(comm, [&] {
    if (comm.rank() != 0) return;
    checkpoints_ = std::make_unique<CheckpointDir>(options.run_dir, config.checkpoint.keep);
    metrics_ = std::make_unique<MetricsWriter>(
        (std::filesystem::path(options.run_dir) / "metrics.jsonl").string(), t.step);
  });
  if (plan.kind == StartPlan::Kind::kResume) last_saved_step_ = t.step;
  start_elapsed_ = t.elapsed_seconds;
  start_step_ = t.step;
  watchdog_->SetStep(t.step);
  if (checkpoints_ != nullptr) {
    const auto saved = checkpoints_->List();
    if (!saved.empty()) watchdog_->SetCheckpoint(saved.front().path);
  }
  start_epoch_ = EpochProgress();
  clock_start_ = Now();

  RNN_LOG(kInfo) << KindName(plan.kind) << (plan.path.empty() ? "" : " from '" + plan.path + "'")
                 << ": step " << t.step << ", epoch " << EpochProgress() << "; " << s.params.count()
                 << " parameters (Vs " << dims.Vs << ", Vt " << dims.Vt << ", " << config.model.cell
                 << ", " << config.model.attention << " attention); " << corpus_->sentences()
                 << " training pairs in '" << corpus_->dir() << "', "
                 << reader_->BatchesInEpoch(t.position.epoch) << " batches per epoch; "
                 << comm.size() << " rank(s) x " << ctx.threads() << " thread(s); run directory '"
                 << options.run_dir << "'";
}

Trainer::~Trainer() = default;

double Trainer::Elapsed() const { return start_elapsed_ + (Now() - clock_start_); }

double Trainer::EpochProgress() {
  const DataPosition& p = state_->training.position;
  if (plan_epoch_ != p.epoch) {
    plan_batches_ = reader_->BatchesInEpoch(p.epoch);
    plan_epoch_ = p.epoch;
  }
  if (plan_batches_ <= 0) return static_cast<double>(p.epoch);
  return static_cast<double>(p.epoch) +
         static_cast<double>(p.batch) / static_cast<double>(plan_batches_);
}

std::optional<StepOutcome> Trainer::Step() {
  const double max_time = config_.train.max_time;
  std::optional<StepOutcome> outcome;
  Allocating(
      "the activations of a training batch (data.batch_tokens, data.batch_sentences, "
      "data.max_len, model.*)",
      [&] {
        outcome = TrainStep(
            *model_, *sync_, *reader_, *state_, config_.train,
            [&](StepTotals& t) {
              t.stop_signal = StopSignal() != 0 ? 1 : 0;
              t.stop_time = max_time > 0 && Elapsed() >= max_time ? 1 : 0;
            },
            &poison_);
      });
  return outcome;
}

void Trainer::Save(bool best) {
  state_->training.elapsed_seconds = Elapsed();
  RunCollectively(comm_, [&] {
    if (comm_.rank() != 0) return;
    const CheckpointContents contents =
        MakeCheckpointContents(config_, corpus_->src_vocab(), corpus_->tgt_vocab(), *state_);
    last_checkpoint_ = checkpoints_->Save(contents, best);
    RNN_LOG(kInfo) << "saved '" << last_checkpoint_ << "'" << (best ? " (the new best.h5)" : "");
    watchdog_->SetCheckpoint(last_checkpoint_);
  });
  last_saved_step_ = state_->training.step;
}

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
    watchdog_->SetStep(t.step);
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
  const EarlyStopMetric watched = ChoiceValue<EarlyStopMetric>(metric);
  const double value = MetricOf(r, watched);
  TrainingState& t = state_->training;
  bool best = false, decayed = false;
  if (!report_only) {
    const bool higher = HigherIsBetter(watched);
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
    line << (report_only ? "final validation" : "validation") << " at step " << t.step << " | loss "
         << r.loss << " | ppl " << r.perplexity << " | BLEU " << r.bleu.score << " (greedy, "
         << r.sentences << " sentences)";
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
