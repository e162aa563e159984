// The numbers of a training step, end to end through `rnnsearch train`:
// one SGD step from a saved checkpoint moves each parameter by exactly -lr
// times the model's gradient, and a run on 2 ranks matches the run on 1
// up to the order of float additions.
#include <gtest/gtest.h>

#include <cmath>

#include "common/comm.h"
#include "io/batch_reader.h"
#include "io/corpus.h"
#include "tests/trainer/train_fixture.h"
#include "trainer/model/model.h"

namespace rnnsearch::testing {
namespace {

class TrainMath : public TrainFixture {};

TEST_F(TrainMath, SgdStepIsMinusLrTimesTheGradient) {
  const std::string sets =
      "--set train.optimizer=sgd --set train.clip_norm=0 --set train.lr=0.1 "
      "--set train.dropout=0.1 --set checkpoint.every=1 ";
  Train("sgd", sets + "--set train.max_steps=1");
  Train("sgd", sets + "--set train.max_steps=2");
  const CheckpointReader first(Path("sgd/ckpt-1.h5").string());
  const CheckpointInfo& info = first.info();
  const Config config = ConfigFromYamlText(info.meta.config_yaml, "ckpt-1");
  const ParamSet p1 = ReadSet(Path("sgd/ckpt-1.h5"), "params");
  const ParamSet p2 = ReadSet(Path("sgd/ckpt-2.h5"), "params");

  // The second step's batch and dropout counter, from the checkpoint.
  const auto comm = MakeLocalComm();
  BatchReader reader(Corpus::Open(Path("corpus").string()), ReaderOptionsFromConfig(config, *comm),
                     info.meta.state.position);
  const std::optional<Batch> batch = reader.Next();
  ASSERT_TRUE(batch.has_value());
  const std::uint64_t dropout_step = info.meta.state.rng.at("dropout").at(1);
  EXPECT_EQ(dropout_step, 1u);
  ops::Context ctx(1);  // dist.threads_per_rank = 1, as the run
  Model model(ctx, p1.dims(), ModelOptions::FromConfig(config.train));
  ParamSet grads(p1.dims());
  model.ForwardBackward(p1, grads, *batch, 1.0f / static_cast<float>(batch->global_tgt_tokens),
                        dropout_step);

  const double lr = static_cast<float>(0.1);
  std::int64_t moved = 0;
  for (const ParamSpec& s : p1.specs()) {
    const float* a = p1.Get(s.name);
    const float* b = p2.Get(s.name);
    const float* g = grads.Get(s.name);
    for (std::int64_t i = 0; i < s.size(); ++i) {
      const double want = double{a[i]} - lr * double{g[i]};
      // float rounding of the product and of the difference: 1 ulp.
      const double ulp = std::nextafter(std::fabs(b[i]), INFINITY) - std::fabs(b[i]) +
                         (std::nextafter(std::fabs(static_cast<float>(lr * g[i])), INFINITY) -
                          std::fabs(static_cast<float>(lr * g[i])));
      ASSERT_LE(std::fabs(double{b[i]} - want), ulp) << s.name << "[" << i << "]";
      // A step larger than the rounding of the parameter must show.
      const double ulp_a = std::nextafter(std::fabs(a[i]), INFINITY) - std::fabs(a[i]);
      if (std::fabs(lr * g[i]) > ulp_a) {
        EXPECT_NE(a[i], b[i]) << s.name << "[" << i << "]";
        ++moved;
      }
    }
  }
  EXPECT_GT(moved, p1.count() / 2);
}

// The same global batches on 1 and on 2 ranks: the same parameters after
// 20 Adam steps (train.lr 0.01 of tiny.yaml) up to float summation order,
// as ExpectAdamRunsClose bounds it.
TEST_F(TrainMath, TwoRanksMatchOneRank) {
  const std::string sets =
      "--set train.max_steps=20 --set train.dropout=0.1 --set train.accumulate=2 ";
  Train("ranks1", sets);
  Train("ranks2", sets, 0, 2);
  const ParamSet one = ReadSet(Path("ranks1/ckpt-20.h5"), "params");
  const ParamSet two = ReadSet(Path("ranks2/ckpt-20.h5"), "params");
  ExpectAdamRunsClose(one, two, 0.01, 20, TaskGradTolerance(one.dims()), "1 vs 2 ranks, 20 steps");
  EXPECT_FALSE(SameBytes(ReadSet(Path("ranks1/ckpt-20.h5"), "params"),
                         ReadSet(Path("ranks1/ckpt-20.h5"), "adam.m")));
}

}  // namespace
}  // namespace rnnsearch::testing
