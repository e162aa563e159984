// Beam search (trainer/decode/beam_search.h) on small random models of every
// implemented docs/model.md variant (all but the conditional GRU decoder):
// beam size 1 is greedy decoding (trainer/decode/greedy.h);
// every returned score is the model's own log-probability of the
// hypothesis (Model::Evaluate, the training path, as the oracle); the best
// hypothesis never scores below greedy's; n-best lists are sorted and
// distinct; sentences decode the same alone as in a batch; the length
// limit; the attention of the best hypothesis.
#include "trainer/decode/beam_search.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <set>

#include "common/error.h"
#include "io/vocab.h"
#include "tests/trainer/model_fixture.h"
#include "trainer/decode/beam_select.h"
#include "trainer/decode/greedy.h"
#include "trainer/model/model.h"

namespace rnnsearch {
namespace {

using testing::AllVariants;
using testing::ScoreBound;
using testing::TinyDims;
using testing::Variant;

// Random parameters, sharper than the model tests' (so that beams differ
// from greedy), with </s> made likely enough that most hypotheses finish
// and, as training does, <pad> and <s> (never targets) made unlikely: the
// loss of Model::Evaluate skips <pad> targets, so it could not score them.
ParamSet RandomModel(const ModelDims& dims, std::uint32_t seed, float eos_bias = 1.5f) {
  ParamSet p(dims);
  testing::RandomParams(p, seed, 1.0);
  float* bias = p.Get("output.bias");
  bias[Vocab::kEos] += eos_bias;
  bias[Vocab::kPad] -= 30.0f;
  bias[Vocab::kBos] -= 30.0f;
  return p;
}

// Source sentences of these lengths (without </s>), ids of real words.
std::vector<std::vector<std::int32_t>> Sources(const std::vector<int>& lengths, const ModelDims& d,
                                               std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> id(Vocab::kNumSpecial, static_cast<int>(d.Vs) - 1);
  std::vector<std::vector<std::int32_t>> out;
  for (int n : lengths) {
    std::vector<std::int32_t> s;
    for (int j = 0; j < n; ++j) s.push_back(id(rng));
    out.push_back(s);
  }
  return out;
}

// The model-format batch of `sources` (</s> appended, time-major, padded).
struct SourceBatch {
  std::vector<std::int32_t> src, len;
  int B = 0, Tx = 0;
};
SourceBatch Pack(const std::vector<std::vector<std::int32_t>>& sources) {
  SourceBatch p;
  p.B = static_cast<int>(sources.size());
  for (const auto& s : sources) p.Tx = std::max(p.Tx, static_cast<int>(s.size()) + 1);
  p.src.assign(static_cast<std::size_t>(p.B * p.Tx), Vocab::kPad);
  for (int b = 0; b < p.B; ++b) {
    const auto& s = sources[static_cast<std::size_t>(b)];
    for (std::size_t j = 0; j <= s.size(); ++j) {
      p.src[j * p.B + b] = j < s.size() ? s[j] : Vocab::kEos;
    }
    p.len.push_back(static_cast<std::int32_t>(s.size()) + 1);
  }
  return p;
}

// log p(target | source) by the training path (Model::Evaluate): the
// negated loss of a one-sentence batch whose target is `tokens` (+ </s>).
double ModelScore(Model& model, const ParamSet& params, const std::vector<std::int32_t>& source,
                  const std::vector<std::int32_t>& tokens, bool finished) {
  std::vector<std::int32_t> tgt = tokens;
  if (finished) tgt.push_back(Vocab::kEos);
  if (tgt.empty()) return 0;
  Batch b;
  b.size = 1;
  b.src = source;
  b.src.push_back(Vocab::kEos);
  b.src_steps = static_cast<std::int32_t>(b.src.size());
  b.src_len = {b.src_steps};
  b.tgt = tgt;
  b.tgt_steps = static_cast<std::int32_t>(tgt.size());
  b.tgt_len = {b.tgt_steps};
  b.global_sentences = 1;
  b.global_src_tokens = b.src_steps;
  b.global_tgt_tokens = b.tgt_steps;
  return -model.Evaluate(params, b).loss;
}

double Normalized(double score, int length, double alpha) {
  return alpha == 0 ? score : score / std::pow(static_cast<double>(length), alpha);
}

const std::vector<int> kLengths = {3, 0, 7, 1, 9, 4, 12, 2};

TEST(TopTokens, OrderTiesNanNoPadOrBos) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  // ids:          <pad>  <unk>  <s>    </s>   4     5       6
  const float x[] = {0.5f, -0.5f, 0.9f, -0.5f, nan, -0.25f, -3.0f};
  TokenScore out[7];
  ASSERT_EQ(TopTokens(x, 7, 3, out), 3);
  EXPECT_EQ(out[0].id, 5);
  EXPECT_EQ(out[1].id, 1);  // equal values: the lower id first
  EXPECT_EQ(out[2].id, 3);
  ASSERT_EQ(TopTokens(x, 7, 7, out), 5);  // never <pad> or <s>
  EXPECT_EQ(out[3].id, 6);
  EXPECT_EQ(out[4].id, 4);  // NaN last, as -infinity
  EXPECT_EQ(TopTokens(x, 3, 5, out), 1);
  EXPECT_EQ(out[0].id, 1);
  EXPECT_EQ(TopTokens(x, 7, 0, out), 0);
}

TEST(BeamSearch, BeamOneIsGreedyForEveryVariant) {
  ops::Context ctx(1);
  for (const Variant& v : AllVariants()) {
    const ModelDims d = TinyDims(v);
    const ParamSet params = RandomModel(d, 11);
    const auto sources = Sources(kLengths, d, 5);
    const SourceBatch sb = Pack(sources);
    Model model(ctx, d, ModelOptions{});
    GreedyDecoder greedy(ctx, model);
    const auto want = greedy.Translate(params, sb.src.data(), sb.len.data(), sb.B, sb.Tx);
    BeamOptions o;
    o.beam_size = 1;
    BeamSearch search(ctx, params, o);
    const auto got = search.Translate(sources);
    const auto got_batch = search.TranslateBatch(sb.src.data(), sb.len.data(), sb.B, sb.Tx);
    ASSERT_EQ(got.size(), sources.size());
    int finished = 0;
    for (std::size_t b = 0; b < sources.size(); ++b) {
      ASSERT_EQ(got[b].nbest.size(), 1u);
      EXPECT_EQ(got[b].nbest[0].tokens, want[b]) << v.Name() << " sentence " << b;
      EXPECT_EQ(got_batch[b].nbest[0].tokens, want[b]) << v.Name() << " sentence " << b;
      finished += got[b].nbest[0].finished ? 1 : 0;
    }
    EXPECT_GT(finished, 0) << v.Name() << ": the test needs sentences that end with </s>";
  }
}

TEST(BeamSearch, ScoresAreTheModelsLogProbabilities) {
  ops::Context ctx(1);
  for (const Variant& v : AllVariants()) {
    const ModelDims d = TinyDims(v);
    const ParamSet params = RandomModel(d, 21);
    const auto sources = Sources(kLengths, d, 6);
    Model model(ctx, d, ModelOptions{});
    BeamOptions o;
    o.beam_size = 4;
    o.nbest = 4;
    o.length_penalty = 0.7;
    BeamSearch search(ctx, params, o);
    const auto got = search.Translate(sources);
    for (std::size_t b = 0; b < sources.size(); ++b) {
      for (const Hypothesis& h : got[b].nbest) {
        const double want = ModelScore(model, params, sources[b], h.tokens, h.finished);
        const std::size_t sl = sources[b].size() + 1, tl = h.tokens.size() + 1;
        EXPECT_NEAR(h.score, want, ScoreBound(d, sl, tl, want)) << v.Name();
        EXPECT_NEAR(h.normalized, Normalized(h.score, h.length(), 0.7), 1e-12);
      }
    }
  }
}

// An ensemble's hypothesis score is the mean of its members' own
// log-probabilities of it (each by the training path); members of other
// variants and sizes combine as long as the vocabularies agree.
TEST(BeamSearch, EnsembleScoresAreTheMeanOfTheMembers) {
  ops::Context ctx(1);
  const std::vector<Variant> variants = AllVariants();
  for (std::size_t i = 0; i < variants.size(); ++i) {
    const Variant& v = variants[i];
    const Variant& w = variants[(i + 1) % variants.size()];
    const ModelDims d1 = TinyDims(v), d2 = TinyDims(w);
    ASSERT_EQ(d1.Vt, d2.Vt);
    const ParamSet p1 = RandomModel(d1, 31), p2 = RandomModel(d2, 32);
    const auto sources = Sources(kLengths, d1, 8);
    Model m1(ctx, d1, ModelOptions{}), m2(ctx, d2, ModelOptions{});
    BeamOptions o;
    o.beam_size = 4;
    o.nbest = 3;
    BeamSearch search(ctx, std::vector<const ParamSet*>{&p1, &p2}, o);
    const auto got = search.Translate(sources);
    int differs = 0;  // hypotheses where the members disagree (the mean is not trivially one)
    for (std::size_t b = 0; b < sources.size(); ++b) {
      ASSERT_FALSE(got[b].nbest.empty());
      for (const Hypothesis& h : got[b].nbest) {
        const double s1 = ModelScore(m1, p1, sources[b], h.tokens, h.finished);
        const double s2 = ModelScore(m2, p2, sources[b], h.tokens, h.finished);
        const double want = 0.5 * (s1 + s2);
        const std::size_t sl = sources[b].size() + 1, tl = h.tokens.size() + 1;
        const double tol = std::max(ScoreBound(d1, sl, tl, want), ScoreBound(d2, sl, tl, want));
        EXPECT_NEAR(h.score, want, tol) << v.Name() << " + " << w.Name();
        if (std::abs(s1 - s2) > 1e-3) ++differs;
      }
    }
    EXPECT_GT(differs, 0) << v.Name() << " + " << w.Name();
  }
}

// An ensemble of one model twice decodes exactly as the model alone.
TEST(BeamSearch, EnsembleOfTheSameModelIsTheModel) {
  ops::Context ctx(1);
  const ModelDims d = TinyDims(Variant{});
  const ParamSet params = RandomModel(d, 41);
  const auto sources = Sources(kLengths, d, 9);
  BeamOptions o;
  o.beam_size = 5;
  o.nbest = 5;
  BeamSearch alone(ctx, params, o);
  BeamSearch twice(ctx, std::vector<const ParamSet*>{&params, &params}, o);
  const auto a = alone.Translate(sources), b = twice.Translate(sources);
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t k = 0; k < a.size(); ++k) {
    ASSERT_EQ(a[k].nbest.size(), b[k].nbest.size());
    for (std::size_t h = 0; h < a[k].nbest.size(); ++h) {
      EXPECT_EQ(a[k].nbest[h].tokens, b[k].nbest[h].tokens);
      EXPECT_EQ(a[k].nbest[h].score, b[k].nbest[h].score);
    }
  }
}

TEST(BeamSearch, EnsembleRejectsOtherVocabularySizes) {
  ops::Context ctx(1);
  ModelDims d = TinyDims(Variant{});
  const ParamSet p1 = RandomModel(d, 1);
  d.Vt += 1;
  const ParamSet p2 = RandomModel(d, 2);
  EXPECT_THROW(BeamSearch(ctx, std::vector<const ParamSet*>{&p1, &p2}, BeamOptions{}),
               std::invalid_argument);
  EXPECT_THROW(BeamSearch(ctx, std::vector<const ParamSet*>{}, BeamOptions{}),
               std::invalid_argument);
}

TEST(BeamSearch, BestNeverScoresBelowGreedy) {
  ops::Context ctx(1);
  int improved = 0, compared = 0;
  for (const Variant& v : AllVariants()) {
    const ModelDims d = TinyDims(v);
    const ParamSet params = RandomModel(d, 31);
    const auto sources = Sources(kLengths, d, 7);
    const SourceBatch sb = Pack(sources);
    Model model(ctx, d, ModelOptions{});
    GreedyDecoder greedy(ctx, model);
    const auto g = greedy.Translate(params, sb.src.data(), sb.len.data(), sb.B, sb.Tx);
    for (double alpha : {0.0, 1.0}) {
      for (int K : {2, 3, 5, 8}) {
        BeamOptions o;
        o.beam_size = K;
        o.length_penalty = alpha;
        BeamSearch search(ctx, params, o);
        const auto got = search.Translate(sources);
        for (std::size_t b = 0; b < sources.size(); ++b) {
          const auto limit = MaxOutputLength(o, sb.len[b]);
          const bool g_finished = static_cast<std::int64_t>(g[b].size()) < limit;
          const double g_score = ModelScore(model, params, sources[b], g[b], g_finished);
          const int g_len = static_cast<int>(g[b].size()) + (g_finished ? 1 : 0);
          const double g_norm = Normalized(g_score, g_len, alpha);
          const Hypothesis& best = got[b].nbest[0];
          const double tol = ScoreBound(d, sources[b].size() + 1, g[b].size() + 1, g_norm);
          EXPECT_GE(best.normalized, g_norm - tol)
              << v.Name() << " K=" << K << " alpha=" << alpha << " sentence " << b;
          ++compared;
          if (best.normalized > g_norm + 1e-3) ++improved;
        }
      }
    }
  }
  // Beam search must actually search: it beats greedy on many sentences.
  EXPECT_GT(improved, compared / 4) << improved << " of " << compared;
}

TEST(BeamSearch, NbestListsAreSortedAndDistinct) {
  ops::Context ctx(1);
  const ModelDims d = TinyDims({});
  const ParamSet params = RandomModel(d, 41);
  const auto sources = Sources(kLengths, d, 8);
  for (double alpha : {0.0, 0.6, 1.0}) {
    BeamOptions o;
    o.beam_size = 6;
    o.nbest = 5;
    o.length_penalty = alpha;
    BeamSearch search(ctx, params, o);
    const auto got = search.Translate(sources);
    for (const Translation& t : got) {
      ASSERT_GE(t.nbest.size(), 1u);
      EXPECT_LE(t.nbest.size(), 5u);
      std::set<std::pair<std::vector<std::int32_t>, bool>> seen;
      for (std::size_t k = 0; k < t.nbest.size(); ++k) {
        if (k > 0) {
          EXPECT_LE(t.nbest[k].normalized, t.nbest[k - 1].normalized);
        }
        EXPECT_TRUE(seen.insert({t.nbest[k].tokens, t.nbest[k].finished}).second);
      }
    }
    // With a vocabulary larger than the beam every slot gets a hypothesis.
    EXPECT_EQ(got[4].nbest.size(), 5u);
  }
}

TEST(BeamSearch, SentencesDecodeAsAloneInABatch) {
  ops::Context ctx(1);
  const Variant v{"lstm", "general", 2, false};
  const ModelDims d = TinyDims(v);
  const ParamSet params = RandomModel(d, 51);
  const auto sources = Sources(kLengths, d, 9);
  BeamOptions o;
  o.beam_size = 5;
  o.nbest = 3;
  BeamSearch search(ctx, params, o);
  const auto together = search.Translate(sources);
  for (std::size_t b = 0; b < sources.size(); ++b) {
    const auto alone = search.Translate({sources[b]});
    ASSERT_EQ(alone[0].nbest.size(), together[b].nbest.size());
    for (std::size_t k = 0; k < alone[0].nbest.size(); ++k) {
      EXPECT_EQ(alone[0].nbest[k].tokens, together[b].nbest[k].tokens) << "sentence " << b;
      const double want = together[b].nbest[k].score;
      const std::size_t tl = together[b].nbest[k].tokens.size() + 1;
      EXPECT_NEAR(alone[0].nbest[k].score, want,
                  ScoreBound(params.dims(), sources[b].size() + 1, tl, want));
    }
  }
  EXPECT_TRUE(search.Translate({}).empty());
}

TEST(BeamSearch, LengthLimit) {
  ops::Context ctx(1);
  const ModelDims d = TinyDims({});
  BeamOptions o;
  o.beam_size = 3;
  o.nbest = 3;
  o.max_len_ratio = 0.5;
  o.max_len_offset = 2;
  // </s> never wins: every hypothesis is cut at the limit.
  {
    const ParamSet params = RandomModel(d, 61, -30.0f);
    BeamSearch search(ctx, params, o);
    const auto sources = Sources(kLengths, d, 10);
    const auto got = search.Translate(sources);
    for (std::size_t b = 0; b < sources.size(); ++b) {
      const std::int64_t limit = static_cast<std::int64_t>(sources[b].size() + 1) / 2 + 2;
      EXPECT_EQ(MaxOutputLength(o, static_cast<std::int64_t>(sources[b].size()) + 1), limit);
      for (const Hypothesis& h : got[b].nbest) {
        EXPECT_FALSE(h.finished);
        EXPECT_EQ(static_cast<std::int64_t>(h.tokens.size()), limit);
      }
    }
  }
  // </s> always wins: empty translations, finished.
  {
    const ParamSet params = RandomModel(d, 62, 30.0f);
    BeamSearch search(ctx, params, o);
    const auto got = search.Translate(Sources({0, 5}, d, 11));
    for (const Translation& t : got) {
      EXPECT_TRUE(t.nbest[0].finished);
      EXPECT_TRUE(t.nbest[0].tokens.empty());
      EXPECT_EQ(t.nbest[0].length(), 1);
    }
  }
  o.max_len_ratio = 0;
  o.max_len_offset = 0;
  EXPECT_EQ(MaxOutputLength(o, 40), 1);  // at least one token
}

TEST(BeamSearch, AttentionOfTheBest) {
  ops::Context ctx(1);
  for (const Variant& v : AllVariants()) {
    const ModelDims d = TinyDims(v);
    const ParamSet params = RandomModel(d, 71);
    const auto sources = Sources(kLengths, d, 12);
    BeamOptions o;
    o.beam_size = 3;
    BeamSearch plain(ctx, params, o);
    o.alignments = true;
    BeamSearch with(ctx, params, o);
    const auto a = plain.Translate(sources);
    const auto b = with.Translate(sources);
    for (std::size_t s = 0; s < sources.size(); ++s) {
      EXPECT_TRUE(a[s].attention.empty());
      EXPECT_EQ(a[s].nbest[0].tokens, b[s].nbest[0].tokens);
      const int rows = b[s].nbest[0].length(), cols = b[s].src_len;
      EXPECT_EQ(cols, static_cast<int>(sources[s].size()) + 1);
      ASSERT_EQ(b[s].attention.size(), static_cast<std::size_t>(rows * cols)) << v.Name();
      for (int i = 0; i < rows; ++i) {
        double sum = 0;
        for (int j = 0; j < cols; ++j) {
          const float w = b[s].attention[static_cast<std::size_t>(i * cols + j)];
          EXPECT_GE(w, 0.0f);
          sum += w;
        }
        EXPECT_NEAR(sum, 1.0, testing::SumTolerance(cols))
            << v.Name() << " sentence " << s << " row " << i;
      }
    }
  }
}

TEST(BeamSearch, RejectsBadOptions) {
  BeamOptions o;
  o.beam_size = 0;
  EXPECT_THROW(ValidateBeamOptions(o), UserError);
  o.beam_size = 3;
  o.nbest = 4;
  EXPECT_THROW(ValidateBeamOptions(o), UserError);
  o.nbest = 3;
  o.length_penalty = -1;
  EXPECT_THROW(ValidateBeamOptions(o), UserError);
  o.length_penalty = 1;
  o.max_len_offset = -1;
  EXPECT_THROW(ValidateBeamOptions(o), UserError);
  o.max_len_offset = 0;
  EXPECT_NO_THROW(ValidateBeamOptions(o));
}

}  // namespace
}  // namespace rnnsearch
