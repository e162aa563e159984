// The model's training-step contract beyond the math (trainer/model/model.h):
// dropout masks (counter-based: the same for 1 and 2 threads and for any
// split of a batch, new per step, the expected drop rate, none in
// evaluation) and the model with dropout against the reference with the
// same masks; a batch part with B = 0; bit-identical repeated steps; the
// gradient-ready ranges (each final when reported, together tiling the
// buffer); the per-shape cache (eviction, results unchanged); the split
// of a batch over ranks.
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <vector>

#include "tests/trainer/model_fixture.h"
#include "trainer/model/dropout.h"
#include "trainer/model/lru_cache.h"
#include "trainer/model/model.h"
#include "trainer/model/model_ref.h"

namespace rnnsearch {
namespace {

using testing::MakeBatch;
using testing::TinyDims;
using testing::Variant;

std::vector<float> Mask(DropoutKey key, DropoutTensor tensor, float p, int T, int B,
                        std::int64_t first, int dim, int threads) {
  ops::SetComputeThreads(threads);
  std::vector<float> m(static_cast<std::size_t>(T) * B * dim);
  FillDropoutMask(m.data(), key, tensor, p, T, B, first, dim);
  return m;
}

TEST(Dropout, MasksAreCounterBased) {
  const DropoutKey key{1234, 7};
  const auto a = Mask(key, DropoutTensor::kReadout, 0.3f, 20, 64, 100, 48, 1);
  EXPECT_EQ(a, Mask(key, DropoutTensor::kReadout, 0.3f, 20, 64, 100, 48, 2));        // threads
  EXPECT_NE(a, Mask({1234, 8}, DropoutTensor::kReadout, 0.3f, 20, 64, 100, 48, 2));  // step
  EXPECT_NE(a, Mask({1235, 7}, DropoutTensor::kReadout, 0.3f, 20, 64, 100, 48, 2));  // seed
  EXPECT_NE(a, Mask(key, DropoutTensor::kSourceEmbedding, 0.3f, 20, 64, 100, 48, 2));
  // Sentences 110..129 alone, over 13 positions, have the rows they had in the whole.
  const auto part = Mask(key, DropoutTensor::kReadout, 0.3f, 13, 20, 110, 48, 2);
  for (int t = 0; t < 13; ++t) {
    for (int b = 0; b < 20; ++b) {
      const float* want = &a[(static_cast<std::size_t>(t) * 64 + 10 + b) * 48];
      ASSERT_EQ(0, std::memcmp(&part[(static_cast<std::size_t>(t) * 20 + b) * 48], want, 48 * 4));
    }
  }
  // The drop rate and the scale of the kept units.
  std::int64_t dropped = 0;
  for (float m : a) {
    if (m == 0.0f) {
      ++dropped;
    } else {
      ASSERT_FLOAT_EQ(m, 1.0f / 0.7f);
    }
  }
  const double n = static_cast<double>(a.size()), rate = static_cast<double>(dropped) / n;
  EXPECT_NEAR(rate, 0.3, 4 * std::sqrt(0.3 * 0.7 / n));  // 4 sigma
  for (float m : Mask(key, DropoutTensor::kReadout, 0.0f, 5, 3, 0, 8, 2)) ASSERT_EQ(m, 1.0f);
}

// The masks the model draws for a batch part, for the reference.
struct Masks {
  std::vector<float> x, y, t;
  Masks(const ModelDims& d, const Batch& b, const ModelOptions& o, std::uint64_t step) {
    const DropoutKey key{o.seed, step};
    const int B = b.size;
    x = Mask(key, DropoutTensor::kSourceEmbedding, o.dropout, b.src_steps, B, b.first,
             static_cast<int>(d.E), 2);
    y = Mask(key, DropoutTensor::kTargetEmbedding, o.dropout, b.tgt_steps, B, b.first,
             static_cast<int>(d.E), 2);
    t = Mask(key, DropoutTensor::kReadout, o.dropout, b.tgt_steps, B, b.first,
             static_cast<int>(d.O), 2);
  }
  RefMasks Get() const { return {x.data(), y.data(), t.data()}; }
};

ModelOptions DropoutOptions() {
  ModelOptions o;
  o.dropout = 0.3f;
  o.seed = 99;
  o.label_smoothing = 0.1f;
  return o;
}

TEST(ModelDropout, MatchesReferenceWithTheSameMasks) {
  for (const Variant& v : {Variant{"gru", "additive", 2, false}, Variant{"lstm", "dot", 1, true}}) {
    SCOPED_TRACE(v.Name());
    const ModelDims d = TinyDims(v);
    ParamSet params(d);
    testing::RandomParams(params, 20);
    const Batch batch = MakeBatch({7, 3, 1}, {5, 1, 4}, d, 21, /*first=*/40);
    const ModelOptions opt = DropoutOptions();
    ops::Context ctx(2);
    Model model(ctx, d, opt);
    ParamSet grads(d);
    const StepResult got = model.ForwardBackward(params, grads, batch, 0.5f, 3);
    const Masks masks(d, batch, opt, 3);
    ModelRef<double> ref(d, opt.label_smoothing);
    RefParams<double> p(params), g(params);
    g.Zero();
    const double want = ref.Forward(p, batch, masks.Get());
    ref.Backward(g, p, batch, masks.Get(), 0.5);
    const double tol = testing::ModelTolerance(d, batch);
    EXPECT_NEAR(got.loss, want, tol * std::max(1.0, std::abs(want)));
    testing::ExpectSetsClose(params, grads.data(), g.data().data(), tol, "d");

    // Another step draws other masks; evaluation has none.
    ParamSet other(d);
    EXPECT_NE(model.ForwardBackward(params, other, batch, 0.5f, 4).loss, got.loss);
    const double clean = ref.Forward(p, batch);
    const StepResult eval = model.Evaluate(params, batch);
    EXPECT_NEAR(eval.loss, clean, tol * std::max(1.0, std::abs(clean)));
    EXPECT_NE(eval.loss, got.loss);
  }
}

TEST(ModelDropout, OneAndTwoThreadsAgree) {
  const ModelDims d = TinyDims({"gru", "general", 1, false});
  ParamSet params(d);
  testing::RandomParams(params, 30);
  const Batch batch = MakeBatch({6, 2, 4, 1}, {3, 5, 1, 2}, d, 31);
  std::vector<StepResult> results;
  std::vector<ParamSet> grads;
  for (int threads : {1, 2}) {
    ops::Context ctx(threads);
    Model model(ctx, d, DropoutOptions());
    grads.emplace_back(d);
    results.push_back(model.ForwardBackward(params, grads.back(), batch, 1.0f, 11));
  }
  const double tol = testing::ModelTolerance(d, batch);
  EXPECT_NEAR(results[0].loss, results[1].loss, tol * std::abs(results[0].loss));
  testing::ExpectSetsClose(params, grads[0].data(), grads[1].data(), tol, "1 vs 2 threads");
}

// Sentences split over two parts (as over two ranks) give the same loss
// and summed gradients as the whole batch, dropout included.
TEST(ModelDropout, SplitBatchGivesTheSameStep) {
  const ModelDims d = TinyDims({"lstm", "additive", 2, false});
  ParamSet params(d);
  testing::RandomParams(params, 40);
  const Batch whole = MakeBatch({5, 2, 7, 1, 3}, {4, 6, 1, 2, 3}, d, 41, 8);
  ops::Context ctx(2);
  Model model(ctx, d, DropoutOptions());
  ParamSet g_whole(d), g_parts(d);
  const StepResult w = model.ForwardBackward(params, g_whole, whole, 0.1f, 5);
  const StepResult a =
      model.ForwardBackward(params, g_parts, testing::SubBatch(whole, 0, 2), 0.1f, 5);
  const StepResult b =
      model.ForwardBackward(params, g_parts, testing::SubBatch(whole, 2, 5), 0.1f, 5);
  const double tol = testing::ModelTolerance(d, whole);
  EXPECT_EQ(w.tokens, a.tokens + b.tokens);
  EXPECT_NEAR(w.loss, a.loss + b.loss, tol * w.loss);
  testing::ExpectSetsClose(params, g_parts.data(), g_whole.data(), tol, "split");
}

TEST(Model, EmptyPartAddsNothingAndReportsEveryRange) {
  const ModelDims d = TinyDims({"gru", "additive", 2, true});
  ParamSet params(d), grads(d);
  testing::RandomParams(params, 50);
  ops::Context ctx(1);
  Model model(ctx, d, DropoutOptions());
  const Batch empty = MakeBatch({}, {}, d, 51, 3);
  std::int64_t covered = 0;
  const StepResult r = model.ForwardBackward(params, grads, empty, 1.0f, 0,
                                             [&](std::int64_t, std::int64_t n) { covered += n; });
  EXPECT_EQ(r.loss, 0.0);
  EXPECT_EQ(r.tokens, 0);
  EXPECT_EQ(covered, static_cast<std::int64_t>(grads.size()));
  for (std::size_t i = 0; i < grads.size(); ++i) ASSERT_EQ(grads.data()[i], 0.0f) << i;
  EXPECT_EQ(model.Evaluate(params, empty).tokens, 0);
}

// Every reported range already holds its final values, and the ranges
// tile the buffer exactly once, readout first and src_embed last.
TEST(Model, GradientReadyRangesAreFinalAndTileTheBuffer) {
  for (const Variant& v :
       {Variant{"gru", "additive", 2, false}, Variant{"lstm", "general", 1, true}}) {
    SCOPED_TRACE(v.Name());
    const ModelDims d = TinyDims(v);
    ParamSet params(d), grads(d);
    testing::RandomParams(params, 60);
    const Batch batch = MakeBatch({7, 3, 1}, {5, 1, 4}, d, 61);
    ops::Context ctx(2);
    Model model(ctx, d, DropoutOptions());
    std::map<std::int64_t, std::vector<float>> seen;  // offset -> values when reported
    std::vector<std::int64_t> order;
    model.ForwardBackward(params, grads, batch, 1.0f, 1, [&](std::int64_t off, std::int64_t n) {
      EXPECT_TRUE(
          seen.emplace(off, std::vector<float>(grads.data() + off, grads.data() + off + n)).second);
      order.push_back(off);
    });
    std::int64_t next = 0;
    for (const auto& [off, values] : seen) {
      EXPECT_EQ(off, next) << "gap or overlap";
      EXPECT_EQ(0, std::memcmp(values.data(), grads.data() + off, values.size() * sizeof(float)))
          << "range at " << off << " changed after it was reported";
      next = off + static_cast<std::int64_t>(values.size());
    }
    EXPECT_EQ(next, static_cast<std::int64_t>(grads.size()));
    EXPECT_EQ(order.front(), grads.Offset("readout.weight"));
    EXPECT_EQ(order.back(), grads.Offset("src_embed.weight"));
    std::size_t calls = 0;
    for (const auto& stage : GradientReadyStages(grads)) calls += stage.size();
    EXPECT_EQ(order.size(), calls);
  }
}

// Repeated steps on the same batch are bit-identical, also after other
// shapes evicted the batch's ops from a small cache.
TEST(Model, RepeatedStepsAreBitIdentical) {
  const ModelDims d = TinyDims({"lstm", "additive", 2, false});
  ParamSet params(d);
  testing::RandomParams(params, 70);
  ModelOptions opt = DropoutOptions();
  opt.shape_cache = 1;
  ops::Context ctx(2);
  Model model(ctx, d, opt);
  const Batch batch = MakeBatch({7, 3, 1}, {5, 1, 4}, d, 71);
  const Batch other = MakeBatch({2, 4}, {3, 3}, d, 72);
  ParamSet first(d), again(d), evicted(d), scratch(d);
  const StepResult r1 = model.ForwardBackward(params, first, batch, 0.5f, 9);
  const StepResult r2 = model.ForwardBackward(params, again, batch, 0.5f, 9);
  model.ForwardBackward(params, scratch, other, 0.5f, 9);
  const StepResult r3 = model.ForwardBackward(params, evicted, batch, 0.5f, 9);
  EXPECT_EQ(r1.loss, r2.loss);
  EXPECT_EQ(r1.loss, r3.loss);
  EXPECT_EQ(0, std::memcmp(first.data(), again.data(), first.size() * sizeof(float)));
  EXPECT_EQ(0, std::memcmp(first.data(), evicted.data(), first.size() * sizeof(float)));
  const auto stats = model.cache_stats();  // encoder hits, misses, decoder hits, misses
  EXPECT_EQ(stats[0], 1);
  EXPECT_EQ(stats[1], 3);
  EXPECT_EQ(stats[3], 3);
}

TEST(ModelOptions, FromTheTrainSection) {
  TrainConfig train;
  train.dropout = 0.25;
  train.label_smoothing = 0.1;
  train.seed = 77;
  const ModelOptions o = ModelOptions::FromConfig(train);
  EXPECT_FLOAT_EQ(o.dropout, 0.25f);
  EXPECT_FLOAT_EQ(o.label_smoothing, 0.1f);
  EXPECT_EQ(o.seed, 77u);
}

TEST(LruCache, EvictsTheLeastRecentlyUsed) {
  LruCache<int, int> cache(2);
  int built = 0;
  auto make = [&](int v) {
    return [&built, v] {
      ++built;
      return std::make_unique<int>(v);
    };
  };
  EXPECT_EQ(cache.Get(1, make(10)), 10);
  EXPECT_EQ(cache.Get(2, make(20)), 20);
  EXPECT_EQ(cache.Get(1, make(-1)), 10);  // hit: 1 is now the most recent
  EXPECT_EQ(cache.Get(3, make(30)), 30);  // evicts 2
  EXPECT_EQ(cache.Get(1, make(-1)), 10);
  EXPECT_EQ(cache.Get(2, make(21)), 21);  // rebuilt
  EXPECT_EQ(built, 4);
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_EQ(cache.hits(), 2);
  EXPECT_EQ(cache.misses(), 4);
}

}  // namespace
}  // namespace rnnsearch
