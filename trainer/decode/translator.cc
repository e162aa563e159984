// Translator (trainer/decode/translator.h): encode, sort, batch, search, decode.
#include "trainer/decode/translator.h"

#include <algorithm>
#include <cassert>

namespace rnnsearch {

Translator::Translator(ops::Context& ctx, const ParamSet& params, const Vocab& src,
                       const Vocab& tgt, const BeamOptions& options, int batch_sentences)
    : Translator(ctx, std::vector<const ParamSet*>{&params}, src, tgt, options, batch_sentences) {}

Translator::Translator(ops::Context& ctx, const std::vector<const ParamSet*>& members,
                       const Vocab& src, const Vocab& tgt, const BeamOptions& options,
                       int batch_sentences)
    : src_(src), tgt_(tgt), batch_sentences_(batch_sentences), search_(ctx, members, options) {
  assert(batch_sentences >= 1);
}

std::vector<LineTranslation> Translator::Translate(const std::vector<std::string>& lines, int part,
                                                   int parts) {
  assert(parts >= 1 && part >= 0 && part < parts);
  std::vector<LineTranslation> out(lines.size());
  std::vector<std::size_t> order;  // the lines with tokens, shortest first
  for (std::size_t i = 0; i < lines.size(); ++i) {
    src_.Encode(lines[i], &out[i].source);
    if (!out[i].source.empty()) {
      order.push_back(i);
    } else if (part == 0) {
      out[i].nbest.push_back(TextHypothesis{});
    }
  }
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return out[a].source.size() < out[b].source.size();
  });
  std::vector<std::vector<std::int32_t>> batch;
  const std::size_t per_batch = static_cast<std::size_t>(batch_sentences_);
  for (std::size_t b = static_cast<std::size_t>(part); b * per_batch < order.size();
       b += static_cast<std::size_t>(parts)) {
    const std::size_t first = b * per_batch;
    const std::size_t last = std::min(order.size(), first + per_batch);
    batch.clear();
    for (std::size_t k = first; k < last; ++k) batch.push_back(out[order[k]].source);
    std::vector<Translation> got = search_.Translate(batch);
    for (std::size_t k = first; k < last; ++k) {
      LineTranslation& line = out[order[k]];
      Translation& t = got[k - first];
      for (Hypothesis& h : t.nbest) {
        TextHypothesis th;
        th.text = tgt_.Decode(h.tokens);
        th.tokens = std::move(h.tokens);
        th.finished = h.finished;
        th.score = h.score;
        th.normalized = h.normalized;
        line.nbest.push_back(std::move(th));
      }
      line.attention = std::move(t.attention);
    }
  }
  return out;
}

}  // namespace rnnsearch
