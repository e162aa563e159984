#include "trainer/decode/greedy.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstring>

#include "io/vocab.h"
#include "ops/attention.h"
#include "ops/decoder_cell.h"
#include "ops/embedding.h"
#include "ops/readout_loss.h"
#include "trainer/model/model_params.h"

namespace rnnsearch {

struct GreedyDecoder::Ops {
  ops::AttentionDecode att;
  ops::DecoderCellDecode cell;
  ops::ReadoutLoss readout;
  ops::Embedding embed;
};

GreedyDecoder::GreedyDecoder(ops::Context& ctx, Model& model, const GreedyOptions& options)
    : ctx_(ctx), model_(model), options_(options) {}

GreedyDecoder::~GreedyDecoder() = default;

std::int32_t BestToken(const float* x, std::int64_t vocab) {
  std::int64_t best = Vocab::kUnk;
  for (std::int64_t k = best + 1; k < vocab; ++k) {
    if (k != Vocab::kBos && x[k] > x[best]) best = k;
  }
  return static_cast<std::int32_t>(best);
}

void GreedyDecoder::Reserve(int B, int Tx) {
  if (ops_ != nullptr && B <= max_b_ && Tx <= max_tx_) return;
  max_b_ = std::max(B, max_b_);
  max_tx_ = std::max(Tx, max_tx_);
  const ModelDims& d = model_.dims();
  const int C = static_cast<int>(2 * d.He), Hd = static_cast<int>(d.Hd);
  const ops::AttentionDims ad{.steps = 0,
                              .src_len = max_tx_,
                              .batch = max_b_,
                              .ctx_dim = C,
                              .dec_dim = Hd,
                              .att_dim = static_cast<int>(d.A)};
  const ops::DecoderCellDims cd{
      .steps = 0, .batch = max_b_, .emb_dim = static_cast<int>(d.E), .ctx_dim = C, .dec_dim = Hd};
  const ops::ReadoutShape rs{.max_rows = max_b_,
                             .dec = d.Hd,
                             .ctx = C,
                             .emb = d.E,
                             .readout = d.O,
                             .vocab = d.Vt,
                             .training = false};
  ops_.reset();  // free the old ops first
  ops_ = std::unique_ptr<Ops>(new Ops{ops::AttentionDecode(ctx_, AttentionOf(d), ad, max_b_),
                                      ops::DecoderCellDecode(ctx_, CellOf(d), cd),
                                      ops::ReadoutLoss(ctx_, rs), ops::Embedding(ctx_, d.Vt, d.E)});
}

std::vector<std::vector<std::int32_t>> GreedyDecoder::Translate(const ParamSet& params,
                                                                const std::int32_t* src,
                                                                const std::int32_t* src_len, int B,
                                                                int Tx) {
  assert(B >= 1 && Tx >= 1);
  const ModelDims& d = model_.dims();
  const std::int64_t C = 2 * d.He, Hd = d.Hd, E = d.E, Vt = d.Vt;
  Reserve(B, Tx);
  Ops& o = *ops_;
  const auto n_b = static_cast<std::size_t>(B);
  std::vector<float> H(static_cast<std::size_t>(Tx) * n_b * static_cast<std::size_t>(C));
  std::vector<float> s(n_b * static_cast<std::size_t>(Hd));  // [n, Hd] s_{i-1}, then s_i
  model_.Encode(H.data(), s.data(), params, src, src_len, B, Tx);
  const ops::AttentionParams ap = AttentionParams<float>(params);
  const ops::RnnParams cp = DecoderCellParams<float>(params);
  const ops::ReadoutParams rp = ReadoutParamsOf(params);
  const float* tgt_embed = params.Get("tgt_embed.weight");
  o.att.SetSource(H.data(), Tx, B, ap);

  std::vector<float> mem;  // [n, Hd] LSTM memory cell, from 0
  if (d.lstm) mem.assign(s.size(), 0.0f);
  std::vector<float> y(n_b * static_cast<std::size_t>(E));
  std::vector<float> ctx(n_b * static_cast<std::size_t>(C));
  std::vector<float> alphas(n_b * static_cast<std::size_t>(Tx));
  std::vector<float> logp(n_b * static_cast<std::size_t>(Vt));
  std::vector<int> src_of(n_b);                      // [n] sentence of each row
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
    o.embed.Forward(y.data(), prev.data(), tgt_embed, n);
    o.att.Step(ctx.data(), alphas.data(), s.data(), src_of.data(), n, H.data(), src_len, ap);
    float* m = d.lstm ? mem.data() : nullptr;
    o.cell.Step(s.data(), m, y.data(), ctx.data(), s.data(), m, n, cp);
    o.readout.LogProbs(logp.data(), s.data(), ctx.data(), y.data(), rp, n);
    // Choose, then keep the unfinished rows at the front, in order.
    int kept = 0;
    for (int k = 0; k < n; ++k) {
      const auto kk = static_cast<std::size_t>(k);
      const int b = src_of[kk];
      const std::int32_t tok = BestToken(logp.data() + kk * static_cast<std::size_t>(Vt), Vt);
      if (tok == Vocab::kEos) continue;
      out[static_cast<std::size_t>(b)].push_back(tok);
      if (step >= limit[static_cast<std::size_t>(b)]) continue;
      if (kept != k) {
        const auto kp = static_cast<std::size_t>(kept);
        std::memcpy(&s[kp * Hd], &s[kk * Hd], sizeof(float) * static_cast<std::size_t>(Hd));
        if (d.lstm)
          std::memcpy(&mem[kp * Hd], &mem[kk * Hd], sizeof(float) * static_cast<std::size_t>(Hd));
        src_of[kp] = b;
      }
      prev[static_cast<std::size_t>(kept)] = tok;
      ++kept;
    }
    n = kept;
  }
  return out;
}

}  // namespace rnnsearch
