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

std::vector<std::vector<std::size_t>> Translator::PlanBatches(const Vocab& src,
                                                              const std::vector<std::string>& lines,
                                                              int batch_sentences) {
  assert(batch_sentences >= 1);
  std::vector<std::size_t> empty, order;  // order: the lines with tokens
  std::vector<std::size_t> length(lines.size());
  std::vector<std::int32_t> ids;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    ids.clear();  // Encode appends
    src.Encode(lines[i], &ids);
    length[i] = ids.size();
    (ids.empty() ? empty : order).push_back(i);
  }
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return length[a] < length[b]; });
  std::vector<std::vector<std::size_t>> batches;
  if (!empty.empty()) batches.push_back(std::move(empty));
  const auto per_batch = static_cast<std::size_t>(batch_sentences);
  for (std::size_t first = 0; first < order.size(); first += per_batch) {
    const auto at = [&](std::size_t k) { return order.begin() + static_cast<std::ptrdiff_t>(k); };
    batches.emplace_back(at(first), at(std::min(order.size(), first + per_batch)));
  }
  return batches;
}

std::vector<LineTranslation> Translator::TranslateBatch(const std::vector<std::string>& lines) {
  std::vector<LineTranslation> out(lines.size());
  std::vector<std::size_t> rows;  // the lines with tokens
  std::vector<std::vector<std::int32_t>> batch;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    src_.Encode(lines[i], &out[i].source);
    if (out[i].source.empty()) {
      out[i].nbest.push_back(TextHypothesis{});
    } else {
      rows.push_back(i);
      batch.push_back(out[i].source);
    }
  }
  if (batch.empty()) return out;
  std::vector<Translation> got = search_.Translate(batch);
  for (std::size_t k = 0; k < rows.size(); ++k) {
    LineTranslation& line = out[rows[k]];
    Translation& t = got[k];
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
  return out;
}

std::vector<LineTranslation> Translator::Translate(const std::vector<std::string>& lines) {
  std::vector<LineTranslation> out(lines.size());
  for (const std::vector<std::size_t>& batch : PlanBatches(src_, lines, batch_sentences_)) {
    std::vector<std::string> part;
    for (std::size_t i : batch) part.push_back(lines[i]);
    std::vector<LineTranslation> got = TranslateBatch(part);
    for (std::size_t k = 0; k < batch.size(); ++k) out[batch[k]] = std::move(got[k]);
  }
  return out;
}

}  // namespace rnnsearch
