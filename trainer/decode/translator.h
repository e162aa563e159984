// Text in, text out, over trainer/decode/beam_search.h: each line is encoded with
// the source vocabulary (io/vocab.h: SentencePiece or words), the lines are
// sorted by length and decoded in batches of at most `batch_sentences`
// (little padding, one beam search per batch), and the hypotheses are
// decoded to text with the target vocabulary, in the input's order.
//
// Work can be shared by processes: PlanBatches plans the batches over all
// lines, the same way for any number of processes, and each process
// decodes some of them with TranslateBatch (rnnsearch translate gives
// batch b to rank b mod N through io/scatter.h; neighbouring batches have
// about the same lengths, so the ranks get about equal work). Every batch
// is then exactly the batch a single process decodes, so the results are
// bit-identical for any number of processes (the ops round the same way
// for the same shapes and thread count).
//
// A line without tokens (empty, or only whitespace) is not decoded: its
// translation is one empty hypothesis with score 0 and no attention. A line
// longer than the model was trained on is translated whole (no
// truncation); the output length limit of BeamOptions still applies.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "io/vocab.h"
#include "ops/context.h"
#include "trainer/decode/beam_search.h"
#include "trainer/model/params.h"

namespace rnnsearch {

struct TextHypothesis {
  std::string text;                  // target Vocab::Decode of the tokens
  std::vector<std::int32_t> tokens;  // without </s>
  bool finished = true;              // ended with </s>
  double score = 0;                  // sum of log-probabilities
  double normalized = 0;             // the ranking score (beam_search.h)
};

struct LineTranslation {
  std::vector<std::int32_t> source;   // the line's ids, without </s>
  std::vector<TextHypothesis> nbest;  // best first, at least one
  // [nbest[0] tokens + finished, source + 1] attention of the best, when
  // BeamOptions::alignments (empty otherwise and for lines without tokens).
  std::vector<float> attention;
};

class Translator {
 public:
  // `params`, `src` and `tgt` must outlive the translator. batch_sentences >= 1.
  Translator(ops::Context& ctx, const ParamSet& params, const Vocab& src, const Vocab& tgt,
             const BeamOptions& options, int batch_sentences);
  // An ensemble (trainer/decode/beam_search.h): members that share the vocabularies.
  Translator(ops::Context& ctx, const std::vector<const ParamSet*>& members, const Vocab& src,
             const Vocab& tgt, const BeamOptions& options, int batch_sentences);

  // The batches of `lines` as lists of line indices: first, if there are
  // any, the lines without tokens (in input order); then the other lines,
  // sorted by their number of source subwords (input order among equal
  // numbers) and cut into runs of `batch_sentences` (>= 1).
  static std::vector<std::vector<std::size_t>> PlanBatches(const Vocab& src,
                                                           const std::vector<std::string>& lines,
                                                           int batch_sentences);

  // One translation per line, in order, the lines with tokens decoded as
  // one batch in their order.
  std::vector<LineTranslation> TranslateBatch(const std::vector<std::string>& lines);

  // One translation per line, in order: TranslateBatch of each batch of
  // PlanBatches.
  std::vector<LineTranslation> Translate(const std::vector<std::string>& lines);

 private:
  const Vocab& src_;
  const Vocab& tgt_;
  int batch_sentences_;
  BeamSearch search_;
};

}  // namespace rnnsearch
