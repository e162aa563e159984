// BeamSearch (trainer/beam_search.h): the batched decoder loop.
#include "trainer/beam_search.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>

#include "common/error.h"
#include "io/vocab.h"
#include "trainer/beam_select.h"
#include "trainer/model_params.h"

namespace rnnsearch {

void ValidateBeamOptions(const BeamOptions& o) {
  auto bad = [](const std::string& what) { throw UserError("beam search: " + what); };
  if (o.beam_size < 1 || o.beam_size > 1000) {
    bad("beam size (--beam-size): expected 1 to 1000, found " + std::to_string(o.beam_size));
  }
  if (o.nbest < 1 || o.nbest > o.beam_size) {
    bad("n-best (--nbest): expected 1 to the beam size " + std::to_string(o.beam_size) +
        ", found " + std::to_string(o.nbest));
  }
  if (!(o.length_penalty >= 0 && o.length_penalty <= 100)) {
    bad("length penalty (--length-penalty): expected a number in [0, 100], found " +
        std::to_string(o.length_penalty));
  }
  if (!(o.max_len_ratio >= 0 && o.max_len_ratio <= 1000)) {
    bad("maximum length ratio (--max-len-ratio): expected a number in [0, 1000], found " +
        std::to_string(o.max_len_ratio));
  }
  if (o.max_len_offset < 0 || o.max_len_offset > 1000000) {
    bad("maximum length offset (--max-len-offset): expected 0 to 1000000, found " +
        std::to_string(o.max_len_offset));
  }
}

std::int64_t MaxOutputLength(const BeamOptions& o, std::int64_t src_len) {
  const auto scaled =
      static_cast<std::int64_t>(std::floor(o.max_len_ratio * static_cast<double>(src_len)));
  return std::max<std::int64_t>(1, scaled + o.max_len_offset);
}

struct BeamSearch::Ops {
  ops::AttentionDecode att;
  ops::DecoderCellDecode cell;
  ops::ReadoutLoss readout;
};

namespace {

ModelOptions EncodeOnlyOptions() {
  ModelOptions o;
  o.readout_rows = 1;  // the model's own readout is never used here
  o.shape_cache = 1;
  return o;
}

// Copies of fewer floats than this run on one thread (a parallel region
// costs more than they do).
constexpr std::int64_t kParallelFloats = 16384;

template <class T>
T* Grow(std::vector<T>& v, std::int64_t n) {
  if (static_cast<std::int64_t>(v.size()) < n) v.resize(static_cast<std::size_t>(n));
  return v.data();
}

}  // namespace

BeamSearch::BeamSearch(ops::Context& ctx, const ParamSet& params, const BeamOptions& options)
    : ctx_(ctx),
      params_(params),
      options_(options),
      model_(ctx, params.dims(), EncodeOnlyOptions()) {
  ValidateBeamOptions(options);
}

BeamSearch::~BeamSearch() = default;

void BeamSearch::Reserve(int B, int Tx) {
  if (ops_ != nullptr && B <= cap_batch_ && Tx <= cap_src_) return;
  cap_batch_ = std::max(cap_batch_, B);
  cap_src_ = std::max(cap_src_, Tx);
  const ModelDims& d = params_.dims();
  const int rows = cap_batch_ * options_.beam_size;
  const ops::AttentionDims ad{.steps = 0,
                              .src_len = cap_src_,
                              .batch = cap_batch_,
                              .ctx_dim = static_cast<int>(2 * d.He),
                              .dec_dim = static_cast<int>(d.Hd),
                              .att_dim = static_cast<int>(d.A)};
  const ops::DecoderCellDims cd{.steps = 0,
                                .batch = rows,
                                .emb_dim = static_cast<int>(d.E),
                                .ctx_dim = static_cast<int>(2 * d.He),
                                .dec_dim = static_cast<int>(d.Hd)};
  const ops::ReadoutShape rs{.max_rows = rows,
                             .dec = d.Hd,
                             .ctx = 2 * d.He,
                             .emb = d.E,
                             .readout = d.O,
                             .vocab = d.Vt,
                             .training = false};
  ops_.reset();  // free the old ones first
  ops_.reset(new Ops{ops::AttentionDecode(ctx_, AttentionOf(d), ad, rows),
                     ops::DecoderCellDecode(ctx_, CellOf(d), cd), ops::ReadoutLoss(ctx_, rs)});
}

std::vector<Translation> BeamSearch::Translate(
    const std::vector<std::vector<std::int32_t>>& sources) {
  const int B = static_cast<int>(sources.size());
  if (B == 0) return {};
  std::size_t longest = 0;
  for (const auto& s : sources) longest = std::max(longest, s.size());
  const int Tx = static_cast<int>(longest) + 1;
  std::vector<std::int32_t> src(static_cast<std::size_t>(Tx) * B, Vocab::kPad);
  std::vector<std::int32_t> len(static_cast<std::size_t>(B));
  for (int b = 0; b < B; ++b) {
    const auto& s = sources[static_cast<std::size_t>(b)];
    for (std::size_t j = 0; j < s.size(); ++j) {
      if (s[j] < 0 || s[j] >= params_.dims().Vs) {
        throw std::out_of_range("BeamSearch::Translate: source id " + std::to_string(s[j]) +
                                " outside the vocabulary of " +
                                std::to_string(params_.dims().Vs));
      }
      src[j * static_cast<std::size_t>(B) + static_cast<std::size_t>(b)] = s[j];
    }
    src[s.size() * static_cast<std::size_t>(B) + static_cast<std::size_t>(b)] = Vocab::kEos;
    len[static_cast<std::size_t>(b)] = static_cast<std::int32_t>(s.size()) + 1;
  }
  return TranslateBatch(src.data(), len.data(), B, Tx);
}

std::vector<Translation> BeamSearch::TranslateBatch(const std::int32_t* src,
                                                    const std::int32_t* src_len, int B, int Tx) {
  if (B == 0) return {};
  assert(B >= 1 && Tx >= 1);
  Reserve(B, Tx);
  const ModelDims& d = params_.dims();
  const std::int64_t E = d.E, C = 2 * d.He, Hd = d.Hd, V = d.Vt;
  const int K = options_.beam_size;
  const bool lstm = d.lstm;
  const ops::AttentionParams ap = AttentionParams<float>(params_);
  const ops::RnnParams cp = DecoderCellParams<float>(params_);
  const ops::ReadoutParams rp = ReadoutParamsOf(params_);
  const float* Et = params_.Get("tgt_embed.weight");

  // The source side, once.
  std::vector<float>& H = buf_.H;
  Grow(H, std::int64_t{Tx} * B * C);
  std::vector<float> s0(static_cast<std::size_t>(B * Hd));
  model_.Encode(H.data(), s0.data(), params_, src, src_len, B, Tx);
  ops_->att.SetSource(H.data(), Tx, B, ap);

  BeamState st(B, K, options_.alignments ? Tx : 0);
  for (int b = 0; b < B; ++b) {
    st.sentences[static_cast<std::size_t>(b)].max_len = MaxOutputLength(options_, src_len[b]);
  }
  const std::int64_t max_rows = std::int64_t{B} * K;
  float* s = Grow(buf_.s, max_rows * Hd);
  float* s_new = Grow(buf_.s_new, max_rows * Hd);
  float* mem = lstm ? Grow(buf_.mem, max_rows * Hd) : nullptr;
  float* mem_new = lstm ? Grow(buf_.mem_new, max_rows * Hd) : nullptr;
  float* y_emb = Grow(buf_.y_emb, max_rows * E);
  float* ctx = Grow(buf_.ctx, max_rows * C);
  float* alpha = Grow(buf_.alpha, max_rows * Tx);
  float* logp = Grow(buf_.logp, max_rows * V);
  std::memcpy(s, s0.data(), sizeof(float) * static_cast<std::size_t>(B * Hd));
  if (lstm) std::fill(mem, mem + B * Hd, 0.0f);
  st.StartRows();  // one row per sentence: <s>, score 0, on the greedy line

  for (int t = 1; !st.rows.empty(); ++t) {
    const int n = static_cast<int>(st.rows.size());
#pragma omp parallel for schedule(static) if (std::int64_t{n} * E >= kParallelFloats)
    for (int r = 0; r < n; ++r) {
      const std::int32_t y = st.LastToken(r);
      std::memcpy(y_emb + std::int64_t{r} * E, Et + std::int64_t{y} * E, sizeof(float) * E);
    }
    ops_->att.Step(ctx, alpha, s, st.src_of.data(), n, H.data(), src_len, ap);
    ops_->cell.Step(s_new, mem_new, y_emb, ctx, s, mem, n, cp);
    ops_->readout.LogProbs(logp, s_new, ctx, y_emb, rp, n);
    st.Select(t, logp, V, alpha, Tx);  // survivors, finished hypotheses, the next rows
    // The survivors' states: row k continues row parent[k].
    const int m = static_cast<int>(st.rows.size());
#pragma omp parallel for schedule(static) if (std::int64_t{m} * Hd >= kParallelFloats)
    for (int k = 0; k < m; ++k) {
      const std::int64_t from = std::int64_t{st.parent[static_cast<std::size_t>(k)]} * Hd;
      std::memcpy(s + std::int64_t{k} * Hd, s_new + from, sizeof(float) * Hd);
      if (lstm) std::memcpy(mem + std::int64_t{k} * Hd, mem_new + from, sizeof(float) * Hd);
    }
  }
  return st.Results(options_, src_len);
}

}  // namespace rnnsearch
