// Validation's pieces: the cross-entropy without label smoothing from the
// training model (Model::Evaluate with an explicit eps), and the metrics
// early stopping watches.
#include "trainer/run/validate.h"

#include <gtest/gtest.h>

#include "tests/trainer/model_fixture.h"

namespace rnnsearch {
namespace {

// A model trained with label smoothing scores the plain cross-entropy
// exactly as a model without it does.
TEST(Validate, EvaluateWithExplicitLabelSmoothing) {
  const ModelDims d = testing::TinyDims({});
  ParamSet params(d);
  testing::RandomParams(params, 4);
  ops::Context ctx(1);
  ModelOptions smoothed;
  smoothed.label_smoothing = 0.1f;
  Model with(ctx, d, smoothed), without(ctx, d, ModelOptions{});
  const Batch batch = testing::MakeBatch({4, 6, 2}, {3, 5, 4}, d, 8);
  const StepResult plain = without.Evaluate(params, batch);
  const StepResult zero = with.Evaluate(params, batch, 0.0f);
  EXPECT_EQ(plain.loss, zero.loss);
  EXPECT_EQ(plain.tokens, zero.tokens);
  const StepResult ls = with.Evaluate(params, batch);
  EXPECT_NE(ls.loss, plain.loss);
  EXPECT_EQ(ls.loss, without.Evaluate(params, batch, 0.1f).loss);
}

TEST(Validate, Metrics) {
  ValidationResult r;
  r.loss = 2.0;
  r.perplexity = 7.5;
  r.bleu.score = 31.0;
  EXPECT_EQ(MetricOf(r, EarlyStopMetric::kBleu), 31.0);
  EXPECT_EQ(MetricOf(r, EarlyStopMetric::kPerplexity), 7.5);
  EXPECT_EQ(MetricOf(r, EarlyStopMetric::kLoss), 2.0);
  EXPECT_TRUE(HigherIsBetter(EarlyStopMetric::kBleu));
  EXPECT_FALSE(HigherIsBetter(EarlyStopMetric::kPerplexity));
  EXPECT_FALSE(HigherIsBetter(EarlyStopMetric::kLoss));
}

}  // namespace
}  // namespace rnnsearch
