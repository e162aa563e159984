// Batched beam search for the RNNsearch model of docs/model.md: many
// sentences are decoded at once, every live hypothesis of every sentence
// being one row of each decoder step (one matrix product per op per step).
//
// Per sentence, with K = options.beam_size:
// - The encoder runs once (Model::Encode: H and s_0); hypotheses start
//   from <s> with score 0.
// - A step takes each live hypothesis (state s_{i-1}, last token y_{i-1}):
//   trainer/decode/decoder_step.h's step, attention c_i (each row attending
//   to its own sentence), s_i = cell([Et[y_{i-1}]; c_i], s_{i-1}), and
//   log p(y_i | ...) = log softmax of the readout.
//   A candidate's score is its hypothesis's score plus the log-probability
//   of its token (the sum of log-probabilities of all tokens so far).
//   <pad> and <s> are never candidates (no target is either; as
//   trainer/decode/greedy.h's BestToken); the others' probabilities are not
//   renormalised.
// - The K - F best candidates survive (F: hypotheses of the sentence already
//   finished; ties go to the lower hypothesis row, then the lower token id).
//   A candidate whose token is </s> is finished; one that reaches the
//   maximum length without </s> is finished as cut (`finished` = false).
//   The sentence is done when all K slots are finished (the beam shrinks
//   as hypotheses finish, as in Nematus).
// - The greedy line: the beam always keeps the argmax continuation of the
//   hypothesis that greedy decoding would have (the top-1 token of the
//   greedy hypothesis replaces the worst survivor if it was not among the
//   survivors). Plain beam search can prune the greedy path and end with a
//   worse hypothesis than greedy decoding; with the greedy line the best
//   returned hypothesis never scores below greedy's (under the ranking
//   below), and with K = 1 the search IS greedy decoding: the most
//   probable token of every step (the lowest id among equal maxima) until
//   </s>.
// - Ranking: finished hypotheses by normalized = score / length^alpha,
//   length = tokens + 1 for </s> (alpha = options.length_penalty; 0 ranks by
//   the plain score); the n best are returned, best first.
// - Maximum length: floor(max_len_ratio * source positions) +
//   max_len_offset output tokens, </s> counted on both sides (the rule of
//   trainer/decode/greedy.h's validation decoder); at least 1.
//
// An ensemble (several ParamSets with the same target vocabulary, any
// other dims): every member encodes the source and keeps its own decoder
// states; a step's log-probabilities are the members' mean, log p(y) =
// (1/M) sum_m log p_m(y) (as Marian and Nematus ensemble); everything
// else above is unchanged. The alignments are the first member's.
//
// With options.alignments, the attention weights alpha_i of the best
// hypothesis are returned: one row per output token (</s> included), one
// column per source position (</s> included); each row sums to 1.
//
// Results do not depend on which other sentences share a batch except for
// float rounding in the ops (row counts change oneDNN's blocking at most).
// Thread count: the ops' Context. Not thread-safe (one search at a time).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "ops/context.h"
#include "trainer/decode/decoder_step.h"
#include "trainer/model/model.h"
#include "trainer/model/params.h"

namespace rnnsearch {

struct BeamOptions {
  int beam_size = 5;                 // K >= 1: hypotheses kept per sentence
  int nbest = 1;                     // 1..K: hypotheses returned per sentence
  double length_penalty = 1.0;       // alpha >= 0: rank by score / length^alpha
  double max_len_ratio = 2.0;        // >= 0: output tokens (</s> included) at most
  std::int64_t max_len_offset = 10;  //   floor(ratio * source positions) + offset (>= 0)
  bool alignments = false;           // return the attention weights of the best
};

// Throws UserError naming the option (and the `rnnsearch translate` flag)
// when a value is out of range.
void ValidateBeamOptions(const BeamOptions& options);

// The most output tokens (</s> included) for a source of `src_len`
// positions (</s> included): floor(ratio * src_len) + offset, at least 1.
std::int64_t MaxOutputLength(const BeamOptions& options, std::int64_t src_len);

struct Hypothesis {
  std::vector<std::int32_t> tokens;  // output ids, without </s>
  bool finished = false;             // ended with </s> (false: cut at the maximum length)
  double score = 0;                  // sum of log p of tokens (and of </s> when finished)
  double normalized = 0;             // score / length^alpha, length = tokens + finished
  int length() const { return static_cast<int>(tokens.size()) + (finished ? 1 : 0); }
};

struct Translation {
  std::vector<Hypothesis> nbest;  // at most options.nbest, best (highest normalized) first
  int src_len = 0;                // source positions, </s> included
  // options.alignments only: [nbest[0].length(), src_len] attention
  // weights of the best hypothesis, row i = alpha_{i+1} (empty otherwise).
  std::vector<float> attention;
};

class BeamSearch {
 public:
  // `params` must outlive the search; its dims give the model.
  BeamSearch(ops::Context& ctx, const ParamSet& params, const BeamOptions& options);
  // An ensemble of members (at least one, all outliving the search) with
  // the same source and target vocabulary sizes; throws
  // std::invalid_argument otherwise.
  BeamSearch(ops::Context& ctx, const std::vector<const ParamSet*>& members,
             const BeamOptions& options);
  ~BeamSearch();
  BeamSearch(const BeamSearch&) = delete;
  BeamSearch& operator=(const BeamSearch&) = delete;

  const BeamOptions& options() const { return options_; }

  // Sentences as id sequences WITHOUT </s> (it is appended), any lengths
  // (0 too: the source is then </s> alone), ids in [0, Vs). One
  // Translation per sentence, in order; all are decoded as one batch.
  std::vector<Translation> Translate(const std::vector<std::vector<std::int32_t>>& sources);

  // The same on model-format input (as io/batch_reader.h's Batch): src:
  // [Tx, B] time-major ids, each sentence ending with </s> at position
  // src_len[b] - 1; src_len: [B], 1..Tx. B >= 0.
  std::vector<Translation> TranslateBatch(const std::int32_t* src, const std::int32_t* src_len,
                                          int B, int Tx);

 private:
  struct Member {  // one model of the ensemble
    Member(ops::Context& ctx, const ParamSet& params, int beam_size);
    ~Member();
    const ParamSet& params;
    Model model;       // Encode only
    DecoderStep step;  // beam_size rows per sentence
  };

  BeamOptions options_;
  std::vector<std::unique_ptr<Member>> members_;
  std::vector<float> mean_logp_;  // [rows, Vt] the members' mean (ensembles only)
};

}  // namespace rnnsearch
