// The bookkeeping of trainer/decode/beam_search.h's batched beam search, apart
// from the ops: live hypotheses as rows (grouped by sentence, in sentence
// order), their histories as a tree of nodes (token, parent, optionally the
// attention row that produced the token), per sentence the finished
// hypotheses, and the choice of survivors from one step's
// log-probabilities (the rules are in beam_search.h).
#pragma once

#include <cstdint>
#include <vector>

#include "trainer/decode/beam_search.h"

namespace rnnsearch {

// One of the best tokens of a row.
struct TokenScore {
  float value = 0;  // log-probability (NaN counts as -infinity)
  std::int32_t id = -1;
};

// The k best output tokens of a row of log-probabilities x: [V] into
// out[0..), highest value first, the lower id first among equal values;
// never <pad> or <s> (no target is either: trainer/decode/greedy.h's BestToken
// rule); returns their number (fewer than k when the row has fewer).
int TopTokens(const float* x, std::int64_t V, int k, TokenScore* out);

class BeamState {
 public:
  struct Row {
    int sentence = 0;
    std::int32_t node = -1;  // its last token's node (-1: only <s>)
    double score = 0;        // sum of log-probabilities so far
    bool greedy = false;     // on the greedy line (beam_search.h)
  };
  struct Done {
    std::int32_t node = -1;  // last node (</s> when finished)
    int length = 0;          // tokens, </s> included
    double score = 0;
    bool finished = false;  // false: cut at the maximum length
  };
  struct Sentence {
    std::int64_t max_len = 1;  // output tokens at most, </s> included
    std::vector<Done> done;
  };

  // `alpha_cols`: Tx to keep each node's attention row, 0 not to.
  BeamState(int sentences, int beam_size, int alpha_cols);

  // The first rows: one per sentence, <s> with score 0, greedy.
  void StartRows();

  // The token a row's hypothesis ends with (<s> before the first step).
  std::int32_t LastToken(int row) const;

  // After step `step` (from 1): logp: [rows, V] the log-probabilities of
  // each row's next token; alpha: [rows, Tx] the step's attention (read
  // when keeping alignments). Finishes hypotheses, and replaces `rows`
  // with the survivors, `parent` with the row each continues and `src_of`
  // with their sentences.
  void Select(int step, const float* logp, std::int64_t V, const float* alpha, int Tx);

  // The ranked n-best (and the best one's attention) per sentence.
  // src_len: [sentences] source positions, </s> included.
  std::vector<Translation> Results(const BeamOptions& options, const std::int32_t* src_len) const;

  std::vector<Row> rows;
  std::vector<int> parent;  // [rows] after Select: the previous row each continues
  std::vector<int> src_of;  // [rows] sentence of each row
  std::vector<Sentence> sentences;

 private:
  struct Candidate {
    double score;
    int row;
    std::int32_t id;
  };
  std::int32_t AddNode(std::int32_t token, std::int32_t parent_node, const float* alpha_row);
  std::vector<std::int32_t> Chain(std::int32_t node) const;  // nodes from the first token

  int K_;
  int alpha_cols_;
  std::vector<std::int32_t> node_token_, node_parent_;
  std::vector<float> node_alpha_;  // [nodes, alpha_cols_]
  std::vector<TokenScore> top_;    // [rows, K] best tokens per row
  std::vector<int> top_count_;     // [rows]
  std::vector<Candidate> cand_;    // scratch
};

}  // namespace rnnsearch
