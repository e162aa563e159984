// Forced decoding (trainer/decode/rescorer.h).
#include "trainer/decode/rescorer.h"

#include <algorithm>
#include <stdexcept>

#include "io/batch_reader.h"

namespace rnnsearch {

Rescorer::Rescorer(ops::Context& ctx, const std::vector<const ParamSet*>& members, const Vocab& src,
                   const Vocab& tgt)
    : params_(members), src_(src), tgt_(tgt) {
  if (members.empty()) throw std::invalid_argument("Rescorer: no model");
  ModelOptions options;  // no dropout, no label smoothing
  options.shape_cache = 1;
  for (const ParamSet* p : members)
    models_.push_back(std::make_unique<Model>(ctx, p->dims(), options));
}

Rescorer::~Rescorer() = default;

std::vector<std::vector<std::size_t>> Rescorer::PlanBatches(const std::vector<IdPair>& pairs) {
  // Lengths with </s>.
  auto src_len = [&](std::size_t i) {
    return static_cast<std::int64_t>(pairs[i].source.size()) + 1;
  };
  auto tgt_len = [&](std::size_t i) {
    return static_cast<std::int64_t>(pairs[i].target.size()) + 1;
  };
  std::vector<std::size_t> order(pairs.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    if (src_len(a) != src_len(b)) return src_len(a) < src_len(b);
    if (tgt_len(a) != tgt_len(b)) return tgt_len(a) < tgt_len(b);
    return a < b;
  });
  std::vector<std::vector<std::size_t>> batches;
  std::int64_t tx = 0, ty = 0;
  for (std::size_t i : order) {
    const std::int64_t nx = std::max(tx, src_len(i)), ny = std::max(ty, tgt_len(i));
    if (!batches.empty()) {
      const auto n = static_cast<std::int64_t>(batches.back().size()) + 1;
      if (n <= kBatchSentences && n * nx <= kBatchTokens && n * ny <= kBatchTokens) {
        batches.back().push_back(i);
        tx = nx;
        ty = ny;
        continue;
      }
    }
    batches.push_back({i});  // a pair longer than kBatchTokens is a batch of its own
    tx = src_len(i);
    ty = tgt_len(i);
  }
  return batches;
}

std::vector<PairScore> Rescorer::ScoreBatch(const std::vector<IdPair>& pairs,
                                            const std::vector<std::size_t>& batch) {
  if (batch.empty()) throw std::invalid_argument("Rescorer::ScoreBatch: empty batch");
  const auto B = static_cast<std::int32_t>(batch.size());
  Batch b;
  b.size = B;
  for (std::size_t i : batch) {
    b.src_len.push_back(static_cast<std::int32_t>(pairs.at(i).source.size()) + 1);
    b.tgt_len.push_back(static_cast<std::int32_t>(pairs[i].target.size()) + 1);
    b.global_src_tokens += b.src_len.back();
    b.global_tgt_tokens += b.tgt_len.back();
  }
  b.src_steps = *std::max_element(b.src_len.begin(), b.src_len.end());
  b.tgt_steps = *std::max_element(b.tgt_len.begin(), b.tgt_len.end());
  b.global_sentences = B;
  b.line.assign(static_cast<std::size_t>(B), 0);
  // Time-major [T, B]: the ids, </s>, then <pad> (0).
  auto fill = [&](std::vector<std::int32_t>& out, std::int32_t steps, bool source) {
    out.assign(static_cast<std::size_t>(steps) * static_cast<std::size_t>(B), 0);
    for (std::int32_t k = 0; k < B; ++k) {
      const IdPair& p = pairs[batch[static_cast<std::size_t>(k)]];
      const std::vector<std::int32_t>& ids = source ? p.source : p.target;
      for (std::size_t t = 0; t <= ids.size(); ++t) {
        out[t * static_cast<std::size_t>(B) + static_cast<std::size_t>(k)] =
            t < ids.size() ? ids[t] : Vocab::kEos;
      }
    }
  };
  fill(b.src, b.src_steps, true);
  fill(b.tgt, b.tgt_steps, false);
  std::vector<double> sum(static_cast<std::size_t>(B), 0.0), losses;
  for (std::size_t m = 0; m < models_.size(); ++m) {
    models_[m]->Evaluate(*params_[m], b, 0.0f, &losses);
    for (std::size_t k = 0; k < sum.size(); ++k) sum[k] -= losses[k];
  }
  std::vector<PairScore> out(sum.size());
  for (std::size_t k = 0; k < out.size(); ++k) {
    out[k] = {sum[k] / static_cast<double>(models_.size()), b.tgt_len[k]};
  }
  return out;
}

PairScore Rescorer::Score(const std::vector<std::int32_t>& source,
                          const std::vector<std::int32_t>& target) {
  return ScoreBatch({IdPair{source, target}}, {0}).front();
}

IdPair Rescorer::Encode(std::string_view source, std::string_view target) const {
  return {src_.Encode(source), tgt_.Encode(target)};
}

PairScore Rescorer::Score(std::string_view source, std::string_view target) {
  const IdPair p = Encode(source, target);
  return Score(p.source, p.target);
}

}  // namespace rnnsearch
