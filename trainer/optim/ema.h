// An exponential moving average of the parameters (train.ema_decay > 0):
// after every optimizer step, ema = decay * ema + (1 - decay) * params,
// element-wise over the whole flat buffer. It starts as a copy of the
// parameters when training starts; validation translates with it and
// checkpoints save it (state "ema"), so a resumed run continues it.
#pragma once

#include "trainer/model/params.h"
#include "trainer/optim/buffer_loops.h"
#include "trainer/optim/state_refs.h"

namespace rnnsearch {

class Ema {
 public:
  // decay in (0, 1); the average starts equal to `params`.
  Ema(double decay, const ParamSet& params);

  // Only the chunks of `range` (trainer/optim/buffer_loops.h).
  void Update(const ParamSet& params, buffer_loops::ChunkRange range = {});

  double decay() const { return decay_; }
  const ParamSet& params() const { return ema_; }
  ParamSet& params() { return ema_; }

  // The averaged parameters as the buffer set "ema".
  StateRefs State();

 private:
  double decay_;
  ParamSet ema_;
};

}  // namespace rnnsearch
