// BeamSearch (trainer/decode/beam_search.h): the batched decoder loop.
#include "trainer/decode/beam_search.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "common/error.h"
#include "io/vocab.h"
#include "trainer/decode/beam_select.h"

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

namespace {

ModelOptions EncodeOnlyOptions() {
  ModelOptions o;
  o.readout_rows = 1;  // the model's own readout is never used here
  o.shape_cache = 1;
  return o;
}

}  // namespace

BeamSearch::Member::Member(ops::Context& ctx, const ParamSet& p, int beam_size)
    : params(p), model(ctx, p.dims(), EncodeOnlyOptions()), step(ctx, p.dims(), beam_size) {}

BeamSearch::Member::~Member() = default;

BeamSearch::BeamSearch(ops::Context& ctx, const ParamSet& params, const BeamOptions& options)
    : BeamSearch(ctx, std::vector<const ParamSet*>{&params}, options) {}

BeamSearch::BeamSearch(ops::Context& ctx, const std::vector<const ParamSet*>& members,
                       const BeamOptions& options)
    : options_(options) {
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
    members_.push_back(std::make_unique<Member>(ctx, *p, options.beam_size));
  }
}

BeamSearch::~BeamSearch() = default;

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

  for (const auto& m : members_) m->step.Start(m->model, m->params, src, src_len, B, Tx);
  if (M > 1 && static_cast<std::int64_t>(mean_logp_.size()) < max_rows * V) {
    mean_logp_.resize(static_cast<std::size_t>(max_rows * V));
  }
  float* mean = mean_logp_.data();

  BeamState st(B, K, options_.alignments ? Tx : 0);
  for (int b = 0; b < B; ++b) {
    st.sentences[static_cast<std::size_t>(b)].max_len = MaxOutputLength(options_, src_len[b]);
  }
  st.StartRows();  // one row per sentence: <s>, score 0, on the greedy line

  std::vector<std::int32_t> prev;  // [rows] each row's last token
  std::vector<const float*> logps(static_cast<std::size_t>(M));
  for (int t = 1; !st.rows.empty(); ++t) {
    const int n = static_cast<int>(st.rows.size());
    prev.resize(static_cast<std::size_t>(n));
    for (int r = 0; r < n; ++r) prev[static_cast<std::size_t>(r)] = st.LastToken(r);
    for (int i = 0; i < M; ++i) {
      DecoderStep& step = members_[static_cast<std::size_t>(i)]->step;
      step.Run(prev.data(), st.src_of.data(), n);
      logps[static_cast<std::size_t>(i)] = step.logp();
    }
    const float* logp = logps.front();
    if (M > 1) {
      const std::int64_t total = std::int64_t{n} * V;
      const float inv = 1.0f / static_cast<float>(M);
#pragma omp parallel for schedule(static) if (total >= DecoderStep::kParallelFloats)
      for (std::int64_t x = 0; x < total; ++x) {
        float sum = 0.0f;
        for (const float* member : logps) sum += member[x];
        mean[x] = sum * inv;
      }
      logp = mean;
    }
    // Survivors, finished hypotheses, the next rows.
    st.Select(t, logp, V, members_.front()->step.alpha(), Tx);
    // The survivors' states: row k continues row parent[k].
    const int m = static_cast<int>(st.rows.size());
    for (const auto& member : members_) member->step.Keep(st.parent.data(), m);
  }
  return st.Results(options_, src_len);
}

}  // namespace rnnsearch
