// Greedy decoding, batched over sentences: at each step every unfinished
// sentence takes its most probable next token (BestToken: the lowest id on
// a tie, never <pad> or <s>) until it emits </s> or reaches its length
// limit. Used by validation
// (BLEU of greedy translations) and usable by `rnnsearch translate`.
//
// It runs docs/model.md's forward with the decoding ops: Model::Encode (H and
// s_0, no dropout), then per step for the n unfinished sentences
//   y~ = Et[y_{i-1}]                      ops::Embedding        [n, E]
//   c_i = attention(s_{i-1}, H)           ops::AttentionDecode  [n, 2He]
//   s_i = cell([y~; c_i], s_{i-1})        ops::DecoderCellDecode [n, Hd]
//   log p(y_i) = LogProbs(s_i, c_i, y~)   ops::ReadoutLoss (no training buffers)
// Finished sentences leave the batch (their rows are compacted away), so
// a step costs what its unfinished sentences need.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "ops/context.h"
#include "trainer/model/model.h"
#include "trainer/model/params.h"

namespace rnnsearch {

struct GreedyOptions {
  // A sentence that has not emitted </s> ends after floor(max_len_ratio *
  // its source length (</s> included)) + max_len_extra tokens.
  double max_len_ratio = 2.0;
  int max_len_extra = 10;
};

class GreedyDecoder {
 public:
  // `model` supplies the encoder and the dims; it must outlive the decoder.
  GreedyDecoder(ops::Context& ctx, Model& model, const GreedyOptions& options = {});
  ~GreedyDecoder();
  GreedyDecoder(const GreedyDecoder&) = delete;
  GreedyDecoder& operator=(const GreedyDecoder&) = delete;

  // src: [Tx, B] time-major ids, each sentence ending with </s> then
  // <pad>; src_len: [B] in [1, Tx]; B >= 1. Returns, per sentence, its
  // output ids before </s> (without </s>).
  std::vector<std::vector<std::int32_t>> Translate(const ParamSet& params, const std::int32_t* src,
                                                   const std::int32_t* src_len, int B, int Tx);

  const GreedyOptions& options() const { return options_; }

 private:
  struct Ops;
  void Reserve(int B, int Tx);

  ops::Context& ctx_;
  Model& model_;
  GreedyOptions options_;
  std::unique_ptr<Ops> ops_;  // decode ops sized for the largest batch so far
  int max_b_ = 0, max_tx_ = 0;
};

// The most probable output token of one row of log-probabilities x: [Vt]:
// the id of the largest value (the lowest on a tie), never <pad> or <s>
// (no target is either).
std::int32_t BestToken(const float* x, std::int64_t vocab);

}  // namespace rnnsearch
