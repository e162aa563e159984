// The trainer's side of checkpoints (io/checkpoint.h is the file; a
// ParamSet as its tensors is trainer/model/param_tensors.h): the run's whole
// state (trainer/run/run_state.h) as checkpoint contents, loading it back on
// rank 0, and broadcasting it to the other ranks.
//
// Where each piece goes in the file (docs/checkpoint.md):
//   RunState::params                 /params
//   buffers of Refs() but "ema"      /optimizer/<name> (Adam's adam.m, adam.v)
//   the "ema" buffer                 /ema
//   ints and reals of Refs()         /optimizer attributes (optimizer.step,
//                                    schedule.*, progress.*)
//   RunState::training               /state (step, epoch, data position,
//                                    best metric, patience, elapsed time,
//                                    rng/dropout = {seed, batches done})
//   the config and the vocabularies  /config, /model, /vocab
#pragma once

#include <string>
#include <vector>

#include "common/comm.h"
#include "common/config.h"
#include "io/checkpoint.h"
#include "io/vocab.h"
#include "trainer/model/param_tensors.h"
#include "trainer/run/run_state.h"

namespace rnnsearch {

// The checkpoint of `state` (views into it: no copy of a tensor). Stores
// the dropout RNG into state.training first.
CheckpointContents MakeCheckpointContents(const Config& config, const Vocab& src_vocab,
                                          const Vocab& tgt_vocab, RunState& state);

// Rank 0: reads everything of an opened checkpoint into `state`. The
// optimizer kind must be the configured one, every buffer and scalar that
// `state` has must be in the file (UserError naming the checkpoint and the
// missing name otherwise), and the stored optimizer kind and best metric
// must be choices of train.optimizer and train.early_stop_metric
// (CheckStoredChoice). A checkpoint without a moving average, resumed
// with train.ema_decay > 0, starts the average from its parameters (with
// a warning).
void LoadRunState(const CheckpointReader& reader, RunState& state);

// Rank 0: only the parameters (--init-from); the average, if kept, starts
// from them.
void LoadRunParams(const CheckpointReader& reader, RunState& state);

// Every rank: rank 0's parameters, moving average, optimizer buffers,
// scalars, training state and dropout counter to all ranks.
void BroadcastRunState(Comm& comm, RunState& state);

}  // namespace rnnsearch
