// Greedy decoding, batched over sentences: at each step every unfinished
// sentence takes its most probable next token (BestToken: the lowest id on
// a tie, never <pad> or <s>) until it emits </s> or reaches its length
// limit. Used by validation
// (BLEU of greedy translations) and usable by `rnnsearch translate`.
//
// It runs docs/model.md's forward with the decoding ops: Model::Encode (H and
// s_0, no dropout), then trainer/decode/decoder_step.h's step for the n
// unfinished sentences, one row each. Finished sentences leave the batch
// (their rows are compacted away), so a step costs what its unfinished
// sentences need.
#pragma once

#include <cstdint>
#include <vector>

#include "ops/context.h"
#include "trainer/decode/decoder_step.h"
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
  Model& model_;
  GreedyOptions options_;
  DecoderStep step_;  // one row per sentence
};

// The most probable output token of one row of log-probabilities x: [Vt]:
// the id of the largest value (the lowest on a tie), never <pad> or <s>
// (no target is either).
std::int32_t BestToken(const float* x, std::int64_t vocab);

}  // namespace rnnsearch
