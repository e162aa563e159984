// The decoder step of greedy decoding and beam search
// (trainer/decode/decoder_step.h), for every model variant: rows fed the
// target tokens score each sentence as the training path does, rows that
// Keep duplicates follow their own tokens independently, and a step
// started again on another batch (also after FreeBuffers) computes what a
// fresh one does.
#include "trainer/decode/decoder_step.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "io/vocab.h"
#include "ops/context.h"
#include "tests/trainer/model_fixture.h"

namespace rnnsearch {
namespace {

using testing::AllVariants;
using testing::MakeBatch;
using testing::TinyDims;
using testing::Variant;

ModelOptions EvalOptions() {
  ModelOptions o;  // no dropout, no label smoothing
  o.shape_cache = 1;
  return o;
}

// log p(target | source) of each sentence of `b` by the training path.
std::vector<double> TrainingScores(ops::Context& ctx, const ParamSet& params, Batch b) {
  Model model(ctx, params.dims(), EvalOptions());
  b.line.assign(static_cast<std::size_t>(b.size), 0);
  std::vector<double> losses;
  model.Evaluate(params, b, 0.0f, &losses);
  for (double& x : losses) x = -x;
  return losses;
}

// Sentences b of `y` and `z` share their source and target lengths and
// differ in their target tokens. The step starts with one row per
// sentence (<s>), then Keep splits each into two rows, 2b fed y_b and
// 2b + 1 fed z_b; each row sums the log-probabilities of its tokens.
TEST(DecoderStep, RowsScoreTheirOwnTargetsAsTheTrainingPathDoes) {
  for (const Variant& v : AllVariants()) {
    SCOPED_TRACE(v.Name());
    const ModelDims d = TinyDims(v);
    ParamSet params(d);
    testing::RandomParams(params, 11, 1.0);
    ops::Context ctx(1);
    const std::vector<int> src_len = {4, 7, 2}, tgt_len = {5, 3, 6};
    const Batch y = MakeBatch(src_len, tgt_len, d, 5);
    Batch z = y;
    z.tgt = testing::PaddedTimeMajorIds(tgt_len, y.tgt_steps, static_cast<int>(d.Vt), 99);
    ASSERT_NE(z.tgt, y.tgt);
    const std::vector<double> want_y = TrainingScores(ctx, params, y);
    const std::vector<double> want_z = TrainingScores(ctx, params, z);

    const int B = y.size;
    Model encoder(ctx, d, EvalOptions());
    DecoderStep step(ctx, d, 2);
    step.Start(encoder, params, y.src.data(), y.src_len.data(), B, y.src_steps);
    std::vector<double> got(2 * static_cast<std::size_t>(B), 0.0);  // row 2b: y_b, 2b + 1: z_b
    std::vector<std::int32_t> prev(static_cast<std::size_t>(B), Vocab::kBos);
    std::vector<int> src_of = {0, 1, 2};
    for (int t = 0; t < y.tgt_steps; ++t) {
      const int n = static_cast<int>(prev.size());
      step.Run(prev.data(), src_of.data(), n);
      for (int r = 0; r < 2 * B; ++r) {
        const int b = r / 2;
        if (t >= tgt_len[static_cast<std::size_t>(b)]) continue;
        const int row = t == 0 ? b : r;  // before the split, both read row b
        const std::int32_t token = (r % 2 == 0 ? y : z).tgt[static_cast<std::size_t>(t * B + b)];
        got[static_cast<std::size_t>(r)] += step.logp()[row * d.Vt + token];
      }
      std::vector<int> from;
      prev.clear();
      src_of.clear();
      for (int r = 0; r < 2 * B; ++r) {
        const int b = r / 2;
        from.push_back(t == 0 ? b : r);
        src_of.push_back(b);
        prev.push_back((r % 2 == 0 ? y : z).tgt[static_cast<std::size_t>(t * B + b)]);
      }
      step.Keep(from.data(), static_cast<int>(from.size()));
    }
    for (int b = 0; b < B; ++b) {
      const auto sb = static_cast<std::size_t>(b);
      const auto sl = static_cast<std::size_t>(src_len[sb]);
      const auto tl = static_cast<std::size_t>(tgt_len[sb]);
      EXPECT_NEAR(got[2 * sb], want_y[sb], testing::ScoreBound(d, sl, tl, want_y[sb]))
          << "sentence " << b << ", target y";
      EXPECT_NEAR(got[2 * sb + 1], want_z[sb], testing::ScoreBound(d, sl, tl, want_z[sb]))
          << "sentence " << b << ", target z";
    }
  }
}

// The log-probabilities and attention of two steps on `b` (one row per
// sentence, fed <s> then token 4).
std::vector<float> TwoSteps(DecoderStep& step, Model& encoder, const ParamSet& params,
                            const Batch& b) {
  const ModelDims& d = params.dims();
  step.Start(encoder, params, b.src.data(), b.src_len.data(), b.size, b.src_steps);
  std::vector<int> rows(static_cast<std::size_t>(b.size));
  for (int r = 0; r < b.size; ++r) rows[static_cast<std::size_t>(r)] = r;
  std::vector<float> out;
  for (const std::int32_t token : {Vocab::kBos, std::int32_t{4}}) {
    const std::vector<std::int32_t> prev(static_cast<std::size_t>(b.size), token);
    step.Run(prev.data(), rows.data(), b.size);
    out.insert(out.end(), step.logp(), step.logp() + b.size * d.Vt);
    out.insert(out.end(), step.alpha(), step.alpha() + b.size * b.src_steps);
    step.Keep(rows.data(), b.size);
  }
  return out;
}

TEST(DecoderStep, AStepStartedAgainComputesWhatAFreshOneDoes) {
  for (const Variant& v : AllVariants()) {
    SCOPED_TRACE(v.Name());
    const ModelDims d = TinyDims(v);
    ParamSet params(d);
    testing::RandomParams(params, 3, 1.0);
    ops::Context ctx(1);
    Model encoder(ctx, d, EvalOptions());
    const Batch small = MakeBatch({3, 2}, {2, 2}, d, 1);
    const Batch big = MakeBatch({5, 8, 1, 4}, {2, 2, 2, 2}, d, 2);
    DecoderStep used(ctx, d, 3), fresh(ctx, d, 3);
    TwoSteps(used, encoder, params, small);
    // The ops grow to the larger batch: the same shapes as the fresh step's.
    const std::vector<float> want = TwoSteps(fresh, encoder, params, big);
    EXPECT_EQ(TwoSteps(used, encoder, params, big), want);
    used.FreeBuffers();
    EXPECT_EQ(TwoSteps(used, encoder, params, big), want);
  }
}

}  // namespace
}  // namespace rnnsearch
