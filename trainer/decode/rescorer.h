// Forced decoding: log p(target | source) of given sentence pairs under a
// model or an ensemble, by the training path (Model::Evaluate without
// dropout or label smoothing, pairs of similar lengths batched together):
//
//   log p(y | x) = sum_i log p(y_i | y_<i, x),  y = Encode(target) + </s>
//
// and, for an ensemble, the members' mean of that sum, which is what the
// ensemble's beam search (trainer/decode/beam_search.h) scores a hypothesis with:
// the mean of per-step log-probabilities summed over the steps. So a
// finished hypothesis of the beam search rescored here gets its own score
// back (up to float rounding), and n-best lists can be rescored with other
// models, e.g. right-to-left ones (recipes/multi30k/ensemble.sh --r2l).
//
// A source without tokens is scored as the source "</s>" alone (the model
// accepts it; rnnsearch translate does not decode such lines). Not
// thread-safe; thread count: the Context's.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "io/vocab.h"
#include "ops/context.h"
#include "trainer/model/model.h"
#include "trainer/model/params.h"

namespace rnnsearch {

struct PairScore {
  double logprob = 0;       // log p(target + </s> | source), the members' mean
  std::int64_t tokens = 0;  // target subwords + 1 for </s>
};

// A pair of id sequences without </s> (the scorer appends it on both sides).
struct IdPair {
  std::vector<std::int32_t> source, target;
};

class Rescorer {
 public:
  // members (>= 1; same vocabularies, any dims), src and tgt must outlive it.
  Rescorer(ops::Context& ctx, const std::vector<const ParamSet*>& members, const Vocab& src,
           const Vocab& tgt);
  ~Rescorer();

  // Batches of `pairs` for ScoreBatch: their indices ordered by source
  // length, then target length, then index, cut into runs of at most
  // kBatchSentences pairs and kBatchTokens padded tokens on either side.
  // Depends only on the lengths, so every process plans the same batches
  // (rnnsearch rescore shares them among its ranks, and a pair's score
  // does not depend on the number of ranks).
  static std::vector<std::vector<std::size_t>> PlanBatches(const std::vector<IdPair>& pairs);
  static constexpr std::int64_t kBatchSentences = 64;
  static constexpr std::int64_t kBatchTokens = 2048;

  // The scores of pairs[i] for the i in `batch` (not empty), in its order:
  // one forward pass per member over all of them, each padded to the
  // longest source and target of the batch.
  std::vector<PairScore> ScoreBatch(const std::vector<IdPair>& pairs,
                                    const std::vector<std::size_t>& batch);

  // One pair alone (a batch of one).
  PairScore Score(const std::vector<std::int32_t>& source, const std::vector<std::int32_t>& target);
  // Text: encoded with the vocabularies.
  PairScore Score(std::string_view source, std::string_view target);
  IdPair Encode(std::string_view source, std::string_view target) const;

 private:
  std::vector<const ParamSet*> params_;
  std::vector<std::unique_ptr<Model>> models_;
  const Vocab& src_;
  const Vocab& tgt_;
};

}  // namespace rnnsearch
