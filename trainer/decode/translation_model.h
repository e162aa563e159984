// What `rnnsearch translate` and `rnnsearch rescore` load: a checkpoint's parameters (or their
// moving average), model dims and vocabularies, read by rank 0 and
// broadcast so that every rank holds the same model (the file need only
// exist where rank 0 runs).
//
// Which file:
//   --model PATH     that checkpoint file;
//   --run-dir DIR    DIR/best.h5 (the best by validation) when it opens and
//                    its seal matches, else the newest valid DIR/ckpt-<step>.h5
//                    (damaged ones skipped with a warning). The directory is
//                    only read: unlike io/checkpoint_dir.h's CheckpointDir,
//                    nothing is created or cleaned up in it, so a run can be
//                    translated from while it trains.
// Which weights: "ema" (the moving average; an error if the checkpoint has
// none), "params", or "auto" (the average when the checkpoint has one).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/comm.h"
#include "io/vocab.h"
#include "trainer/model/params.h"

namespace rnnsearch {

struct TranslationModel {
  std::string path;       // the checkpoint read
  std::int64_t step = 0;  // its training step
  bool ema = false;       // the moving average was loaded
  ParamSet params;        // its dims are the model's
  Vocab src_vocab, tgt_vocab;
  std::int64_t train_max_len = 0;  // data.max_len of its config (0: unknown)
};

// Collective. Exactly one of model_path and run_dir is non-empty; weights
// is auto, params or ema. A failure on rank 0 (a missing file, a file that
// is not a checkpoint, a damaged one, a run directory that does not exist
// or holds no valid checkpoint) throws the same CollectiveError on every
// rank.
// `command` (translate, rescore) names the command in error messages.
TranslationModel LoadTranslationModel(const std::string& model_path, const std::string& run_dir,
                                      const std::string& weights, Comm& comm,
                                      const std::string& command = "translate");

// Collective. The checkpoints `paths` (--ensemble), loaded as above; each
// must have the vocabularies of `model`, else a UserError names both files
// and their vocabularies (kind, size, hash).
std::vector<TranslationModel> LoadEnsembleMembers(const TranslationModel& model,
                                                  const std::vector<std::string>& paths,
                                                  const std::string& weights, Comm& comm,
                                                  const std::string& command = "translate");

// Logs (rank 0 only calls it) "COMMAND: PATH (step N, moving average)"
// for the model and "COMMAND: ensemble member PATH (...)" for the others.
void LogLoadedModels(const std::string& command, const TranslationModel& model,
                     const std::vector<TranslationModel>& others);

}  // namespace rnnsearch
