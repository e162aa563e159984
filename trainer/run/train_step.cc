#include "trainer/run/train_step.h"

#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "common/clock.h"

namespace rnnsearch {

std::optional<StepOutcome> TrainStep(Model& model, GradSync& sync, BatchReader& reader,
                                     RunState& state, const TrainConfig& train,
                                     const std::function<void(StepTotals&)>& stop_flags,
                                     const GradientPoison* poison) {
  std::vector<Batch> batches;
  std::int64_t global_tokens = 0;
  const double read_start = Now();
  while (static_cast<std::int64_t>(batches.size()) < train.accumulate) {
    std::optional<Batch> b = reader.Next();
    if (!b) break;
    global_tokens += b->global_tgt_tokens;
    batches.push_back(std::move(*b));
  }
  if (batches.empty()) return std::nullopt;

  StepOutcome out;
  out.read_seconds = Now() - read_start;
  out.batches = static_cast<int>(batches.size());
  state.grads.Zero();
  const std::int64_t t = state.training.step + 1;
  if (poison != nullptr) poison->Apply(state.grads, t);
  const float grad_scale = 1.0f / static_cast<float>(global_tokens);
  EmbeddingRows touched;  // by any of the step's batches
  for (const Batch& batch : batches) AddTouchedRows(batch, touched);
  sync.SetTouchedRows(std::move(touched));
  for (std::size_t k = 0; k < batches.size(); ++k) {
    const Batch& batch = batches[k];
    GradReadyFn ready;
    if (k + 1 == batches.size()) ready = sync.BeginLastBackward(state.grads);
    const StepResult r = model.ForwardBackward(state.params, state.grads, batch, grad_scale,
                                               state.batches_done, ready);
    ++state.batches_done;
    out.totals.loss += r.loss;
    out.totals.tgt_tokens += r.tokens;
    out.totals.src_tokens += batch.src_tokens();
  }
  if (stop_flags) stop_flags(out.totals);
  const double sync_start = Now();
  sync.Finish(state.grads, out.totals);
  out.sync_seconds = Now() - sync_start;
  if (out.totals.tgt_tokens != global_tokens) {
    throw std::logic_error(
        "internal error: the ranks processed " + std::to_string(out.totals.tgt_tokens) +
        " target tokens, the global batches hold " + std::to_string(global_tokens));
  }

  out.lr = state.schedule.LearningRate(t);
  // The buffer holds the gradient (scaled by 1 / T). This rank's part of
  // the update (all of it unless the sync shares the state between the
  // ranks of the node).
  const UpdatePart part = sync.Part();
  out.update =
      ApplyUpdate(state.optimizer, state.params, state.grads, out.lr, train.clip_norm, part);
  TrainingState& training = state.training;
  if (out.update.skipped) {
    ++training.bad_steps;
    ++training.skipped_steps;
  } else {
    training.bad_steps = 0;
    if (state.ema) state.ema->Update(state.params, part.range);
  }
  const double end_update = Now();
  sync.EndUpdate();
  out.sync_seconds += Now() - end_update;
  training.step = t;
  training.position = batches.back().next;
  training.epoch = batches.back().position.epoch;
  return out;
}

}  // namespace rnnsearch
