// GradSync (trainer/dist/grad_sync.h) under 1, 2 and 3 processes: after
// Finish every rank holds the sum of all ranks' gradient buffers and
// totals; a stop request on one rank reaches every rank.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <ctime>
#include <fstream>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "tests/mpi_test_env.h"
#include "tests/trainer/model_fixture.h"
#include "trainer/dist/grad_sync.h"
#include "trainer/dist/grad_sync_overlap.h"
#include "trainer/dist/grad_sync_shm.h"
#include "trainer/optim/ema.h"
#include "trainer/optim/optimizer.h"

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
  EXPECT_FALSE(UseOverlappedSync(OverlapMode::kAuto, 2, 2));  // one node
  EXPECT_FALSE(UseOverlappedSync(OverlapMode::kAuto, 8, 8));
  EXPECT_TRUE(UseOverlappedSync(OverlapMode::kAuto, 4, 2));  // two nodes of 2
  EXPECT_TRUE(UseOverlappedSync(OverlapMode::kAuto, 3, 1));
  EXPECT_TRUE(UseOverlappedSync(OverlapMode::kOn, 2, 2));
  EXPECT_FALSE(UseOverlappedSync(OverlapMode::kOff, 4, 2));
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

// A value that rounds differently in another summation order (one
// division: nothing the compiler could contract into an FMA).
float Part(int rank, std::size_t i, int step) {
  return static_cast<float>(rank + 1) / static_cast<float>(3 + (i * 7 + step) % 101);
}

TEST(GradSync, SharedMemorySumsInRankOrderOnEveryRank) {
  Comm& comm = testing::World();
  const int n = comm.size(), r = comm.rank();
  ParamSet grads(testing::TinyDims({}));
  SharedMemoryGradSync sync(comm);
  for (int step = 0; step < 3; ++step) {
    auto fill = [&] {
      for (std::size_t i = 0; i < grads.size(); ++i) grads.data()[i] = Part(r, i, step);
    };
    grads.Zero();
    if (step == 0) fill();  // moved into the segment with its values
    EXPECT_FALSE(static_cast<bool>(sync.BeginLastBackward(grads)));
    ASSERT_TRUE(sync.active()) << sync.fallback_reason();
    if (step != 0) fill();  // the backward pass writes into the segment
    StepTotals totals;
    totals.tgt_tokens = r + 1;
    totals.stop_time = r == 0 ? 1 : 0;
    sync.Finish(grads, totals);
    for (std::size_t i = 0; i < grads.size(); ++i) {
      float want = Part(0, i, step);
      for (int k = 1; k < n; ++k) want += Part(k, i, step);
      ASSERT_EQ(grads.data()[i], want) << "step " << step << " element " << i;
    }
    EXPECT_EQ(totals.tgt_tokens, n * (n + 1) / 2);
    EXPECT_EQ(totals.stop_time, 1);
  }
  // The buffer outlives the sync (it keeps the segment mapped).
  const ParamSet copy = grads;
  EXPECT_EQ(copy.data()[3], grads.data()[3]);
}

// A name a killed job left in /dev/shm (a minute old, its creator's PID
// gone) is removed when rank 0 creates a segment; a younger one, and one
// whose creator lives, are kept.
TEST(GradSync, SharedMemoryRemovesSegmentsOfKilledJobs) {
  Comm& comm = testing::World();
  // PIDs are below pid_max: no process has this one.
  std::ifstream pid_max_file("/proc/sys/kernel/pid_max");
  long dead = 0;
  ASSERT_TRUE(pid_max_file >> dead);
  const std::string tag = std::to_string(getpid());
  const std::string stale = "/rnnsearch-grad-" + std::to_string(dead) + "-" + tag;
  const std::string young = "/rnnsearch-grad-" + std::to_string(dead) + "-" + tag + "y";
  const std::string alive = "/rnnsearch-grad-" + std::to_string(getpid()) + "-" + tag + "a";
  auto exists = [](const std::string& name) {
    return ::access(("/dev/shm" + name).c_str(), F_OK) == 0;
  };
  if (comm.rank() == 0) {
    for (const std::string& name : {stale, young, alive}) {
      const int fd = shm_open(name.c_str(), O_CREAT | O_EXCL | O_RDWR, 0600);
      ASSERT_GE(fd, 0) << name;
      ASSERT_EQ(ftruncate(fd, 4096), 0);
      if (name != young) {
        const timespec old[2] = {{std::time(nullptr) - 120, 0}, {std::time(nullptr) - 120, 0}};
        ASSERT_EQ(futimens(fd, old), 0);
      }
      close(fd);
    }
  }
  comm.Barrier();
  {
    ParamSet grads(testing::TinyDims({}));
    SharedMemoryGradSync sync(comm);
    sync.BeginLastBackward(grads);
    ASSERT_TRUE(sync.active()) << sync.fallback_reason();
  }
  comm.Barrier();
  if (comm.rank() == 0) {
    EXPECT_FALSE(exists(stale));
    EXPECT_TRUE(exists(young));
    EXPECT_TRUE(exists(alive));
    for (const std::string& name : {stale, young, alive}) shm_unlink(name.c_str());
  }
}

TEST(GradSync, SharedMemoryFallsBackToAllreduceWithoutRoom) {
  Comm& comm = testing::World();
  const int n = comm.size(), r = comm.rank();
  ParamSet grads(testing::TinyDims({}));
  SharedMemoryGradSync sync(comm, /*max_segment_bytes=*/4096);
  for (std::size_t i = 0; i < grads.size(); ++i) grads.data()[i] = static_cast<float>(r + i % 5);
  float* const own = grads.data();
  sync.BeginLastBackward(grads);
  StepTotals totals;
  totals.loss = 1;
  sync.Finish(grads, totals);
  EXPECT_FALSE(sync.active());
  EXPECT_NE(sync.fallback_reason().find("exceeds the limit of 4096 bytes"), std::string::npos)
      << sync.fallback_reason();
  EXPECT_EQ(grads.data(), own);  // not moved
  for (std::size_t i = 0; i < grads.size(); ++i) {
    ASSERT_EQ(grads.data()[i], static_cast<float>(n * (n - 1) / 2 + n * static_cast<int>(i % 5)));
  }
  EXPECT_EQ(totals.loss, n);
}

// The shared state (ShareState): each rank sums and updates its part of
// one copy of the parameters, Adam's moments and the moving average, and
// after three clipped steps every buffer holds the bits of the whole
// update applied by one process to the same summed gradients.
TEST(GradSync, SharedStateSplitsTheUpdateAndKeepsItsBits) {
  Comm& comm = testing::World();
  const int n = comm.size(), r = comm.rank();
  const ModelDims d = testing::TinyDims({});
  auto init = [&](ParamSet& p) {
    for (std::size_t i = 0; i < p.size(); ++i) p.data()[i] = Part(7, i, 1) - 0.5f;
  };
  // One process's update of the summed gradients.
  ParamSet ref(d), ref_grads(d);
  init(ref);
  Optimizer ref_opt(OptimizerOptions{}, d);
  Ema ref_ema(0.9, ref);
  std::vector<UpdateStats> ref_stats;
  for (int step = 0; step < 3; ++step) {
    for (std::size_t i = 0; i < ref_grads.size(); ++i) {
      float sum = Part(0, i, step);
      for (int k = 1; k < n; ++k) sum += Part(k, i, step);
      ref_grads.data()[i] = sum;
    }
    ref_stats.push_back(ApplyUpdate(ref_opt, ref, ref_grads, 0.01, 0.5));
    ref_ema.Update(ref);
  }

  ParamSet params(d), grads(d);
  init(params);
  Optimizer opt(OptimizerOptions{}, d);
  Ema ema(0.9, params);
  SharedMemoryGradSync sync(comm);
  std::vector<ParamSet*> state = {&params, &ema.params()};
  for (const StateRefs::Buffers& b : opt.State().buffers) state.push_back(b.set);
  ASSERT_TRUE(sync.ShareState(state));
  EXPECT_TRUE(params.external());
  const buffer_loops::ChunkRange mine = sync.Part().range;
  const std::int64_t chunks = buffer_loops::NumChunks(params.size());
  EXPECT_EQ(mine.first, chunks * r / n);
  EXPECT_EQ(mine.last, chunks * (r + 1) / n);
  for (int step = 0; step < 3; ++step) {
    grads.Zero();
    sync.BeginLastBackward(grads);
    for (std::size_t i = 0; i < grads.size(); ++i) grads.data()[i] = Part(r, i, step);
    StepTotals totals;
    sync.Finish(grads, totals);
    const UpdatePart part = sync.Part();
    ASSERT_TRUE(part.grad_sum_of_squares.has_value());
    const UpdateStats st = ApplyUpdate(opt, params, grads, 0.01, 0.5, part);
    EXPECT_EQ(st.grad_norm, ref_stats[static_cast<std::size_t>(step)].grad_norm) << step;
    EXPECT_LT(st.clip_factor, 1.0);  // the clipping is exercised
    ema.Update(params, part.range);
    sync.EndUpdate();
  }
  // Every rank sees every part (one copy), bit for bit the reference.
  for (const auto& [what, got, want] :
       {std::tuple{"params", &params, &ref}, std::tuple{"ema", &ema.params(), &ref_ema.params()},
        std::tuple{"adam.m", opt.State().buffers[0].set, ref_opt.State().buffers[0].set},
        std::tuple{"adam.v", opt.State().buffers[1].set, ref_opt.State().buffers[1].set}}) {
    ASSERT_EQ(got->size(), want->size());
    for (std::size_t i = 0; i < got->size(); ++i) {
      ASSERT_EQ(got->data()[i], want->data()[i]) << what << "[" << i << "] on rank " << r;
    }
  }
}

// Room for the gradients but not for the state: every rank keeps its
// own copy and updates all of it, with every buffer holding the sums.
TEST(GradSync, SharedStateFallsBackToACopyPerRank) {
  Comm& comm = testing::World();
  const int n = comm.size(), r = comm.rank();
  const ModelDims d = testing::TinyDims({});
  ParamSet params(d), grads(d);
  Optimizer opt(OptimizerOptions{}, d);
  const std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  const std::size_t stride = (grads.size() * sizeof(float) + page - 1) / page * page;
  // Exactly the gradient segment; the state's (3 buffers and the chunks'
  // sums) is larger for 1-3 ranks.
  SharedMemoryGradSync sync(comm, stride * static_cast<std::size_t>(n));
  std::vector<ParamSet*> state = {&params};
  for (const StateRefs::Buffers& b : opt.State().buffers) state.push_back(b.set);
  EXPECT_FALSE(sync.ShareState(state));
  EXPECT_TRUE(sync.active());  // the gradients are still summed in shared memory
  EXPECT_FALSE(params.external());
  EXPECT_TRUE(sync.Part().range.whole());
  EXPECT_FALSE(sync.Part().grad_sum_of_squares.has_value());
  for (std::size_t i = 0; i < grads.size(); ++i) grads.data()[i] = Part(r, i, 0);
  sync.BeginLastBackward(grads);
  StepTotals totals;
  sync.Finish(grads, totals);
  for (std::size_t i = 0; i < grads.size(); ++i) {
    float want = Part(0, i, 0);
    for (int k = 1; k < n; ++k) want += Part(k, i, 0);
    ASSERT_EQ(grads.data()[i], want) << i;
  }
}

TEST(GradSync, SharedMemoryOnlyForTheBlockingSyncOnOneNode) {
  Comm& comm = testing::World();
  if (comm.size() == 1) return;  // the local sync
  ParamSet grads(testing::TinyDims({}));
  const float* own = grads.data();
  DistConfig plain;
  plain.shared_memory = false;
  MakeGradSync(comm, plain)->BeginLastBackward(grads);
  EXPECT_EQ(grads.data(), own);
  MakeGradSync(comm, DistConfig{})->BeginLastBackward(grads);  // moves it into a segment
  EXPECT_NE(grads.data(), own);
  EXPECT_TRUE(DistConfig{}.shared_memory);
}

// The embedding tables as touched rows (trainer/dist/embedding_rows.h):
// every rank fills the rows it names and the rest of the buffer but leaves
// the other rows of the tables zero, as a backward pass does. The blocking
// and the overlapped sync must give the bits of one allreduce of the
// whole buffer. On 2 ranks a sum is one addition, the same in any order,
// so the values are arbitrary floats; on more ranks the library may add a
// row's terms in another order for the packed message than for the whole
// buffer, so they are multiples of 2^-12 below 1 in magnitude, whose
// sums of a few terms are exact in any order: what is tested there is
// which rows travel and where their sums land.
EmbeddingRows RowsOf(int rank, bool tied_rows_outside) {
  // Rank 1 touches no source row; ranks 0 and 2 overlap in 5 and 7.
  switch (rank % 3) {
    case 0:
      return {{1, 5, 7}, tied_rows_outside ? std::vector<std::int32_t>{2} : std::vector{2, 3, 12}};
    case 1: return {{}, {2, 9}};
    default: return {{5, 7, 10}, {2}};
  }
}

float RowValue(int n, int rank, std::size_t i, int step) {
  if (n == 2) return Part(rank, i, step);
  return static_cast<float>(static_cast<int>((i * 37 + rank * 11 + step) % 8191) - 4095) / 4096.0f;
}

// This rank's gradient: RowValue everywhere but the rows of the tables it
// does not touch (and the padding). tied: tgt_embed is the output layer,
// every row of it has a value.
ParamSet RowGradients(const ModelDims& d, int n, int rank, int step) {
  ParamSet g(d);
  const EmbeddingRows rows = RowsOf(rank, d.tie_target_embeddings);
  for (const ParamSpec& s : g.specs()) {
    float* p = g.Get(s.name);
    const std::int64_t base = g.Offset(s.name);
    for (std::int64_t i = 0; i < s.size(); ++i) {
      const std::int64_t row = i / d.E;
      const bool outside =
          (s.name == "src_embed.weight" && !std::ranges::binary_search(rows.src, row)) ||
          (s.name == "tgt_embed.weight" && !d.tie_target_embeddings &&
           !std::ranges::binary_search(rows.tgt, row));
      p[i] = outside ? 0.0f : RowValue(n, rank, static_cast<std::size_t>(base + i), step);
    }
  }
  return g;
}

TEST(GradSync, EmbeddingRowsGiveTheBitsOfTheWholeAllreduce) {
  Comm& comm = testing::World();
  const int n = comm.size(), r = comm.rank();
  for (const bool tied : {false, true}) {
    testing::Variant v;
    v.tied = tied;
    const ModelDims d = testing::TinyDims(v);
    auto overlap = std::make_unique<OverlapGradSync>(comm, 0);
    const auto blocking = MakeAllreduceGradSync(comm, WireDtype::kF32, true);
    for (int step = 0; step < 3; ++step) {
      ParamSet want = RowGradients(d, n, r, step);
      comm.Allreduce(want.data(), want.size(), ReduceOp::kSum);
      for (GradSync* sync : {static_cast<GradSync*>(overlap.get()), blocking.get()}) {
        ParamSet got = RowGradients(d, n, r, step);
        // Step 2 without rows: the tables are summed whole.
        if (step != 2) sync->SetTouchedRows(RowsOf(r, tied));
        const GradReadyFn ready = sync->BeginLastBackward(got);
        if (ready) {
          for (const auto& stage : GradientReadyStages(got)) {
            for (const auto& [offset, count] : stage) ready(offset, count);
          }
        }
        StepTotals totals;
        sync->Finish(got, totals);
        ASSERT_EQ(std::memcmp(got.data(), want.data(), want.size() * sizeof(float)), 0)
            << (ready ? "overlapped" : "blocking") << " sync, step " << step << ", tied " << tied;
      }
    }
    // The overlapped sync kept the tables out of its buckets.
    const ParamSet g(d);
    std::int64_t bucketed = 0;
    for (const GradBucket& b : overlap->plan().buckets) bucketed += b.count;
    const std::int64_t tables =
        g.Offset("tgt_embed.weight") - g.Offset("src_embed.weight") +
        (tied ? 0 : g.Offset("encoder.0.fwd.weight_ih") - g.Offset("tgt_embed.weight"));
    EXPECT_EQ(bucketed, static_cast<std::int64_t>(g.size()) - tables);
  }
}

TEST(GradSync, AllgatherOfVaryingCounts) {
  Comm& comm = testing::World();
  const int n = comm.size(), r = comm.rank();
  std::vector<std::int32_t> mine(static_cast<std::size_t>(r));  // rank 0: none
  for (int k = 0; k < r; ++k) mine[static_cast<std::size_t>(k)] = 100 * r + k;
  std::vector<int> counts;
  const std::vector<std::int32_t> all = comm.Allgather(mine, &counts);
  std::vector<std::int32_t> want;
  for (int q = 0; q < n; ++q) {
    for (int k = 0; k < q; ++k) want.push_back(100 * q + k);
  }
  EXPECT_EQ(all, want);
  ASSERT_EQ(counts.size(), static_cast<std::size_t>(n));
  for (int q = 0; q < n; ++q) EXPECT_EQ(counts[static_cast<std::size_t>(q)], q);
}

TEST(TouchedRows, AreTheLookedUpIdsButPadAndTheLastTargets) {
  // Two sentences, [T, B] layout: sources (4 5 3) and (6 3 0), targets
  // (7 8 3) and (9 3 0); the decoder's inputs are <s> and the targets of
  // the first two steps.
  Batch b;
  b.size = 2;
  b.src_steps = 3;
  b.tgt_steps = 3;
  b.src = {4, 6, 5, 3, 3, 0};
  b.tgt = {7, 9, 8, 3, 3, 0};
  EmbeddingRows rows;
  AddTouchedRows(b, rows);
  EXPECT_EQ(rows, (EmbeddingRows{{3, 4, 5, 6}, {2, 3, 7, 8, 9}}));
  Batch c = b;
  c.src = {10, 1, 0, 0, 0, 0};
  c.tgt = {12, 11, 0, 0, 0, 0};  // the last step's 0s add nothing
  AddTouchedRows(c, rows);       // merged: the union
  EXPECT_EQ(rows, (EmbeddingRows{{1, 3, 4, 5, 6, 10}, {2, 3, 7, 8, 9, 11, 12}}));
  Batch empty;
  AddTouchedRows(empty, rows);
  EXPECT_EQ(rows.src.size(), 6u);
}

}  // namespace
}  // namespace rnnsearch
