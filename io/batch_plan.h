// The sampler: which sentences form each global batch of an epoch.
//
// Within each shard (sorted by the longer side's length, shard.h) batches
// are cut greedily from contiguous ranges so that
//   sentences x longest target (padding included) <= batch_tokens, and
//   sentences <= batch_sentences
// (a limit of 0 is no limit; a batch always holds at least one sentence).
// With shuffling, each epoch shifts the cut points of each shard by a
// random amount (the first batch of a shard gets a random size between 1
// and its greedy size), so batches differ from epoch to epoch, and the
// batches of all shards are then put in a random order. Everything is
// drawn from a splitmix64 sequence (common/rng.h) seeded by (seed, epoch):
// the plan depends only on the seed, the epoch and the shards' lengths,
// never on the number of ranks, the platform's std::shuffle, or previous
// epochs.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "io/corpus.h"

namespace rnnsearch {

struct BatchingOptions {
  std::int64_t batch_tokens = 2000;  // target tokens per batch, padding included (0: no limit)
  std::int64_t batch_sentences = 0;  // sentences per batch at most (0: no limit)
  std::uint64_t seed = 1234;
  bool shuffle = true;  // false: stored order, the same cut points every epoch
};

// A global batch: sentences [first, first + count) of one shard.
struct BatchSpan {
  std::int32_t shard = 0;
  std::int64_t first = 0;
  std::int64_t count = 0;
  bool operator==(const BatchSpan&) const = default;
};

// The global batches of `epoch`, in training order. Needs at least one of
// the two limits to be positive.
std::vector<BatchSpan> PlanEpoch(std::span<const ShardLengths> shards,
                                 const BatchingOptions& options, std::int64_t epoch);

struct PaddingStats {
  std::int64_t batches = 0, sentences = 0;
  std::int64_t src_real = 0, src_padded = 0;  // tokens, and tokens with padding
  std::int64_t tgt_real = 0, tgt_padded = 0;
  // Real tokens over padded tokens, both sides together (1 when empty).
  double efficiency() const;
  double src_efficiency() const;
  double tgt_efficiency() const;
};

// How much padding the batches of `plan` carry when each is padded to its
// own longest source and target sentence.
PaddingStats MeasurePadding(std::span<const ShardLengths> shards, std::span<const BatchSpan> plan);

}  // namespace rnnsearch
