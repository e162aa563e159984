// OverlapGradSync (trainer/dist/grad_sync_overlap.h) alone and under mpiexec
// -n 2 and 4: the bucket plan (tiling, order, cap), and the synced
// gradients and totals against the blocking allreduce, with hand-driven
// hooks and with the real model's hook.
//
// Tolerance: on 1 and 2 ranks a summed element is one float addition in
// any algorithm, so overlap == blocking bit for bit. On more ranks the
// MPI library may add the N terms in another order for another message
// size: |overlap - blocking| <= 2 (N - 1) eps sum_r |x_r| per element.
#include <gtest/gtest.h>

#include <algorithm>
#include <cfloat>
#include <chrono>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <utility>

#include "common/clock.h"
#include "tests/mpi_test_env.h"
#include "tests/trainer/model_fixture.h"
#include "trainer/dist/grad_sync_overlap.h"
#include "trainer/model/model.h"

namespace rnnsearch {
namespace {

using Ranges = std::vector<std::vector<std::pair<std::int64_t, std::int64_t>>>;

// Every element of [0, size) in exactly one bucket; buckets are
// contiguous, complete in report order, and made of whole ranges.
void ExpectPlanTiles(const BucketPlan& plan, std::int64_t size, std::int64_t cap) {
  std::vector<int> covered(static_cast<std::size_t>(size), 0);
  int prev_last = -1;
  for (const GradBucket& b : plan.buckets) {
    ASSERT_GT(b.count, 0);
    ASSERT_GT(b.last_range, prev_last) << "buckets out of report order";
    // The bucket is exactly the ranges prev_last+1 .. last_range.
    std::int64_t sum = 0, lo = size, hi = 0;
    for (int k = prev_last + 1; k <= b.last_range; ++k) {
      const auto [off, cnt] = plan.ranges[static_cast<std::size_t>(k)];
      sum += cnt;
      lo = std::min(lo, off);
      hi = std::max(hi, off + cnt);
    }
    EXPECT_EQ(sum, b.count);
    EXPECT_EQ(lo, b.offset);
    EXPECT_EQ(hi, b.offset + b.count) << "bucket not contiguous";
    if (b.last_range > prev_last + 1) {
      EXPECT_LE(b.count, cap) << "a bucket of several ranges exceeds the cap";
    }
    for (std::int64_t i = b.offset; i < b.offset + b.count; ++i)
      ++covered[static_cast<std::size_t>(i)];
    prev_last = b.last_range;
  }
  EXPECT_EQ(prev_last + 1, static_cast<int>(plan.ranges.size()));
  for (std::int64_t i = 0; i < size; ++i) ASSERT_EQ(covered[static_cast<std::size_t>(i)], 1) << i;
}

TEST(BucketPlan, GroupsTouchingRangesUpToTheCap) {
  // Buffer [0, 100): reported 80..100, 60..80, 50..60, 10..20, 20..50, 0..10.
  const Ranges stages = {{{80, 20}}, {{60, 20}}, {{50, 10}}, {{10, 10}}, {{20, 30}}, {{0, 10}}};
  BucketPlan p = PlanBuckets(stages, 1000);
  ASSERT_EQ(p.buckets.size(), 2u);
  EXPECT_EQ(p.buckets[0], (GradBucket{50, 50, 2}));
  EXPECT_EQ(p.buckets[1], (GradBucket{0, 50, 5}));
  ExpectPlanTiles(p, 100, 1000);

  p = PlanBuckets(stages, 40);  // 20 + 20 fits, + 10 does not
  ASSERT_EQ(p.buckets.size(), 4u);
  EXPECT_EQ(p.buckets[0], (GradBucket{60, 40, 1}));
  EXPECT_EQ(p.buckets[1], (GradBucket{50, 10, 2}));
  EXPECT_EQ(p.buckets[2], (GradBucket{10, 40, 4}));
  EXPECT_EQ(p.buckets[3], (GradBucket{0, 10, 5}));
  ExpectPlanTiles(p, 100, 40);

  p = PlanBuckets(stages, 25);  // the 30-float range alone exceeds the cap: its own bucket
  ExpectPlanTiles(p, 100, 25);
  EXPECT_EQ(p.buckets.size(), 6u);

  p = PlanBuckets(stages, 0);  // one bucket per range
  ASSERT_EQ(p.buckets.size(), 6u);
  for (std::size_t k = 0; k < 6; ++k) EXPECT_EQ(p.buckets[k].last_range, static_cast<int>(k));
}

TEST(BucketPlan, ModelStagesTileTheBuffer) {
  for (const testing::Variant& v : testing::AllVariants()) {
    ParamSet grads(testing::TinyDims(v));
    const auto size = static_cast<std::int64_t>(grads.size());
    for (std::int64_t cap : {std::int64_t{0}, std::int64_t{64}, std::int64_t{300}, size}) {
      SCOPED_TRACE(v.Name() + " cap " + std::to_string(cap));
      ExpectPlanTiles(PlanBuckets(GradientReadyStages(grads), cap), size, cap);
    }
    if (!v.tied && v.layers == 1) {
      // Unlimited: [decoder.init .. output] and [src_embed .. encoder]
      // (reported: tgt_embed, encoder.0 after it, src_embed before it).
      const BucketPlan p = PlanBuckets(GradientReadyStages(grads), size);
      ASSERT_EQ(p.buckets.size(), 2u) << v.Name();
      EXPECT_EQ(p.buckets[0].offset, grads.Offset("decoder.init.weight"));
      EXPECT_EQ(p.buckets[1].offset, 0);
    }
  }
  {
    // Two layers: tgt_embed, [encoder.1, encoder.0], src_embed are three
    // buckets (encoder.1 does not touch tgt_embed; src_embed does not
    // touch the encoder).
    ParamSet grads(testing::TinyDims({"gru", "additive", 2, false}));
    const BucketPlan p =
        PlanBuckets(GradientReadyStages(grads), static_cast<std::int64_t>(grads.size()));
    ASSERT_EQ(p.buckets.size(), 4u);
    EXPECT_EQ(p.buckets[1].offset, grads.Offset("tgt_embed.weight"));
    EXPECT_EQ(p.buckets[2].offset, grads.Offset("encoder.0.fwd.weight_ih"));
    EXPECT_EQ(p.buckets[3].offset, 0);
  }
  EXPECT_EQ(BucketFloats(25.0), 25 * 262144);
  EXPECT_EQ(BucketFloats(0.0), 0);
}

// This rank's random gradients (padding stays 0).
void FillRandom(ParamSet& g, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  for (const ParamSpec& s : g.specs()) {
    float* p = g.Get(s.name);
    for (std::int64_t i = 0; i < s.size(); ++i)
      p[i] = u(rng) * std::ldexp(1.0f, static_cast<int>(i % 9) - 4);
  }
}

// got == want bit for bit on <= 2 ranks, else within the reordering bound.
void ExpectSummedAlike(const ParamSet& got, const ParamSet& want, const ParamSet& abs_sum,
                       int ranks, const std::string& what) {
  const double bound_per_abs = 2.0 * (ranks - 1) * FLT_EPSILON;
  for (std::size_t i = 0; i < got.size(); ++i) {
    if (ranks <= 2) {
      ASSERT_EQ(std::memcmp(&got.data()[i], &want.data()[i], sizeof(float)), 0)
          << what << ": element " << i << " " << got.data()[i] << " vs " << want.data()[i];
    } else {
      ASSERT_LE(std::fabs(got.data()[i] - want.data()[i]), bound_per_abs * abs_sum.data()[i])
          << what << ": element " << i;
    }
  }
}

// The blocking sync's sums of `mine` over the ranks, and of |mine| (the
// scale of ExpectSummedAlike's bound).
struct BlockingSums {
  BlockingSums(GradSync& blocking, const ParamSet& mine) : want(mine), abs_sum(mine) {
    for (std::size_t i = 0; i < mine.size(); ++i) abs_sum.data()[i] = std::fabs(mine.data()[i]);
    StepTotals t;
    blocking.Finish(want, t);
    blocking.Finish(abs_sum, t);
  }
  ParamSet want, abs_sum;
};

TEST(OverlapGradSync, EqualsTheBlockingAllreduceOverSteps) {
  Comm& comm = testing::World();
  const int n = comm.size(), r = comm.rank();
  const ModelDims d = testing::TinyDims({"gru", "additive", 2, false});
  const auto blocking = MakeAllreduceGradSync(comm);
  // poll_us 0: blocking allreduces on the thread; 1 and 200: non-blocking
  // ones tested between sleeps (Comm::AllreducePolled).
  for (const auto& [cap, poll_us] :
       {std::pair{std::int64_t{0}, 0}, std::pair{std::int64_t{200}, 0},
        std::pair{std::int64_t{1} << 30, 0}, std::pair{std::int64_t{0}, 200},
        std::pair{std::int64_t{200}, 1}, std::pair{std::int64_t{1} << 30, 200}}) {
    OverlapGradSync sync(comm, cap, poll_us, WireDtype::kF32,
                         false);  // the tables in the buckets too
    for (int step = 0; step < 3; ++step) {
      SCOPED_TRACE("cap " + std::to_string(cap) + " poll_us " + std::to_string(poll_us) + " step " +
                   std::to_string(step));
      ParamSet mine(d);
      FillRandom(mine, static_cast<std::uint32_t>(1000 * step + r));
      const BlockingSums sums(*blocking, mine);

      ParamSet got(d);
      got = mine;
      const GradReadyFn hook = sync.BeginLastBackward(got);
      ASSERT_TRUE(static_cast<bool>(hook));
      // Report the ranges as a backward pass would, with pauses, so that
      // buckets are in flight while later ranges are reported.
      for (const auto& [off, cnt] : sync.plan().ranges) {
        hook(off, cnt);
        if (r == step % n) std::this_thread::sleep_for(std::chrono::microseconds(300));
      }
      StepTotals totals;
      totals.loss = 0.25 * (r + 1);
      totals.tgt_tokens = r + 1;
      totals.src_tokens = 2 * (r + 1);
      totals.stop_time = r == 0 ? 1 : 0;
      sync.Finish(got, totals);
      ExpectSummedAlike(got, sums.want, sums.abs_sum, n, "hooked");
      EXPECT_EQ(totals.tgt_tokens, n * (n + 1) / 2);
      EXPECT_EQ(totals.src_tokens, n * (n + 1));
      EXPECT_EQ(totals.stop_time, 1);
      EXPECT_EQ(totals.stop_signal, 0);
      EXPECT_DOUBLE_EQ(totals.loss, 0.25 * n * (n + 1) / 2);

      // Without a hook (or BeginLastBackward): Finish reduces everything.
      ParamSet again(d);
      again = mine;
      StepTotals t2;
      sync.Finish(again, t2);
      ASSERT_EQ(std::memcmp(again.data(), got.data(), got.size() * sizeof(float)), 0)
          << "the same buckets in the same order give the same bits";
    }
    const OverlapSyncStats s = sync.stats();
    EXPECT_EQ(s.steps, 6);
    EXPECT_EQ(s.buckets, 6 * static_cast<std::int64_t>(sync.plan().buckets.size()));
    EXPECT_EQ(s.backward_posted, 3 * static_cast<double>(sync.plan().buckets.size()));
    EXPECT_DOUBLE_EQ(s.bytes, 6.0 * static_cast<double>(ParamSet(d).size()) * sizeof(float));
  }
}

// Once Finish waits, the backward pass is over and the communication
// thread waits blocking instead of sleeping between tests: with a poll
// interval of 4 s, a step whose buckets are all handed over by Finish
// still ends at once (sleeping, it would take 4 s a bucket). Under
// mpiexec only: one process has nothing to wait for.
TEST(OverlapGradSync, FinishWaitsWithoutSleeping) {
  Comm& comm = testing::World();
  const int n = comm.size(), r = comm.rank();
  const ModelDims d = testing::TinyDims({"gru", "additive", 2, false});
  const auto blocking = MakeAllreduceGradSync(comm);
  // 4 buckets (with the embedding tables in them).
  OverlapGradSync sync(comm, std::int64_t{1} << 30, 4'000'000, WireDtype::kF32, false);
  for (int step = 0; step < 3; ++step) {
    ParamSet got(d);
    FillRandom(got, static_cast<std::uint32_t>(77 * step + r));
    const BlockingSums sums(*blocking, got);
    // One rank arrives late, so the others' allreduces are in flight
    // (not complete at their first test) when they start waiting.
    if (r == step % n) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    const double t0 = Now();
    StepTotals totals;
    sync.Finish(got, totals);
    const double s = Now() - t0;
    ASSERT_LT(s, 2.0) << "step " << step << ": Finish slept between tests";
    ExpectSummedAlike(got, sums.want, sums.abs_sum, n, "step " + std::to_string(step));
  }
  EXPECT_GT(sync.plan().buckets.size(), 1u);
}

TEST(OverlapGradSync, RejectsARangeOutOfPlanOrder) {
  Comm& comm = testing::World();
  const ModelDims d = testing::TinyDims({});
  ParamSet g(d);
  OverlapGradSync sync(comm, 0);
  const GradReadyFn hook = sync.BeginLastBackward(g);
  const auto second = sync.plan().ranges.at(1);
  EXPECT_THROW(hook(second.first, second.second), std::logic_error);
  StepTotals t;
  sync.Finish(g, t);  // nothing was handed over: still a complete step
  EXPECT_EQ(sync.stats().steps, 1);
}

// The model's own hook: each rank's part of one global batch, synced
// by the overlapped and by the blocking implementation, against the whole
// batch computed by one process.
TEST(OverlapGradSync, WithTheModelEqualsBlockingAndOneProcess) {
  Comm& comm = testing::World();
  const int n = comm.size(), r = comm.rank();
  ops::Context ctx(1);
  for (const testing::Variant& v :
       {testing::Variant{}, testing::Variant{"lstm", "general", 2, true}}) {
    SCOPED_TRACE(v.Name());
    const ModelDims d = testing::TinyDims(v);
    ModelOptions opts;
    opts.dropout = 0.3f;  // masks keyed by global sentence: split-independent
    opts.seed = 5;
    Model model(ctx, d, opts);
    ParamSet params(d);
    testing::RandomParams(params, 42);
    // 3 sentences: under 4 ranks one rank has an empty part.
    const Batch whole = testing::MakeBatch({4, 2, 5}, {3, 5, 2}, d, 9);
    const int from = whole.size * r / n, to = whole.size * (r + 1) / n;
    Batch part = from < to ? testing::SubBatch(whole, from, to) : Batch{};
    part.first = from;
    part.global_tgt_tokens = whole.global_tgt_tokens;
    const float scale = 1.0f / static_cast<float>(whole.global_tgt_tokens);

    ParamSet g_overlap(d), g_block(d), g_one(d), abs_sum(d);
    OverlapGradSync overlap(comm, 40);
    const auto blocking = MakeAllreduceGradSync(comm);
    StepTotals t_overlap, t_block, t_unused;
    // The overlapped sync sends the embedding rows the part looks up.
    EmbeddingRows touched;
    AddTouchedRows(part, touched);
    overlap.SetTouchedRows(touched);
    const GradReadyFn hook = overlap.BeginLastBackward(g_overlap);
    const StepResult res = model.ForwardBackward(params, g_overlap, part, scale, 3, hook);
    t_overlap.loss = res.loss;
    t_overlap.tgt_tokens = res.tokens;
    overlap.Finish(g_overlap, t_overlap);
    EXPECT_EQ(overlap.stats().backward_posted, static_cast<double>(overlap.plan().buckets.size()))
        << "the model's hook handed over every bucket";

    const StepResult res2 = model.ForwardBackward(params, g_block, part, scale, 3);
    // The rows outside the touched ones have no gradient (tgt_embed has
    // one in every row when it is the output layer too).
    for (const auto& [name, rows] : {std::pair{"src_embed.weight", &touched.src},
                                     std::pair{"tgt_embed.weight", &touched.tgt}}) {
      if (d.tie_target_embeddings && name == std::string("tgt_embed.weight")) continue;
      const float* g = g_block.Get(name);
      const std::int64_t vocab = name == std::string("src_embed.weight") ? d.Vs : d.Vt;
      for (std::int64_t row = 0; row < vocab; ++row) {
        if (std::ranges::binary_search(*rows, row)) continue;
        for (std::int64_t e = 0; e < d.E; ++e) {
          ASSERT_EQ(g[row * d.E + e], 0.0f) << name << " row " << row << " is not touched";
        }
      }
    }
    for (std::size_t i = 0; i < g_block.size(); ++i)
      abs_sum.data()[i] = std::fabs(g_block.data()[i]);
    t_block.loss = res2.loss;
    t_block.tgt_tokens = res2.tokens;
    blocking->Finish(g_block, t_block);
    blocking->Finish(abs_sum, t_unused);
    ExpectSummedAlike(g_overlap, g_block, abs_sum, n, "model");
    EXPECT_EQ(t_overlap.tgt_tokens, whole.global_tgt_tokens);
    EXPECT_EQ(t_overlap.loss, t_block.loss);

    const StepResult one = model.ForwardBackward(params, g_one, whole, scale, 3);
    // Each rank's part runs other kernels (other batch sizes) than the
    // whole batch: float rounding of the model's sums, as in model_test.
    const double tol = testing::ModelTolerance(d, whole);
    EXPECT_NEAR(t_overlap.loss, one.loss, tol * std::max(1.0, std::fabs(one.loss)));
    testing::ExpectSetsClose(g_one, g_overlap.data(), g_one.data(), tol, "1 vs N ranks");
  }
}

}  // namespace
}  // namespace rnnsearch
