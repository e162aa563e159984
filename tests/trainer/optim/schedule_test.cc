// Learning-rate schedules: warm-up, inverse square root, decay on a
// validation plateau with its floor, and a restored state that continues
// identically; the config rule of inverse_sqrt.
#include "trainer/optim/schedule.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

#include "common/error.h"

namespace rnnsearch {
namespace {

ScheduleOptions Options(const std::string& kind, double lr, std::int64_t warmup) {
  ScheduleOptions o;
  o.kind = ChoiceValue<ScheduleKind>(kind);
  o.lr = lr;
  o.warmup_steps = warmup;
  return o;
}

TEST(Schedule, ConstantWithAndWithoutWarmup) {
  const LrSchedule plain(Options("constant", 0.5, 0));
  for (std::int64_t t : {1, 2, 1000}) EXPECT_EQ(plain.LearningRate(t), 0.5);
  const LrSchedule warm(Options("constant", 0.5, 4));
  EXPECT_DOUBLE_EQ(warm.LearningRate(1), 0.125);
  EXPECT_DOUBLE_EQ(warm.LearningRate(2), 0.25);
  EXPECT_DOUBLE_EQ(warm.LearningRate(4), 0.5);
  EXPECT_DOUBLE_EQ(warm.LearningRate(5), 0.5);
  EXPECT_DOUBLE_EQ(warm.LearningRate(100000), 0.5);
}

TEST(Schedule, InverseSquareRootAfterWarmup) {
  const LrSchedule s(Options("inverse_sqrt", 0.001, 4));
  EXPECT_DOUBLE_EQ(s.LearningRate(1), 0.00025);
  EXPECT_DOUBLE_EQ(s.LearningRate(4), 0.001);     // peak at the end of the warm-up
  EXPECT_DOUBLE_EQ(s.LearningRate(16), 0.0005);   // sqrt(4 / 16)
  EXPECT_DOUBLE_EQ(s.LearningRate(400), 0.0001);  // sqrt(4 / 400)
  EXPECT_LT(s.LearningRate(5), s.LearningRate(4));
}

TEST(Schedule, PlateauDecaysAfterPatienceValidationsWithoutImprovement) {
  ScheduleOptions o = Options("plateau", 1.0, 0);
  o.decay = 0.5;
  o.patience = 2;
  o.min_lr = 0.3;
  LrSchedule s(o);
  // BLEU: higher is better.
  EXPECT_FALSE(s.OnValidation(10, true));  // first value: the best so far
  EXPECT_FALSE(s.OnValidation(9, true));   // 1 without improvement
  EXPECT_FALSE(s.OnValidation(11, true));  // improvement: the count restarts
  EXPECT_FALSE(s.OnValidation(11, true));  // equal is no improvement
  EXPECT_EQ(s.bad_validations(), 1);
  EXPECT_TRUE(s.OnValidation(10.5, true));  // 2 in a row: decay
  EXPECT_DOUBLE_EQ(s.LearningRate(50), 0.5);
  EXPECT_EQ(s.bad_validations(), 0);
  EXPECT_FALSE(s.OnValidation(std::numeric_limits<double>::quiet_NaN(), true));  // never better
  EXPECT_TRUE(s.OnValidation(3, true));
  EXPECT_DOUBLE_EQ(s.factor(), 0.25);
  EXPECT_DOUBLE_EQ(s.LearningRate(60), 0.3);  // 0.25 is under the floor min_lr
  EXPECT_FALSE(s.OnValidation(2, true));
  EXPECT_FALSE(s.OnValidation(1, true));  // at the floor: no further decay
  EXPECT_EQ(s.decays(), 2);
  EXPECT_DOUBLE_EQ(s.LearningRate(70), 0.3);
}

TEST(Schedule, PlateauWithLowerIsBetterAndWarmup) {
  ScheduleOptions o = Options("plateau", 0.2, 10);
  o.decay = 0.1;
  o.patience = 1;
  o.min_lr = 0.0;
  LrSchedule s(o);
  EXPECT_FALSE(s.OnValidation(50.0, false));  // perplexity
  EXPECT_FALSE(s.OnValidation(40.0, false));
  EXPECT_TRUE(s.OnValidation(40.5, false));
  EXPECT_DOUBLE_EQ(s.LearningRate(100), 0.02);
  EXPECT_DOUBLE_EQ(s.LearningRate(5), 0.01);  // the warm-up ramps the decayed rate
}

TEST(Schedule, OtherSchedulesNeverDecay) {
  ScheduleOptions o = Options("constant", 0.1, 0);
  o.patience = 1;
  LrSchedule s(o);
  s.OnValidation(1, true);
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(s.OnValidation(0, true));
  EXPECT_EQ(s.LearningRate(10), 0.1);
}

TEST(Schedule, RestoredStateContinuesIdentically) {
  ScheduleOptions o = Options("plateau", 1.0, 0);
  o.patience = 2;
  o.min_lr = 0;
  LrSchedule a(o), b(o);
  for (double v : {5.0, 6.0, 4.0, 3.0, 2.0}) a.OnValidation(v, true);
  const StateRefs from = a.State(), to = b.State();
  ASSERT_EQ(from.reals.size(), 2u);
  ASSERT_EQ(from.ints.size(), 3u);
  EXPECT_TRUE(from.buffers.empty());
  for (std::size_t i = 0; i < from.reals.size(); ++i) {
    EXPECT_EQ(from.reals[i].name, to.reals[i].name);
    *to.reals[i].value = *from.reals[i].value;
  }
  for (std::size_t i = 0; i < from.ints.size(); ++i) *to.ints[i].value = *from.ints[i].value;
  for (double v : {1.0, 7.0, 6.0, 6.5, 5.0, 4.0}) {
    EXPECT_EQ(a.OnValidation(v, true), b.OnValidation(v, true)) << v;
    EXPECT_EQ(a.LearningRate(99), b.LearningRate(99)) << v;
  }
  EXPECT_EQ(a.decays(), 4);
}

TEST(Schedule, FromConfigAndTheWarmupRule) {
  const Config c =
      LoadConfig("", {"train.lr_schedule=plateau", "train.lr=0.002", "train.warmup_steps=7",
                      "train.lr_decay=0.25", "train.lr_patience=5", "train.min_lr=0.0001"});
  const ScheduleOptions o = ScheduleOptions::FromConfig(c.train);
  EXPECT_EQ(ChoiceName(o.kind), "plateau");
  EXPECT_EQ(o.lr, 0.002);
  EXPECT_EQ(o.warmup_steps, 7);
  EXPECT_EQ(o.decay, 0.25);
  EXPECT_EQ(o.patience, 5);
  EXPECT_EQ(o.min_lr, 0.0001);
  try {
    LoadConfig("", {"train.lr_schedule=inverse_sqrt"});
    FAIL() << "inverse_sqrt without warm-up was accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("train.warmup_steps: the inverse_sqrt schedule"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace rnnsearch
