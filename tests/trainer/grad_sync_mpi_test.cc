// GradSync (trainer/grad_sync.h) under 1, 2 and 3 processes: after
// Finish every rank holds the sum of all ranks' gradient buffers and
// totals; a stop request on one rank reaches every rank.
#include "trainer/grad_sync.h"

#include <gtest/gtest.h>

#include "tests/mpi_test_env.h"
#include "tests/trainer/model_fixture.h"

namespace rnnsearch {
namespace {

TEST(GradSync, FinishSumsBuffersAndTotalsOnEveryRank) {
  Comm& comm = testing::World();
  const int n = comm.size(), r = comm.rank();
  const ModelDims d = testing::TinyDims({});
  ParamSet grads(d);
  // Integers: exact in any summation order.
  for (const ParamSpec& s : grads.specs()) {
    float* g = grads.Get(s.name);
    for (std::int64_t i = 0; i < s.size(); ++i) g[i] = static_cast<float>((r + 1) * (i % 7));
  }
  StepTotals totals;
  totals.loss = r + 0.5;
  totals.tgt_tokens = r + 1;
  totals.src_tokens = 10 * (r + 1);
  totals.stop_signal = r == n - 1 ? 1 : 0;
  DistConfig blocking;
  blocking.overlap = "false";
  const auto sync = MakeGradSync(comm, blocking);
  EXPECT_FALSE(static_cast<bool>(sync->BeginLastBackward(grads)));  // blocking: no hook
  sync->Finish(grads, totals);
  const int tri = n * (n + 1) / 2;
  for (const ParamSpec& s : grads.specs()) {
    const float* g = grads.Get(s.name);
    for (std::int64_t i = 0; i < s.size(); ++i) {
      ASSERT_EQ(g[i], static_cast<float>(tri * (i % 7))) << s.name << "[" << i << "]";
    }
  }
  EXPECT_DOUBLE_EQ(totals.loss, n * n / 2.0);
  EXPECT_EQ(totals.tgt_tokens, tri);
  EXPECT_EQ(totals.src_tokens, 10 * tri);
  EXPECT_EQ(totals.stop_signal, 1);
  EXPECT_EQ(totals.stop_time, 0);
}

TEST(GradSync, AutoOverlapsOnlyAcrossNodes) {
  EXPECT_FALSE(UseOverlappedSync("auto", 2, 2));  // one node
  EXPECT_FALSE(UseOverlappedSync("auto", 8, 8));
  EXPECT_TRUE(UseOverlappedSync("auto", 4, 2));   // two nodes of 2
  EXPECT_TRUE(UseOverlappedSync("auto", 3, 1));
  EXPECT_TRUE(UseOverlappedSync("true", 2, 2));
  EXPECT_FALSE(UseOverlappedSync("false", 4, 2));
  EXPECT_EQ(DistConfig{}.overlap, "auto");

  // The test's ranks share this node: the default is the blocking sync
  // (no backward hook), dist.overlap: true the overlapped one (a hook).
  Comm& comm = testing::World();
  if (comm.size() == 1) return;
  ParamSet grads(testing::TinyDims({}));
  StepTotals totals;
  EXPECT_FALSE(static_cast<bool>(MakeGradSync(comm, DistConfig{})->BeginLastBackward(grads)));
  DistConfig overlap;
  overlap.overlap = "true";
  const auto sync = MakeGradSync(comm, overlap);
  EXPECT_TRUE(static_cast<bool>(sync->BeginLastBackward(grads)));
  sync->Finish(grads, totals);
}

TEST(GradSync, LocalSyncLeavesEverything) {
  const ModelDims d = testing::TinyDims({});
  ParamSet grads(d);
  grads.data()[0] = 3;
  StepTotals totals;
  totals.loss = 2;
  MakeLocalGradSync()->Finish(grads, totals);
  EXPECT_EQ(grads.data()[0], 3.0f);
  EXPECT_EQ(totals.loss, 2.0);
}

}  // namespace
}  // namespace rnnsearch
