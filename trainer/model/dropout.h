// Dropout masks from a counter-based generator (train.dropout, docs/model.md's
// embeddings and readout): inverted dropout, each unit kept with
// probability 1 - p and then scaled by 1 / (1 - p), so evaluation (no
// dropout) needs no rescaling.
//
// A unit's fate is a pure function (a hash) of
//   (seed, step, tensor, global sentence index, position, feature)
// and of nothing else: not of the thread count, not of the order in which
// units are drawn, not of how a global batch is split over ranks (the
// sentence index is global: Batch::first + b) nor of the padding of a
// batch (the position t is the token's own). The RNG state a checkpoint
// needs is therefore just (seed, step); `step` is whatever counter the
// trainer advances once per forward-backward (e.g. the batches done).
//
// The hash: a 64-bit key from (seed, step, tensor) and one per
// (sentence, position) row by splitmix64 (common/rng.h), then per feature k
// two rounds of MurmurHash3's 32-bit finaliser over the row key and k
// (bijective in k, so features of a row never collide); the unit is kept
// iff the 32-bit result is >= p * 2^32. The per-feature loop vectorises.
#pragma once

#include <cstdint>

namespace rnnsearch {

// The masked tensors, as the tensor field of the hash.
enum class DropoutTensor : std::uint32_t {
  kSourceEmbedding = 1,  // x~: [Tx, B, E]
  kTargetEmbedding = 2,  // y~ (decoder and readout input): [Ty, B, E]
  kReadout = 3,          // t: [Ty, B, O]
};

struct DropoutKey {
  std::uint64_t seed = 0;  // train.seed
  std::uint64_t step = 0;  // the trainer's counter
};

// mask: [T, B, dim] time-major multipliers, element (t, b, k) = 0 (dropped)
// or 1 / (1 - p) (kept), for sentence `first_sentence + b`; p in [0, 1)
// (p = 0 keeps everything: all ones). Parallel over rows (OpenMP).
void FillDropoutMask(float* mask, const DropoutKey& key, DropoutTensor tensor, float p, int T,
                     int B, std::int64_t first_sentence, int dim);

// x: [n] *= mask: [n] (the same multipliers apply to a gradient).
void ApplyMask(float* x, const float* mask, std::int64_t n);

}  // namespace rnnsearch
