// Forced decoding (trainer/decode/rescorer.h): every finished hypothesis of the
// beam search, of one model and of ensembles of two different variants,
// gets its beam score back, scored alone and in the planned batches; text
// is scored as its encoding; empty sources and targets are scored, not
// skipped; the batch plan covers every pair once within its limits.
#include "trainer/decode/rescorer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "io/vocab.h"
#include "tests/trainer/model_fixture.h"
#include "trainer/decode/beam_search.h"

namespace rnnsearch {
namespace {

using testing::AllVariants;
using testing::TinyDims;
using testing::Variant;

// Sharp random parameters with </s> likely (most hypotheses finish) and
// <pad>, <s> unlikely, as after training.
ParamSet RandomModel(const ModelDims& dims, std::uint32_t seed) {
  ParamSet p(dims);
  testing::RandomParams(p, seed, 1.0);
  float* bias = p.Get("output.bias");
  bias[Vocab::kEos] += 1.5f;
  bias[Vocab::kPad] -= 30.0f;
  bias[Vocab::kBos] -= 30.0f;
  return p;
}

// Word vocabularies of the tiny dims' sizes (Vs = 11, Vt = 13).
Vocab Words(const std::string& stem, std::int64_t size) {
  std::vector<std::string> words;
  for (std::int64_t i = Vocab::kNumSpecial; i < size; ++i)
    words.push_back(stem + std::to_string(i));
  return Vocab::FromWords(words, "rescorer test " + stem);
}

std::vector<std::vector<std::int32_t>> Sources(const ModelDims& d, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> id(Vocab::kNumSpecial, static_cast<int>(d.Vs) - 1);
  std::vector<std::vector<std::int32_t>> out;
  for (int n : {3, 1, 7, 9, 4, 12, 2}) {
    std::vector<std::int32_t> s;
    for (int j = 0; j < n; ++j) s.push_back(id(rng));
    out.push_back(s);
  }
  return out;
}

// The beam's members (one model, or two of different variants) rescore
// every finished hypothesis to its beam score; `compared` counts them.
void ExpectBeamScores(const std::vector<const ParamSet*>& members, const std::string& name,
                      std::uint32_t seed) {
  ops::Context ctx(1);
  const ModelDims& d = members.front()->dims();
  // The tolerance of the members' sums: the largest of their own.
  const auto bound = [&](std::size_t src_len, std::size_t tgt_len, double want) {
    double b = 0;
    for (const ParamSet* m : members)
      b = std::max(b, testing::ScoreBound(m->dims(), src_len, tgt_len, want));
    return b;
  };
  const Vocab src = Words("s", d.Vs), tgt = Words("t", d.Vt);
  BeamOptions o;
  o.beam_size = 4;
  o.nbest = 4;
  BeamSearch search(ctx, members, o);
  const auto sources = Sources(d, seed);
  const auto got = search.Translate(sources);
  Rescorer rescorer(ctx, members, src, tgt);
  int compared = 0;
  std::vector<IdPair> pairs;
  std::vector<double> want;
  for (std::size_t b = 0; b < sources.size(); ++b) {
    for (const Hypothesis& h : got[b].nbest) {
      if (!h.finished) continue;
      const PairScore s = rescorer.Score(sources[b], h.tokens);
      EXPECT_NEAR(s.logprob, h.score, bound(sources[b].size() + 1, h.tokens.size() + 1, h.score))
          << name;
      EXPECT_EQ(s.tokens, static_cast<std::int64_t>(h.tokens.size()) + 1) << name;
      pairs.push_back({sources[b], h.tokens});
      want.push_back(h.score);
      ++compared;
    }
  }
  EXPECT_GE(compared, 10) << name;
  // All at once: batches of mixed lengths, padded.
  const auto batches = Rescorer::PlanBatches(pairs);
  EXPECT_LT(batches.size(), pairs.size()) << name;
  for (const auto& batch : batches) {
    const std::vector<PairScore> got_batch = rescorer.ScoreBatch(pairs, batch);
    ASSERT_EQ(got_batch.size(), batch.size());
    for (std::size_t k = 0; k < batch.size(); ++k) {
      const double w = want[batch[k]];
      const IdPair& pair = pairs[batch[k]];
      EXPECT_NEAR(got_batch[k].logprob, w, bound(pair.source.size() + 1, pair.target.size() + 1, w))
          << name;
      EXPECT_EQ(got_batch[k].tokens, static_cast<std::int64_t>(pairs[batch[k]].target.size()) + 1);
    }
  }
}

TEST(Rescorer, GivesEveryVariantItsBeamScores) {
  for (const Variant& v : AllVariants()) {
    const ParamSet p = RandomModel(TinyDims(v), 5);
    ExpectBeamScores({&p}, v.Name(), 6);
  }
}

TEST(Rescorer, GivesEnsemblesTheirBeamScores) {
  const std::vector<Variant> variants = AllVariants();
  for (std::size_t i = 0; i < variants.size(); ++i) {
    const Variant& v = variants[i];
    const Variant& w = variants[(i + 3) % variants.size()];
    const ParamSet p1 = RandomModel(TinyDims(v), 11), p2 = RandomModel(TinyDims(w), 12);
    ExpectBeamScores({&p1, &p2}, v.Name() + " + " + w.Name(), 7);
    // The mean of the members alone.
    ops::Context ctx(1);
    const Vocab src = Words("s", p1.dims().Vs), tgt = Words("t", p1.dims().Vt);
    Rescorer both(ctx, {&p1, &p2}, src, tgt), one(ctx, {&p1}, src, tgt), two(ctx, {&p2}, src, tgt);
    const std::vector<std::int32_t> x = {4, 5, 6}, y = {7, 8};
    const double a = one.Score(x, y).logprob, b = two.Score(x, y).logprob;
    EXPECT_NEAR(both.Score(x, y).logprob, 0.5 * (a + b), 1e-9);
    EXPECT_GT(std::abs(a - b), 1e-3) << "the members should disagree";
  }
}

TEST(Rescorer, PlansBatchesOfSimilarLengthsWithinTheLimits) {
  std::mt19937 rng(3);
  std::uniform_int_distribution<int> len(0, 40);
  std::vector<IdPair> pairs(300);
  for (IdPair& p : pairs) {
    p.source.assign(static_cast<std::size_t>(len(rng)), 4);
    p.target.assign(static_cast<std::size_t>(len(rng)), 5);
  }
  pairs[17].target.assign(3000, 5);  // longer than kBatchTokens: alone
  pairs[18] = {};                    // both empty
  const auto batches = Rescorer::PlanBatches(pairs);
  EXPECT_EQ(Rescorer::PlanBatches(pairs), batches);
  std::vector<int> seen(pairs.size(), 0);
  std::size_t previous_src = 0;
  for (const auto& batch : batches) {
    ASSERT_FALSE(batch.empty());
    std::size_t tx = 0, ty = 0;
    for (std::size_t i : batch) {
      ++seen.at(i);
      EXPECT_GE(pairs[i].source.size(), previous_src) << "ordered by source length";
      previous_src = pairs[i].source.size();
      tx = std::max(tx, pairs[i].source.size() + 1);
      ty = std::max(ty, pairs[i].target.size() + 1);
    }
    const auto n = static_cast<std::int64_t>(batch.size());
    EXPECT_LE(n, Rescorer::kBatchSentences);
    if (n > 1) {
      EXPECT_LE(n * static_cast<std::int64_t>(std::max(tx, ty)), Rescorer::kBatchTokens);
    }
  }
  for (std::size_t i = 0; i < seen.size(); ++i) EXPECT_EQ(seen[i], 1) << i;
  EXPECT_LT(batches.size(), 20u);
  EXPECT_TRUE(std::any_of(batches.begin(), batches.end(),
                          [](const auto& b) { return b.size() == 1 && b[0] == 17; }));
}

TEST(Rescorer, ScoresTextAsItsEncodingAndEmptyLines) {
  ops::Context ctx(1);
  const ParamSet p = RandomModel(TinyDims(Variant{}), 21);
  const Vocab src = Words("s", p.dims().Vs), tgt = Words("t", p.dims().Vt);
  Rescorer r(ctx, {&p}, src, tgt);
  const PairScore text = r.Score("s4 s9 s5", "t12 t4");
  const PairScore ids = r.Score(std::vector<std::int32_t>{4, 9, 5}, {12, 4});
  EXPECT_EQ(text.logprob, ids.logprob);
  EXPECT_EQ(text.tokens, 3);
  // An unknown word is <unk>; an empty target is </s> alone; an empty
  // source is scored too.
  EXPECT_EQ(r.Score("s4 nope", "t5").logprob,
            r.Score(std::vector<std::int32_t>{4, Vocab::kUnk}, {5}).logprob);
  const PairScore empty = r.Score("", "");
  EXPECT_EQ(empty.tokens, 1);
  EXPECT_TRUE(std::isfinite(empty.logprob));
  EXPECT_LT(empty.logprob, 0.0);
  EXPECT_EQ(r.Score("  ", "").logprob, empty.logprob);
  // The same pairs in one padded batch, the empty ones among them.
  const std::vector<IdPair> pairs = {r.Encode("s4 s9 s5", "t12 t4"), r.Encode("", ""),
                                     r.Encode("s4 nope", "t5")};
  const std::vector<PairScore> batch = r.ScoreBatch(pairs, {2, 0, 1});
  // Alone against in a padded batch (4 source, 3 target steps): float
  // rounding of the batch's longest chains.
  const auto near = [&](double got, double want) {
    EXPECT_NEAR(got, want, testing::ScoreBound(p.dims(), 4, 3, want));
  };
  near(batch[0].logprob, r.Score("s4 nope", "t5").logprob);
  near(batch[1].logprob, text.logprob);
  near(batch[2].logprob, empty.logprob);
  EXPECT_EQ(batch[2].tokens, 1);
}

}  // namespace
}  // namespace rnnsearch
