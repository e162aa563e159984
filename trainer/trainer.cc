// The trainer's setup, its step, and checkpoint writing (the loop itself
// is in trainer_loop.cc).
#include "trainer/trainer.h"

#include <algorithm>
#include <chrono>
#include <filesystem>

#include "common/error.h"
#include "common/log.h"
#include "io/collective.h"
#include "trainer/checkpointing.h"
#include "trainer/init.h"
#include "trainer/memory.h"
#include "trainer/stop_signal.h"

namespace rnnsearch {
namespace {

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

std::string StopReasonText(StopReason reason, int signal) {
  switch (reason) {
    case StopReason::kEpochs: return "train.max_epochs reached (the data is used up)";
    case StopReason::kMaxSteps: return "train.max_steps reached";
    case StopReason::kMaxTime: return "train.max_time reached";
    case StopReason::kEarlyStop: return "early stopping (train.patience validations without a new best)";
    case StopReason::kSignal: return "stopped by a signal: " + StopSignalName(signal);
  }
  return "?";
}

Trainer::Trainer(const Config& config, const TrainerOptions& options, Comm& comm,
                 ops::Context& ctx, std::unique_ptr<GradSync> sync)
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
  if (config.data.train.empty()) {
    throw CollectiveError("data.train: expected the directory of the training shards "
                          "(rnnsearch preprocess --out), found an empty string",
                          1);
  }
  RunCollectively(comm, [&] { corpus_ = Corpus::OpenNamed("data.train", config.data.train); });
  const Vocab& src_vocab = corpus_->src_vocab();
  const Vocab& tgt_vocab = corpus_->tgt_vocab();
  const ModelDims dims = ModelDims::From(config.model, src_vocab.size(), tgt_vocab.size());
  // Refuse a run that cannot fit before allocating it (trainer/memory.h).
  RunCollectively(comm, [&] {
    const Manifest& m = corpus_->manifest();  // histograms: [length] = sentences
    const auto longest = static_cast<std::int64_t>(
        std::max(m.src_length_hist.size(), m.tgt_length_hist.size()) - 1);
    CheckMemoryFits(EstimateTrainingMemory(config, dims.Vs, dims.Vt, comm.size(), longest),
                    comm.local_size(), MachineAvailableMemory());
  });
  RunCollectively(comm, [&] {
    Allocating("the model and its parameters, gradients and optimizer state (model.*, "
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
  if (t.best_step >= 0 && t.best_metric != config.train.early_stop_metric) {
    RNN_LOG(kWarn) << "train.early_stop_metric changed from " << t.best_metric << " to "
                   << config.train.early_stop_metric
                   << ": the best value and the patience count start over";
    t.best_step = -1;
    t.best_value = 0;
    t.bad_validations = 0;
  }
  RunCollectively(comm, [&] {
    reader_ = std::make_unique<BatchReader>(corpus_, ReaderOptionsFromConfig(config, comm),
                                            t.position);
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
  start_epoch_ = EpochProgress();
  clock_start_ = Now();

  RNN_LOG(kInfo) << KindName(plan.kind) << (plan.path.empty() ? "" : " from '" + plan.path + "'")
                 << ": step " << t.step << ", epoch " << EpochProgress() << "; "
                 << s.params.count() << " parameters (Vs " << dims.Vs << ", Vt " << dims.Vt
                 << ", " << config.model.cell << ", " << config.model.attention << " attention); "
                 << corpus_->sentences() << " training pairs in '" << corpus_->dir() << "', "
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
  Allocating("the activations of a training batch (data.batch_tokens, data.batch_sentences, "
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
  });
  last_saved_step_ = state_->training.step;
}

}  // namespace rnnsearch
