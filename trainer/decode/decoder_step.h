// One step of docs/model.md's decoder for many rows at once: the step that
// greedy decoding (trainer/decode/greedy.h) and beam search
// (trainer/decode/beam_search.h) repeat. A row is a hypothesis: the
// sentence it translates (in the batch given to Start), its last token
// y_{i-1} and its state s_{i-1} (and the LSTM's memory cell). For the n
// rows of a step:
//   y~ = Et[y_{i-1}]                                  [n, E]
//   c_i, alpha_i = attention(s_{i-1}, H)              ops::AttentionDecode [n, 2He], [n, Tx]
//   s_i = cell([y~; c_i], s_{i-1})                    ops::DecoderCellDecode [n, Hd]
//   log p(y_i) = log softmax(readout(s_i, c_i, y~))   ops::ReadoutLoss::LogProbs [n, Vt]
// each row attending to its own sentence's H. The states live here: Start
// encodes the sentences and makes row b sentence b's s_0; Run computes a
// step for the current rows; Keep makes the rows of the next step from the
// step's results.
//
// The ops are sized for the largest batch (sentences, source positions)
// started so far times rows_per_sentence rows per sentence, and rebuilt
// only when a larger one starts; their shapes, and with them the rounding
// of the results, depend on those sizes and the Context's thread count.
// Not thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "ops/attention.h"
#include "ops/context.h"
#include "ops/decoder_cell.h"
#include "ops/readout_loss.h"
#include "trainer/model/model.h"
#include "trainer/model/params.h"

namespace rnnsearch {

class DecoderStep {
 public:
  // dims: the model's. rows_per_sentence >= 1: the most rows per sentence
  // a step has (greedy decoding: 1; beam search: the beam size).
  DecoderStep(ops::Context& ctx, const ModelDims& dims, int rows_per_sentence);
  ~DecoderStep();
  DecoderStep(const DecoderStep&) = delete;
  DecoderStep& operator=(const DecoderStep&) = delete;

  // Encodes src: [Tx, B] time-major ids, each sentence ending with </s>
  // then <pad>, src_len: [B] in [1, Tx], B >= 1, with `encoder`
  // (Model::Encode: H and s_0, no dropout) and `params` (the constructor's
  // dims; it must outlive the steps). Row b of the first step is sentence
  // b: s_0, and a memory cell of zeros.
  void Start(Model& encoder, const ParamSet& params, const std::int32_t* src,
             const std::int32_t* src_len, int B, int Tx);

  // The step for rows 0..n-1 (1 <= n <= B x rows_per_sentence): row r's
  // last token is prev[r] (<s> at the first step) and its sentence
  // src_of[r] in [0, B).
  void Run(const std::int32_t* prev, const int* src_of, int n);

  // After Run: [n, Vt] the log-probabilities of each row's next token, and
  // [n, Tx] its attention weights.
  const float* logp() const { return logp_.data(); }
  const float* alpha() const { return alpha_.data(); }

  // The rows of the next step: row r (0 <= r < m) continues row from[r]
  // of the last Run, from its new state s_i.
  void Keep(const int* from, int m);

  // Frees the buffers of the batch (the ops stay): for a decoder that runs
  // now and then (validation), so that they take no memory in between.
  // The next Start allocates them again.
  void FreeBuffers();

  // Loops over fewer floats than this (row copies, the ensemble's mean)
  // run on one thread: a parallel region costs more than they do.
  static constexpr std::int64_t kParallelFloats = 16384;

 private:
  struct Ops;
  void Reserve(int B, int Tx);

  ops::Context& ctx_;
  ModelDims d_;
  int rows_per_sentence_;
  std::unique_ptr<Ops> ops_;
  int cap_batch_ = 0, cap_src_ = 0;  // the sizes ops_ was built for
  // The parameters of the current batch.
  ops::AttentionParams ap_;
  ops::RnnParams cp_;
  ops::ReadoutParams rp_;
  const float* tgt_embed_ = nullptr;
  std::vector<std::int32_t> src_len_;  // [B]
  // Buffers that only grow until FreeBuffers (rows: B x rows_per_sentence).
  std::vector<float> h_;                // [Tx, B, 2He]
  std::vector<float> s_, s_next_;       // [rows, Hd] states before / after the step
  std::vector<float> mem_, mem_next_;   // [rows, Hd] LSTM memory cells
  std::vector<float> y_emb_, context_;  // [rows, E], [rows, 2He]
  std::vector<float> alpha_, logp_;     // [rows, Tx], [rows, Vt]
};

}  // namespace rnnsearch
