#include "trainer/decode/greedy.h"

#include <algorithm>
#include <cassert>
#include <cmath>

#include "io/vocab.h"

namespace rnnsearch {

GreedyDecoder::GreedyDecoder(ops::Context& ctx, Model& model, const GreedyOptions& options)
    : model_(model), options_(options), step_(ctx, model.dims(), 1) {}

GreedyDecoder::~GreedyDecoder() = default;

std::int32_t BestToken(const float* x, std::int64_t vocab) {
  std::int64_t best = Vocab::kUnk;
  for (std::int64_t k = best + 1; k < vocab; ++k) {
    if (k != Vocab::kBos && x[k] > x[best]) best = k;
  }
  return static_cast<std::int32_t>(best);
}

std::vector<std::vector<std::int32_t>> GreedyDecoder::Translate(const ParamSet& params,
                                                                const std::int32_t* src,
                                                                const std::int32_t* src_len, int B,
                                                                int Tx) {
  assert(B >= 1 && Tx >= 1);
  const std::int64_t Vt = model_.dims().Vt;
  step_.Start(model_, params, src, src_len, B, Tx);
  const auto n_b = static_cast<std::size_t>(B);
  std::vector<int> src_of(n_b);                      // [n] sentence of each row
  std::vector<int> from(n_b);                        // [n] the row each kept row continues
  std::vector<std::int32_t> prev(n_b, Vocab::kBos);  // [n] y_{i-1}
  std::vector<int> limit(n_b);
  for (int b = 0; b < B; ++b) {
    src_of[static_cast<std::size_t>(b)] = b;
    limit[static_cast<std::size_t>(b)] =
        std::max(1, static_cast<int>(std::floor(options_.max_len_ratio * src_len[b])) +
                        options_.max_len_extra);
  }
  std::vector<std::vector<std::int32_t>> out(n_b);
  int n = B;
  for (int step = 1; n > 0; ++step) {
    step_.Run(prev.data(), src_of.data(), n);
    const float* logp = step_.logp();
    // Choose, then keep the unfinished rows at the front, in order.
    int kept = 0;
    for (int k = 0; k < n; ++k) {
      const auto kk = static_cast<std::size_t>(k);
      const int b = src_of[kk];
      const std::int32_t tok = BestToken(logp + kk * static_cast<std::size_t>(Vt), Vt);
      if (tok == Vocab::kEos) continue;
      out[static_cast<std::size_t>(b)].push_back(tok);
      if (step >= limit[static_cast<std::size_t>(b)]) continue;
      const auto kp = static_cast<std::size_t>(kept);
      from[kp] = k;
      src_of[kp] = b;
      prev[kp] = tok;
      ++kept;
    }
    step_.Keep(from.data(), kept);
    n = kept;
  }
  step_.FreeBuffers();  // validation decodes now and then: no memory held in between
  return out;
}

}  // namespace rnnsearch
