// HDF5 checkpoints: everything a run needs to continue exactly where it
// stopped, and everything translation needs (parameters, model dims,
// vocabularies), in one self-contained file. The layout is documented in
// docs/checkpoint.md; in short:
//
//   /params/<name>            float32, docs/model.md's names and shapes
//   /optimizer/<buffer>/<name> float32, e.g. Adam's moments, per parameter
//   /optimizer (attributes)   kind, named int64 and float64 scalars
//   /ema/<name>               float32, the moving average (optional)
//   /state (attributes)       step, epoch, data position, best metric, ...
//   /state/rng/<name>         uint64, every RNG's state
//   /model (attributes)       every model.* config key, the vocab sizes
//   /config                   the effective config as YAML text
//   /vocab/src, /vocab/tgt    uint8, a Vocab's bytes (kind, size, hash)
//
// Integrity: SaveCheckpoint writes to PATH.tmp in the same directory,
// seals it (a 512-byte text header with the file's size and the CRC-32 of
// everything after it: io/checkpoint_seal.h), flushes it to disk, renames
// it to PATH and flushes the directory, so PATH is either the old file or
// the complete new one. Reading checks the seal before HDF5 parses
// anything, and each dataset's own CRC-32 (attribute crc32) as it is read.
// Truncation, any changed byte, a missing dataset, a wrong shape or a
// format version from the future is a UserError naming the file and what
// is wrong; a damaged file is never a crash.
//
// The API works on plain flat float buffers (a ParamSet's data() with one
// TensorSpec per named view), never on MPI: rank 0 saves and loads, the
// trainer broadcasts. Tensors are written from and read into the caller's
// buffers directly, without a copy of the whole state.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/config.h"
#include "io/batch_reader.h"
#include "io/vocab.h"

namespace rnnsearch {

inline constexpr std::int64_t kCheckpointFormatVersion = 1;
inline constexpr const char* kCheckpointFormat = "rnnsearch-checkpoint";

// One named tensor, a view into a flat float buffer.
struct TensorSpec {
  std::string name;                 // e.g. "encoder.0.fwd.weight_ih" (no '/')
  std::vector<std::int64_t> shape;  // row-major; {} is a scalar
  std::int64_t offset = 0;          // first element, in floats from the buffer start
  std::int64_t size() const;        // product of shape
  bool operator==(const TensorSpec&) const = default;
};

// Tensors to save, read from the caller's buffer.
struct ConstTensors {
  std::vector<TensorSpec> specs;
  std::span<const float> data;  // holds every spec's [offset, offset + size)
};

// Where to load tensors: the caller's layout and buffer. Loading checks
// that the file has exactly these names, each with this shape.
struct MutableTensors {
  std::vector<TensorSpec> specs;
  std::span<float> data;
};

// Where the training loop is; restoring it continues the run exactly.
struct TrainingState {
  std::int64_t step = 0;   // steps done (skipped ones too: see bad_steps)
  std::int64_t epoch = 0;  // the loop's epoch, from 0
  DataPosition position;   // the next global batch to read
  // Every RNG's state by name (e.g. {"dropout": {seed, counter}}).
  std::map<std::string, std::vector<std::uint64_t>> rng;
  std::string best_metric;           // the validation metric early stopping watches ("" none)
  double best_value = 0;             // its best value so far (meaningless while best_step < 0)
  std::int64_t best_step = -1;       // the step it was reached at (-1: no validation yet)
  std::int64_t bad_validations = 0;  // validations since the best (the patience counter)
  // Steps skipped for a NaN or infinite gradient norm: in a row up to this
  // step (train.max_bad_steps' counter) and in all (0 in older files).
  std::int64_t bad_steps = 0;
  std::int64_t skipped_steps = 0;
  double elapsed_seconds = 0;  // training time so far, over all resumptions
  bool operator==(const TrainingState&) const = default;
};

// Everything in a checkpoint except the large tensors.
struct CheckpointMeta {
  ModelConfig model;           // the model section of the config (the dims with the vocab sizes)
  std::string config_yaml;     // the effective config, ConfigToYaml
  Vocab src_vocab, tgt_vocab;  // their sizes are Vs and Vt
  TrainingState state;
  // The optimizer (and schedule) state besides its buffers: kind and named
  // scalars (names as in trainer/optim/state_refs.h, e.g. "optimizer.step").
  std::string optimizer_kind;  // e.g. "adam", "sgd"
  std::map<std::string, std::int64_t> optimizer_ints;
  std::map<std::string, double> optimizer_reals;  // restored bit for bit
};

struct CheckpointContents {
  CheckpointMeta meta;
  ConstTensors params;                                    // docs/model.md's names
  std::map<std::string, ConstTensors> optimizer_buffers;  // e.g. "adam.m", "adam.v"
  std::optional<ConstTensors> ema;                        // the moving average, if kept
};

// What CheckpointReader knows after opening a file: the meta and the names
// and shapes of the tensors (offsets packed in file order).
struct CheckpointInfo {
  std::string path;
  std::int64_t format_version = 0;
  std::string rnnsearch_version, git_revision;  // of the program that wrote it
  CheckpointMeta meta;
  std::vector<TensorSpec> params;
  std::map<std::string, std::vector<TensorSpec>> optimizer_buffers;
  bool has_ema = false;
};

// Writes `contents` to `path` (PATH.tmp, fsync, rename, fsync of the
// directory); an existing `path` is replaced only by a complete file.
// Throws UserError naming the file on any failure (a full disk, a file
// size limit), leaving `path` as it was and no temporary behind. A
// malformed `contents` (a name with '/', a spec outside its buffer) is a
// programming error: std::invalid_argument.
void SaveCheckpoint(const std::string& path, const CheckpointContents& contents);

// Reads a checkpoint. The constructor opens the file, checks its format
// and version and reads (and checksums) everything but the tensors, which
// stay on disk until read into the caller's buffers. Every failure is a
// UserError naming the file and what is wrong.
class CheckpointReader {
 public:
  explicit CheckpointReader(const std::string& path);
  ~CheckpointReader();
  CheckpointReader(CheckpointReader&&) noexcept;
  CheckpointReader& operator=(CheckpointReader&&) noexcept;

  const CheckpointInfo& info() const { return info_; }

  // Reads /params (or the EMA, or one optimizer buffer) into `out`: the
  // file must hold exactly out.specs' names, each with its shape (all
  // differences are listed in the error); each tensor's checksum is
  // verified.
  void ReadParams(const MutableTensors& out) const;
  void ReadEma(const MutableTensors& out) const;
  void ReadOptimizerBuffer(const std::string& name, const MutableTensors& out) const;

  // Reads every tensor (through a scratch buffer of the largest) and
  // verifies its own checksum. (Opening already checked the seal, which
  // covers every byte; this is for files whose seal was rewritten.)
  void VerifyTensors() const;

 private:
  struct File;
  std::unique_ptr<File> file_;
  CheckpointInfo info_;
};

// Where LoadCheckpoint puts the tensors.
struct CheckpointTargets {
  MutableTensors params;
  std::map<std::string, MutableTensors> optimizer_buffers;  // each must be in the file
  std::optional<MutableTensors> ema;                        // the file must have one
};

// A whole resume: the meta, and every tensor into the caller's buffers.
CheckpointInfo LoadCheckpoint(const std::string& path, const CheckpointTargets& targets);

// Only the parameters (for --init-from): the small meta and /params; the
// optimizer state and the EMA are not read.
CheckpointInfo LoadParams(const std::string& path, const MutableTensors& params);

// "model.dec_dim: checkpoint has 512, config has 256", one line per model.*
// key whose values differ, in the config's field order.
std::vector<std::string> ModelDifferences(const ModelConfig& checkpoint, const ModelConfig& config);

// Throws ConfigError naming `path` and every differing model.* key when
// the checkpoint's model is not the configured one.
void CheckSameModel(const std::string& path, const ModelConfig& checkpoint,
                    const ModelConfig& config);

// Throws UserError "the checkpoint 'PATH' has WHERE 'VALUE', expected
// a|b|c (KEY)" unless `value` is one of the choices of the config's CHOICE
// field `key`: for the copies of choices a checkpoint stores (`where`
// names the attribute, e.g. "/optimizer attribute kind").
void CheckStoredChoice(const std::string& path, const std::string& where, std::string_view key,
                       const std::string& value);

// Throws UserError naming `path` and the side when a vocabulary of the
// checkpoint is not the corpus's (kind, size and hash of both).
void CheckSameVocabularies(const std::string& path, const CheckpointMeta& checkpoint,
                           const Vocab& src, const Vocab& tgt);

}  // namespace rnnsearch
