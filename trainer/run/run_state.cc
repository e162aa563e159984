#include "trainer/run/run_state.h"

#include "common/error.h"

namespace rnnsearch {

StateRefs ProgressWindow::State() {
  StateRefs s;
  s.reals.push_back({"progress.loss_sum", &loss_sum});
  s.reals.push_back({"progress.grad_norm_sum", &grad_norm_sum});
  s.reals.push_back({"progress.seconds", &seconds});
  s.ints.push_back({"progress.tgt_tokens", &tgt_tokens});
  s.ints.push_back({"progress.src_tokens", &src_tokens});
  s.ints.push_back({"progress.steps", &steps});
  return s;
}

RunState::RunState(const ModelDims& dims, const TrainConfig& train)
    : params(dims),
      grads(dims),
      optimizer(OptimizerOptions::FromConfig(train), dims),
      schedule(ScheduleOptions::FromConfig(train)),
      seed(static_cast<std::uint64_t>(train.seed)) {
  if (train.ema_decay > 0) ema.emplace(train.ema_decay, params);
}

StateRefs RunState::Refs() {
  StateRefs s = optimizer.State();
  s.Append(schedule.State());
  if (ema) s.Append(ema->State());
  s.Append(window.State());
  return s;
}

void RunState::StoreRng() { training.rng["dropout"] = {seed, batches_done}; }

void RunState::LoadRng(const std::string& origin) {
  const auto it = training.rng.find("dropout");
  if (it == training.rng.end() || it->second.size() != 2) {
    throw UserError("the checkpoint '" + origin +
                    "' has no dropout RNG state (/state/rng/dropout with 2 values)");
  }
  if (it->second[0] != seed) {
    throw UserError("the checkpoint '" + origin + "' was trained with train.seed " +
                    std::to_string(it->second[0]) + ", the config has " + std::to_string(seed) +
                    ": the seed cannot change when training continues");
  }
  batches_done = it->second[1];
}

}  // namespace rnnsearch
