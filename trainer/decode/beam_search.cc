// BeamSearch (trainer/decode/beam_search.h): the batched decoder loop.
#include "trainer/decode/beam_search.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>

#include "common/error.h"
#include "io/vocab.h"
#include "trainer/decode/beam_select.h"
#include "trainer/model/model_params.h"

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

BeamSearch::Member::Member(ops::Context& ctx, const ParamSet& p)
    : params(p), model(ctx, p.dims(), EncodeOnlyOptions()) {}

BeamSearch::Member::~Member() = default;

BeamSearch::BeamSearch(ops::Context& ctx, const ParamSet& params, const BeamOptions& options)
    : BeamSearch(ctx, std::vector<const ParamSet*>{&params}, options) {}

BeamSearch::BeamSearch(ops::Context& ctx, const std::vector<const ParamSet*>& members,
                       const BeamOptions& options)
    : ctx_(ctx), options_(options) {
  ValidateBeamOptions(options);
  if (members.empty()) throw std::invalid_argument("BeamSearch: an ensemble of no models");
  for (const ParamSet* p : members) {
    const ModelDims& d = p->dims();
    const ModelDims& first = members.front()->dims();
    if (d.Vs != first.Vs || d.Vt != first.Vt) {
      throw std::invalid_argument(
          "BeamSearch: ensemble members with different vocabulary sizes (source " +
          std::to_string(first.Vs) + " and " + std::to_string(d.Vs) + ", target " +
          std::to_string(first.Vt) + " and " + std::to_string(d.Vt) + ")");
    }
    members_.push_back(std::make_unique<Member>(ctx, *p));
  }
}

BeamSearch::~BeamSearch() = default;

void BeamSearch::Reserve(Member& m, int B, int Tx) {
  if (m.ops != nullptr && B <= m.cap_batch && Tx <= m.cap_src) return;
  m.cap_batch = std::max(m.cap_batch, B);
  m.cap_src = std::max(m.cap_src, Tx);
  const ModelDims& d = m.params.dims();
  const int rows = m.cap_batch * options_.beam_size;
  const ops::AttentionDims ad{.steps = 0,
                              .src_len = m.cap_src,
                              .batch = m.cap_batch,
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
  m.ops.reset();  // free the old ones first
  m.ops.reset(new Ops{ops::AttentionDecode(ctx_, AttentionOf(d), ad, rows),
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
      const std::int64_t Vs = members_.front()->params.dims().Vs;
      if (s[j] < 0 || s[j] >= Vs) {
        throw std::out_of_range("BeamSearch::Translate: source id " + std::to_string(s[j]) +
                                " outside the vocabulary of " + std::to_string(Vs));
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
  const int K = options_.beam_size;
  const std::int64_t max_rows = std::int64_t{B} * K;
  const std::int64_t V = members_.front()->params.dims().Vt;
  const int M = static_cast<int>(members_.size());

  // Per member: the source side, once, and the step buffers.
  struct Step {
    ops::AttentionParams ap;
    ops::RnnParams cp;
    ops::ReadoutParams rp;
    const float* Et;
    std::int64_t E, Hd;
    bool lstm;
    float *H, *s, *s_new, *mem, *mem_new, *y_emb, *ctx, *alpha, *logp;
  };
  std::vector<Step> steps;
  for (const auto& member : members_) {
    Member& m = *member;
    Reserve(m, B, Tx);
    const ModelDims& d = m.params.dims();
    const std::int64_t C = 2 * d.He;
    Buffers& buf = m.buf;
    Step k{AttentionParams<float>(m.params),
           DecoderCellParams<float>(m.params),
           ReadoutParamsOf(m.params),
           m.params.Get("tgt_embed.weight"),
           d.E,
           d.Hd,
           d.lstm,
           Grow(buf.H, std::int64_t{Tx} * B * C),
           Grow(buf.s, max_rows * d.Hd),
           Grow(buf.s_new, max_rows * d.Hd),
           d.lstm ? Grow(buf.mem, max_rows * d.Hd) : nullptr,
           d.lstm ? Grow(buf.mem_new, max_rows * d.Hd) : nullptr,
           Grow(buf.y_emb, max_rows * d.E),
           Grow(buf.ctx, max_rows * C),
           Grow(buf.alpha, max_rows * Tx),
           Grow(buf.logp, max_rows * V)};
    m.model.Encode(k.H, k.s, m.params, src, src_len, B, Tx);  // s_0 of the B sentences
    m.ops->att.SetSource(k.H, Tx, B, k.ap);
    if (k.lstm) std::fill(k.mem, k.mem + B * k.Hd, 0.0f);
    steps.push_back(k);
  }
  float* logp = M == 1 ? steps.front().logp : Grow(mean_logp_, max_rows * V);

  BeamState st(B, K, options_.alignments ? Tx : 0);
  for (int b = 0; b < B; ++b) {
    st.sentences[static_cast<std::size_t>(b)].max_len = MaxOutputLength(options_, src_len[b]);
  }
  st.StartRows();  // one row per sentence: <s>, score 0, on the greedy line

  for (int t = 1; !st.rows.empty(); ++t) {
    const int n = static_cast<int>(st.rows.size());
    for (int i = 0; i < M; ++i) {
      Step& k = steps[static_cast<std::size_t>(i)];
      Ops& op = *members_[static_cast<std::size_t>(i)]->ops;
      const std::int64_t E = k.E;
#pragma omp parallel for schedule(static) if (std::int64_t{n} * E >= kParallelFloats)
      for (int r = 0; r < n; ++r) {
        const std::int32_t y = st.LastToken(r);
        std::memcpy(k.y_emb + std::int64_t{r} * E, k.Et + std::int64_t{y} * E, sizeof(float) * E);
      }
      op.att.Step(k.ctx, k.alpha, k.s, st.src_of.data(), n, k.H, src_len, k.ap);
      op.cell.Step(k.s_new, k.mem_new, k.y_emb, k.ctx, k.s, k.mem, n, k.cp);
      op.readout.LogProbs(k.logp, k.s_new, k.ctx, k.y_emb, k.rp, n);
    }
    if (M > 1) {
      const std::int64_t total = std::int64_t{n} * V;
      const float inv = 1.0f / static_cast<float>(M);
#pragma omp parallel for schedule(static) if (total >= kParallelFloats)
      for (std::int64_t x = 0; x < total; ++x) {
        float sum = 0.0f;
        for (const Step& k : steps) sum += k.logp[x];
        logp[x] = sum * inv;
      }
    }
    st.Select(t, logp, V, steps.front().alpha, Tx);  // survivors, finished, the next rows
    // The survivors' states: row k continues row parent[k].
    const int m = static_cast<int>(st.rows.size());
    for (Step& k : steps) {
      const std::int64_t Hd = k.Hd;
#pragma omp parallel for schedule(static) if (std::int64_t{m} * Hd >= kParallelFloats)
      for (int r = 0; r < m; ++r) {
        const std::int64_t from = std::int64_t{st.parent[static_cast<std::size_t>(r)]} * Hd;
        std::memcpy(k.s + std::int64_t{r} * Hd, k.s_new + from, sizeof(float) * Hd);
        if (k.lstm) std::memcpy(k.mem + std::int64_t{r} * Hd, k.mem_new + from, sizeof(float) * Hd);
      }
    }
  }
  return st.Results(options_, src_len);
}

}  // namespace rnnsearch
