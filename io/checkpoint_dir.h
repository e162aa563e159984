// The checkpoints of a run directory (rank 0 only):
//
//   DIR/ckpt-<step>.h5   the newest checkpoint.keep of them, by step
//   DIR/best.h5          the best by the validation metric (never rotated)
//
// Rules (docs/checkpoint.md):
// - Save writes ckpt-<step>.h5 through SaveCheckpoint (temporary name,
//   fsync, rename), so the previous checkpoints are untouched until the new
//   one is complete; only then are old ones rotated out.
// - best.h5 is a hard link to the checkpoint saved with best = true (a copy
//   on filesystems without hard links), replaced atomically by rename.
// - Rotation keeps the `keep` highest steps. Checkpoints with a step above
//   the one just saved belong to a line of training that was abandoned (a
//   resume from an earlier checkpoint, or a corrupt newest one skipped);
//   they are renamed to ckpt-<step>.h5.superseded with a warning, never
//   deleted, so that the next resume does not pick them.
// - Opening the directory removes temporaries (ckpt-<step>.h5.tmp,
//   best.h5.tmp) left by a write that was interrupted, with a warning.
// - NewestValid tries the checkpoints newest first, and best.h5 last; one
//   that cannot be read or fails a checksum is skipped with a warning
//   naming it and why.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "io/checkpoint.h"

namespace rnnsearch {

struct CheckpointEntry {
  std::int64_t step = 0;
  std::string path;
  bool operator==(const CheckpointEntry&) const = default;
};

class CheckpointDir {
 public:
  // Creates `dir` if it does not exist and removes interrupted writes.
  // `keep` >= 1 is checkpoint.keep. Throws UserError naming the directory.
  CheckpointDir(std::string dir, std::int64_t keep);

  const std::string& dir() const { return dir_; }
  std::int64_t keep() const { return keep_; }

  static std::string FileName(std::int64_t step);  // "ckpt-<step>.h5"
  std::string PathOf(std::int64_t step) const;     // DIR/ckpt-<step>.h5
  std::string BestPath() const;                    // DIR/best.h5 (may not exist)

  // Writes DIR/ckpt-<contents.meta.state.step>.h5 (replacing one of the
  // same step); with `best`, DIR/best.h5 becomes the same checkpoint; then
  // rotates. Returns the path written. Throws UserError (a full disk...),
  // leaving every existing checkpoint as it was.
  std::string Save(const CheckpointContents& contents, bool best);

  // DIR/ckpt-<step>.h5 files, newest (highest step) first.
  std::vector<CheckpointEntry> List() const;

  // The newest checkpoint that opens and whose seal matches (the whole
  // file is read once for its CRC-32), or nullopt if there is none.
  std::optional<std::string> NewestValid() const;

 private:
  void Rotate(std::int64_t saved_step);

  std::string dir_;
  std::int64_t keep_;
};

}  // namespace rnnsearch
