// Data-parallel `rnnsearch train` as users run it under mpiexec: the same
// global batches on 1, 2 and 4 ranks give the same parameters up to float
// summation order, the overlapped and the blocking gradient sync agree,
// runs repeat bit for bit, and a run checkpointed on 2 ranks resumes on 1
// or on 4 with the same sequence of global batches.
//
// Tolerances, on the parameters after the runs' steps (weights are
// O(0.1-1), train.lr = 0.01). Every gradient element is summed in another
// order over 1, 2 or 4 batch parts, which changes it by float rounding.
//   SGD moves each weight by lr x gradient: 1e-6 (lr x 1e-4 after 8 steps;
//       measured 1.5e-8).
//   Adam: ExpectAdamRunsClose (train_fixture.h), from the gradients'
//       rounding and Adam's largest move.
// Per-step losses (metrics.jsonl): within the rounding of the sums of a
// step, TaskGradTolerance; another batch would change them by far more.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <regex>

#include "tests/trainer/train_fixture.h"

namespace rnnsearch::testing {
namespace {

constexpr double kLr = 0.01, kSgdTol = 1e-6;  // train.lr of tiny.yaml

// The largest |a - b| and the tensor it is in.
struct Diff {
  double max = 0;
  std::string tensor;
};
Diff MaxDiff(const ParamSet& a, const ParamSet& b) {
  EXPECT_EQ(a.size(), b.size());
  Diff d;
  if (a.size() != b.size()) return {1e30, "(sizes differ)"};
  for (const ParamSpec& s : a.specs()) {
    const float* x = a.Get(s.name);
    const float* y = b.Get(s.name);
    for (std::int64_t i = 0; i < s.size(); ++i) {
      const double e = std::fabs(double{x[i]} - double{y[i]});
      if (e > d.max) d = {e, s.name};
    }
  }
  return d;
}

class DistCli : public TrainFixture {};

// Expects |a - b| <= tol everywhere, naming the worst tensor.
void ExpectClose(const ParamSet& a, const ParamSet& b, double tol, const std::string& what) {
  const Diff d = MaxDiff(a, b);
  EXPECT_LE(d.max, tol) << what << ": largest difference in " << d.tensor;
  std::printf("%s: max |difference| %g (%s)\n", what.c_str(), d.max, d.tensor.c_str());
}

TEST_F(DistCli, OneTwoAndFourRanksAgreeAndRepeatExactly) {
  // Dropout (masks keyed by global sentence) and accumulation on; tiny
  // buckets (0.0005 MB = 131 floats) so that the overlapped sync runs many.
  const std::string sets =
      "--set train.max_steps=8 --set train.dropout=0.1 --set train.accumulate=2 "
      "--set dist.bucket_mb=0.0005 --set train.log_every=1 ";
  // The overlapped sync is named: on one node dist.overlap: auto (the
  // default) picks the blocking one through shared memory, which w2s and
  // w4b get so; w2b is the blocking MPI allreduce.
  const std::string overlap = "--set dist.overlap=true ";
  Train("w1", sets);
  const ProcessResult r2 = Train("w2", sets + overlap, 0, 2);
  EXPECT_NE(r2.err.find("gradient sync: overlapped"), std::string::npos) << r2.err;
  const ProcessResult r2b =
      Train("w2b", sets + "--set dist.overlap=false --set dist.shared_memory=false", 0, 2);
  EXPECT_NE(r2b.err.find("gradient sync: blocking, one allreduce"), std::string::npos) << r2b.err;
  EXPECT_NE(r2b.err.find("dist.overlap: false"), std::string::npos) << r2b.err;
  const ProcessResult r2s = Train("w2s", sets, 0, 2);
  EXPECT_NE(r2s.err.find("in shared memory"), std::string::npos) << r2s.err;
  Train("w4", sets + overlap, 0, 4);
  Train("w4again", sets + overlap, 0, 4);
  const ProcessResult r4b = Train("w4b", sets, 0, 4);
  EXPECT_NE(r4b.err.find("gradient sync: blocking, each rank sums its slice"), std::string::npos)
      << r4b.err;
  EXPECT_NE(r4b.err.find("dist.overlap: auto, all ranks on one node"), std::string::npos)
      << r4b.err;
  EXPECT_EQ(r4b.err.find("no shared-memory segment"), std::string::npos) << r4b.err;
  const std::string sgd = sets + "--set train.optimizer=sgd --set train.clip_norm=0 ";
  Train("s1", sgd);
  Train("s4", sgd, 0, 4);
  auto params = [](const std::string& run) { return ReadSet(Path(run + "/ckpt-8.h5"), "params"); };
  const ParamSet w1 = params("w1"), w2 = params("w2"), w4 = params("w4");
  // 2 ranks: each summed element is one float addition in either sync.
  EXPECT_TRUE(SameBytes(w2, params("w2b"))) << "2 ranks: overlapped and blocking sync differ";
  EXPECT_TRUE(SameBytes(w2, params("w2s"))) << "2 ranks: overlapped and shared-memory sync differ";
  EXPECT_TRUE(SameBytes(w4, params("w4again"))) << "4 ranks: two runs of the same job differ";
  const double grad_tol = TaskGradTolerance(w1.dims());
  ExpectAdamRunsClose(w1, w2, kLr, 8, grad_tol, "Adam, 1 vs 2 ranks");
  ExpectAdamRunsClose(w1, w4, kLr, 8, grad_tol, "Adam, 1 vs 4 ranks");
  ExpectAdamRunsClose(w4, params("w4b"), kLr, 8, grad_tol,
                      "Adam, 4 ranks overlapped vs shared memory");
  ExpectClose(params("s1"), params("s4"), kSgdTol, "SGD, 1 vs 4 ranks");
  EXPECT_FALSE(SameBytes(w1, ReadSet(Path("s1/ckpt-8.h5"), "params")));
  // Progress: the share of step time in the sync with more than one rank
  // only; the reader's share always, both between 0 and 1.
  const std::regex share("\"data_share\":([0-9.e-]+),\"sync_share\":(null|[0-9.e-]+),");
  for (const auto& [run, ranks] : {std::pair{"w1", 1}, std::pair{"w2", 2}, std::pair{"w4b", 4}}) {
    int lines = 0;
    for (const std::string& line : ReadLines(Path(std::string(run) + "/metrics.jsonl"))) {
      if (line.find("\"kind\":\"train\"") == std::string::npos) continue;
      std::smatch m;
      ASSERT_TRUE(std::regex_search(line, m, share)) << run << ": " << line;
      EXPECT_GE(std::stod(m[1]), 0.0) << line;
      EXPECT_LE(std::stod(m[1]), 1.0) << line;
      if (ranks == 1) {
        EXPECT_EQ(m[2], "null") << line;
      } else {
        ASSERT_NE(m[2], "null") << line;
        EXPECT_GT(std::stod(m[2]), 0.0) << line;
        EXPECT_LT(std::stod(m[2]), 1.0) << line;
      }
      ++lines;
    }
    EXPECT_EQ(lines, 8) << run;
  }
  const double loss_tol = TaskGradTolerance(w1.dims());
  const auto l1 = StepLosses(Path("w1/metrics.jsonl"));
  const auto l4 = StepLosses(Path("w4/metrics.jsonl"));
  ASSERT_EQ(l1.size(), 8u);
  ASSERT_EQ(l4.size(), 8u);
  for (std::size_t k = 0; k < l1.size(); ++k) {
    EXPECT_EQ(l1[k].first, l4[k].first);
    EXPECT_NEAR(l1[k].second, l4[k].second, loss_tol * std::fabs(l1[k].second)) << "step " << k + 1;
  }
}

// dist.wire_dtype: bf16 on 2 ranks through MPI (not shared memory, which
// has no wire). The overlapped and the blocking sync give the same bits:
// on 2 ranks every element is bf16(bf16(a) + bf16(b)) however the buffer
// is cut into buckets (Comm::AllreduceSumBf16), as they do in f32 (one
// float addition, the test above), so one f32 run serves as the reference
// of both. bf16 moves each summed gradient element by at most about 2^-7
// of itself (its inputs' rounding and its own; common/comm.h), and Adam's
// step per element depends on the gradient's ratio to its running RMS, so
// the runs' steps differ by about that fraction and their losses by less
// than 1%, where the loss measures learning: the tiny task is memorised
// after about 110 steps (loss under 0.2); from then on the loss is near 0
// and jumps, and its relative changes say nothing (in one 300-step run
// bf16 and f32 losses differed by up to 40% at steps 140-160 and by 2% at
// step 300, 0.0087 vs 0.0085). So 100 steps (in that run the logged
// losses differed by at most 0.1% at every 10th step up to 100), and the
// parameters must differ (the option does something).
TEST_F(DistCli, Bf16OnTheWireTrainsLikeF32) {
  const std::string sets =
      "--set train.max_steps=100 --set train.log_every=50 --set dist.shared_memory=false ";
  const ProcessResult f32 = Train("f32", sets + "--set dist.overlap=false", 0, 2);
  EXPECT_NE(f32.err.find("wire dtype f32"), std::string::npos) << f32.err;
  const ProcessResult bf16 =
      Train("bf16", sets + "--set dist.overlap=false --set dist.wire_dtype=bf16", 0, 2);
  EXPECT_NE(bf16.err.find("gradient sync: blocking, one allreduce"), std::string::npos) << bf16.err;
  EXPECT_NE(bf16.err.find("wire dtype bf16"), std::string::npos) << bf16.err;
  const ProcessResult bf16o = Train(
      "bf16o",
      sets + "--set dist.overlap=true --set dist.bucket_mb=0.01 --set dist.wire_dtype=bf16", 0, 2);
  EXPECT_NE(bf16o.err.find("gradient sync: overlapped"), std::string::npos) << bf16o.err;
  EXPECT_NE(bf16o.err.find("wire dtype bf16"), std::string::npos) << bf16o.err;
  auto params = [](const std::string& run) {
    return ReadSet(Path(run + "/ckpt-100.h5"), "params");
  };
  EXPECT_TRUE(SameBytes(params("bf16"), params("bf16o")))
      << "2 ranks, bf16: overlapped and blocking sync differ";
  EXPECT_FALSE(SameBytes(params("f32"), params("bf16"))) << "bf16 changed nothing";
  const auto f32_losses = StepLosses(Path("f32/metrics.jsonl"));
  const auto bf16_losses = StepLosses(Path("bf16/metrics.jsonl"));
  ASSERT_FALSE(f32_losses.empty());
  ASSERT_EQ(bf16_losses.size(), f32_losses.size());
  EXPECT_EQ(bf16_losses.back().first, 100);
  const double want = f32_losses.back().second, got = bf16_losses.back().second;
  EXPECT_LT(want, f32_losses.front().second) << "the f32 run did not learn";
  EXPECT_NEAR(got, want, 0.01 * want) << "final training loss, bf16 vs f32";
  std::printf("final training loss: f32 %.4f, bf16 %.4f (first logged: %.4f)\n", want, got,
              f32_losses.front().second);
}

// A shared-memory sync has no wire: dist.wire_dtype: bf16 changes nothing
// there and its log line says so.
TEST_F(DistCli, SharedMemorySyncIgnoresTheWireDtype) {
  const std::string sets = "--set train.max_steps=4 --set dist.overlap=false ";
  Train("shm_f32", sets, 0, 2);
  const ProcessResult r = Train("shm_bf16", sets + "--set dist.wire_dtype=bf16", 0, 2);
  EXPECT_NE(r.err.find("dist.wire_dtype bf16 does not apply"), std::string::npos) << r.err;
  EXPECT_TRUE(SameBytes(ReadSet(Path("shm_f32/ckpt-4.h5"), "params"),
                        ReadSet(Path("shm_bf16/ckpt-4.h5"), "params")));
}

// dist.sparse_embeddings (trainer/dist/embedding_rows.h): the embedding
// tables' gradients all-reduced as the rows the step touched give every
// bit of the whole tables' allreduce, with dropout and accumulation (the
// union over the step's batches), in the blocking and the overlapped MPI
// sync, on 2 and 3 ranks; tied target embeddings stay whole. On 2 ranks
// each sum is one addition. On 3 the ranks add in Open MPI's basic linear
// allreduce (algorithm 1: reduce to rank 0 in a fixed rank order, then
// broadcast), whose order does not depend on where an element lies in the
// message; the default ring's does, and so it would change roundings
// between the packed rows and the whole tables. The overlapped sync's
// thread then also uses the blocking allreduce (dist.comm_poll_us 0): the
// non-blocking one is another component (libnbc) with its own algorithms.
TEST_F(DistCli, SparseEmbeddingRowsGiveTheBitsOfTheWholeTables) {
  const std::string sets =
      "--set train.max_steps=8 --set train.dropout=0.1 --set train.accumulate=2 "
      "--set train.log_every=1 --set train.ema_decay=0.9 --set dist.shared_memory=false "
      "--set dist.bucket_mb=0.0005 ";
  const std::string blocking = "--set dist.overlap=false ", overlap = "--set dist.overlap=true ";
  const std::string dense = "--set dist.sparse_embeddings=false ";
  const std::string linear =
      "OMPI_MCA_coll_tuned_use_dynamic_rules=1 OMPI_MCA_coll_tuned_allreduce_algorithm=1 ";
  for (const int ranks : {2, 3}) {
    const std::string env = ranks == 2 ? "" : linear, n = std::to_string(ranks);
    const std::string all = sets + (ranks == 2 ? "" : "--set dist.comm_poll_us=0 ");
    const ProcessResult whole = Train("dense" + n, all + blocking + dense, 0, ranks, env);
    EXPECT_NE(whole.err.find("the embedding tables travel whole"), std::string::npos) << whole.err;
    for (const std::string& sync : {blocking, overlap}) {
      const std::string run = "rows" + n + (sync == blocking ? "b" : "o");
      const ProcessResult r = Train(run, all + sync, 0, ranks, env);
      EXPECT_NE(r.err.find("src_embed.weight and tgt_embed.weight travel as the rows"),
                std::string::npos)
          << r.err;
      EXPECT_NE(r.err.find("rows per step on average"), std::string::npos) << r.err;
      SCOPED_TRACE(run);
      ExpectSameRun(Path("dense" + n), Path(run), 8, 8);
    }
  }
  // Tied: tgt_embed is the output layer too and travels whole.
  const std::string tied = "--set model.tie_target_embeddings=true ";  // readout_dim = emb_dim
  Train("tied_dense", sets + overlap + tied + dense, 0, 2);
  const ProcessResult r = Train("tied_rows", sets + overlap + tied, 0, 2);
  EXPECT_NE(r.err.find("src_embed.weight travels as the rows"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("tgt_embed.weight whole (model.tie_target_embeddings: true"),
            std::string::npos)
      << r.err;
  ExpectSameRun(Path("tied_dense"), Path("tied_rows"), 8, 8);
}

// Steps 1-6 on 2 ranks, then 7-12 on 1 or on 4 ranks, against 12 steps
// on 1 rank in one go: the same data positions and losses step by step,
// the same parameters up to the tolerance.
TEST_F(DistCli, ACheckpointOfTwoRanksResumesOnOneOrFour) {
  const std::string sets = "--set train.dropout=0.1 --set train.log_every=1 ";
  Train("whole", sets + "--set train.max_steps=12");
  Train("from2", sets + "--set train.max_steps=6", 0, 2);
  for (const char* dir : {"to1", "to4"}) {
    fs::create_directories(Path(dir));
    fs::copy(Path("from2"), Path(dir), fs::copy_options::recursive);
  }
  const ProcessResult to1 = Train("to1", sets + "--set train.max_steps=12", 0, 0);
  const ProcessResult to4 = Train("to4", sets + "--set train.max_steps=12", 0, 4);
  EXPECT_NE(to4.err.find("resume from"), std::string::npos) << to4.err;
  EXPECT_NE(to4.err.find("4 rank(s)"), std::string::npos) << to4.err;

  for (const char* dir : {"to1", "to4"}) ExpectResumedLike(Path(dir), Path("whole"), 12, kLr);
}

}  // namespace
}  // namespace rnnsearch::testing
