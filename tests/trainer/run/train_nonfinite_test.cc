// Steps whose gradient norm is NaN or infinite, made so by the test-only
// RNNSEARCH_TEST_POISON_GRADIENT (trainer/run/gradient_poison.h: the last rank
// spoils its part of the gradient): skipped on every rank with every
// gradient sync, leaving the parameters, Adam's moments and step count and
// the moving average bit for bit as they were; logged once and counted in
// metrics.jsonl; training goes on after them; train.max_bad_steps in a row
// stop it with an error that writes no checkpoint and keeps the ones there
// are; a resumed run continues the counts exactly.
#include <gtest/gtest.h>

#include <algorithm>
#include <regex>

#include "tests/trainer/train_fixture.h"
#include "trainer/run/gradient_poison.h"

namespace rnnsearch::testing {
namespace {

class NonFinite : public TrainFixture {};

// A checkpoint every step, the moving average on, a metrics line per step.
const std::string kEveryStep =
    "--set checkpoint.every=1 --set checkpoint.keep=100 --set train.ema_decay=0.9 "
    "--set train.log_every=1 ";

std::string Poison(const std::string& steps) {
  return std::string(GradientPoison::kVariable) + "=" + steps + " ";
}

std::string Ckpt(const std::string& dir, int step) {
  return dir + "/ckpt-" + std::to_string(step) + ".h5";
}

std::int64_t OptimizerStep(const fs::path& ckpt) {
  return CheckpointReader(ckpt.string()).info().meta.optimizer_ints.at("optimizer.step");
}

// Whether the checkpoints of steps a and b in the run directory `dir` hold
// the same parameters, moving average, Adam moments and Adam step count.
bool SameState(const fs::path& dir, int a, int b) {
  const fs::path pa = Ckpt(dir.string(), a), pb = Ckpt(dir.string(), b);
  for (const char* group : {"params", "ema", "adam.m", "adam.v"}) {
    if (!SameBytes(ReadSet(pa, group), ReadSet(pb, group))) return false;
  }
  return OptimizerStep(pa) == OptimizerStep(pb);
}

std::size_t Count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// The "skipped_steps" of each "train" line, and whether its loss is null.
std::vector<std::pair<int, bool>> SkipCounts(const fs::path& metrics) {
  std::vector<std::pair<int, bool>> out;
  const std::regex re("\"skipped_steps\":([0-9]+)");
  for (const std::string& line : ReadLines(metrics)) {
    std::smatch m;
    if (line.find("\"kind\":\"train\"") == std::string::npos) continue;
    EXPECT_TRUE(std::regex_search(line, m, re)) << line;
    out.emplace_back(std::stoi(m[1]), line.find("\"loss\":null,") != std::string::npos);
  }
  return out;
}

TEST_F(NonFinite, SkippedStepsChangeNothingAndTrainingGoesOn) {
  const ProcessResult r =
      Train("skip", kEveryStep + "--set train.max_steps=8", 0, 0, Poison("3,5-6=inf"));
  EXPECT_NE(r.err.find("TEST ONLY: RNNSEARCH_TEST_POISON_GRADIENT=3,5-6=inf"), std::string::npos);
  EXPECT_NE(r.err.find("step 3: gradient norm is nan, step skipped (1 in a row)"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("step 5: gradient norm is inf, step skipped (1 in a row)"),
            std::string::npos);
  EXPECT_NE(r.err.find("step 6: gradient norm is inf, step skipped (2 in a row)"),
            std::string::npos);
  EXPECT_EQ(Count(r.err, "step skipped"), 3u) << r.err;
  EXPECT_NE(r.err.find("training ends at step 8: train.max_steps reached"), std::string::npos);
  EXPECT_TRUE(SameState(Path("skip"), 2, 3));
  EXPECT_TRUE(SameState(Path("skip"), 4, 5));
  EXPECT_TRUE(SameState(Path("skip"), 4, 6));
  EXPECT_FALSE(SameState(Path("skip"), 3, 4));
  EXPECT_FALSE(SameState(Path("skip"), 6, 7));
  EXPECT_EQ(OptimizerStep(Path(Ckpt("skip", 8))), 5);  // 8 steps, 3 of them skipped
  const TrainingState s6 = CheckpointReader(Path(Ckpt("skip", 6)).string()).info().meta.state;
  EXPECT_EQ(s6.bad_steps, 2);
  EXPECT_EQ(s6.skipped_steps, 3);
  EXPECT_EQ(CheckpointReader(Path(Ckpt("skip", 7)).string()).info().meta.state.bad_steps, 0);
  const std::vector<std::pair<int, bool>> want = {{0, false}, {0, false}, {1, true},  {1, false},
                                                  {2, true},  {3, true},  {3, false}, {3, false}};
  EXPECT_EQ(SkipCounts(Path("skip/metrics.jsonl")), want);
  const ProcessResult bad = Train("x", "--set train.max_steps=1", 1, 0, Poison("3-x"));
  EXPECT_NE(bad.err.find("RNNSEARCH_TEST_POISON_GRADIENT (a test-only setting) = '3-x': cannot "
                         "read '3-x'"),
            std::string::npos)
      << bad.err;
}

// The poisoned rank is the last one: rank 0 learns of it from the summed
// gradient only, under each of the three syncs, which agree bit for bit.
TEST_F(NonFinite, AllRanksSkipUnderEverySync) {
  const std::vector<std::pair<std::string, std::string>> syncs = {
      {"overlapped", "--set dist.overlap=true --set dist.bucket_mb=0.0005 "},
      {"shared", ""},
      {"allreduce", "--set dist.overlap=false --set dist.shared_memory=false "}};
  for (const auto& [name, sets] : syncs) {
    SCOPED_TRACE(name);
    const ProcessResult r =
        Train(name, kEveryStep + sets + "--set train.max_steps=5", 0, 2, Poison("3"));
    EXPECT_EQ(Count(r.err, "step 3: gradient norm is nan, step skipped (1 in a row)"), 1u) << r.err;
    EXPECT_EQ(Count(r.err, "step skipped"), 1u);
    EXPECT_TRUE(SameState(Path(name), 2, 3));
    EXPECT_FALSE(SameState(Path(name), 3, 4));
    EXPECT_EQ(OptimizerStep(Path(Ckpt(name, 5))), 4);
    EXPECT_TRUE(SameBytes(ReadSet(Path(Ckpt(name, 5)), "params"),
                          ReadSet(Path(Ckpt("overlapped", 5)), "params")));
  }
}

// Steps 4, 5, 6 bad with train.max_bad_steps 3: the run stops at step 6,
// before its checkpoint; the one of step 3 stays, the same as a run's
// that had no bad steps.
TEST_F(NonFinite, MaxBadStepsInARowStopTheRunAndKeepTheCheckpoints) {
  const std::string sets =
      "--set checkpoint.every=3 --set checkpoint.keep=1 --set train.max_bad_steps=3 ";
  for (const int ranks : {0, 2}) {
    const std::string bad = "bad" + std::to_string(ranks), good = "good" + std::to_string(ranks);
    SCOPED_TRACE(bad);
    Train(good, sets + "--set train.max_steps=3", 0, ranks);
    const ProcessResult r =
        Train(bad, sets + "--set train.max_steps=20", 1, ranks, Poison("4-100"));
    const std::string error =
        "step 6: the gradient norm was NaN or infinite in 3 steps in a row "
        "(train.max_bad_steps); training stops without a checkpoint of this state; the last "
        "update was step 3 (checkpoints: the newest is '" +
        bad + "/ckpt-3.h5')";
    EXPECT_EQ(Count(r.err, error), 1u) << r.err;
    EXPECT_NE(r.err.find("step 6: gradient norm is nan, step skipped (3 in a row)"),
              std::string::npos);
    EXPECT_EQ(r.err.find("training ends"), std::string::npos) << r.err;
    std::vector<std::string> files;
    for (const auto& e : fs::directory_iterator(Path(bad))) {
      files.push_back(e.path().filename().string());
    }
    std::sort(files.begin(), files.end());
    EXPECT_EQ(files, (std::vector<std::string>{"ckpt-3.h5", "metrics.jsonl"}));
    EXPECT_TRUE(
        SameBytes(ReadSet(Path(Ckpt(bad, 3)), "params"), ReadSet(Path(Ckpt(good, 3)), "params")));
  }
}

// Resumed from a checkpoint written in the middle of a run of bad steps,
// the run continues their counts: the same bits and metrics as the run
// that never stopped, and the same stop after train.max_bad_steps.
TEST_F(NonFinite, ResumeContinuesTheCounts) {
  const std::string sets = kEveryStep + "--set train.dropout=0.1 ";
  const std::string poison = Poison("4,6-7");
  Train("straight", sets + "--set train.max_steps=12", 0, 0, poison);
  Train("resumed", sets + "--set train.max_steps=6", 0, 0, poison);
  fs::copy(Path("resumed"), Path("resumed_bad"), fs::copy_options::recursive);
  Train("resumed", sets + "--set train.max_steps=12", 0, 0, poison);
  ExpectSameRun(Path("straight"), Path("resumed"), 12);
  EXPECT_EQ(CheckpointReader(Path(Ckpt("resumed", 12)).string()).info().meta.state.skipped_steps,
            3);
  const ProcessResult r = Train(
      "resumed_bad", sets + "--set train.max_steps=12 --set train.max_bad_steps=2", 1, 0, poison);
  EXPECT_NE(r.err.find("step 7: the gradient norm was NaN or infinite in 2 steps in a row"),
            std::string::npos)
      << r.err;
}

}  // namespace
}  // namespace rnnsearch::testing
