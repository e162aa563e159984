// `rnnsearch train` on several nodes of the cluster in a box
// (scripts/cluster.sh, root only: 3 nodes, real TCP between them, mpirun
// in this namespace as on a login node):
// - 2 nodes x 1 rank give the very bits of 2 ranks on one node (each
//   summed gradient element is one float addition whatever the sync), and
//   2 nodes x 1 rank and 2 nodes x 2 ranks the parameters of 1 rank on the
//   same global batches, up to float summation order (ExpectAdamRunsClose);
// - a run checkpointed on 2 nodes resumes on 1 node (2 ranks) and on 3
//   nodes with the same sequence of global batches (ExpectResumedLike);
// - launch/rnnsearch-mpirun runs on the box's hostfile and agent; with
//   --drop-lost-nodes, a 3-node run whose node box2 is cut mid-run
//   finishes on the 2 nodes left with the global batches and the final
//   parameters of an uninterrupted 3-node run; run off the job's nodes
//   (where mpirun waits for a lost node's daemon), it ends that mpirun.
// Skipped, saying why, when the box cannot be made (not root, no network
// namespaces, or a box already up).
#include <gtest/gtest.h>

#include <algorithm>
#include <regex>

#include "tests/trainer/dist/box_fixture.h"
#include "tests/trainer/train_fixture.h"

namespace rnnsearch::testing {
namespace {

constexpr double kLr = 0.01;  // train.lr of tiny.yaml

class MultiNode : public TrainFixture {
 protected:
  static inline std::string unavailable_;

  static void SetUpTestSuite() {
    TrainFixture::SetUpTestSuite();
    unavailable_ = BoxUnavailable();
    if (unavailable_.empty()) {
      const ProcessResult r = RunProcess(kCluster + " up 3");
      if (r.status != 0) unavailable_ = "scripts/cluster.sh up 3 failed: " + r.err;
    }
  }
  static void TearDownTestSuite() {
    if (unavailable_.empty()) RunProcess(kCluster + " down");  // only the box it made
    TrainFixture::TearDownTestSuite();
  }
  void SetUp() override {
    if (!unavailable_.empty()) GTEST_SKIP() << "the cluster box is unavailable: " << unavailable_;
  }

  // Train(), launched on the box: `ranks` ranks, `per_node` on each node.
  static ProcessResult BoxTrain(const std::string& dir, const std::string& sets, int ranks,
                                int per_node) {
    return Run("train --config tiny.yaml --run-dir " + dir + " " + sets, 0, 0,
               BoxMpirun(ranks, per_node));
  }

  static ParamSet Params(const std::string& run, int step) {
    return ReadSet(Path(run + "/ckpt-" + std::to_string(step) + ".h5"), "params");
  }
};

TEST_F(MultiNode, TwoNodesTrainLikeOneNodeAndLikeOneRank) {
  // Where the ranks run: ppr:K:node fills box1 first.
  const ProcessResult hosts = RunProcess(BoxMpirun(4, 2) + "hostname");
  ASSERT_EQ(hosts.status, 0) << hosts.err;
  std::vector<std::string> names;
  std::istringstream lines(hosts.out);
  for (std::string l; std::getline(lines, l);) names.push_back(l);
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"box1", "box1", "box2", "box2"})) << hosts.out;

  // Dropout (masks keyed by global sentence), accumulation, tiny buckets
  // (131 floats) so that the overlapped sync runs many.
  const std::string sets =
      "--set train.max_steps=8 --set train.dropout=0.1 --set train.accumulate=2 "
      "--set dist.bucket_mb=0.0005 --set train.log_every=1 ";
  Train("w1", sets);
  Train("w2", sets, 0, 2);
  const ProcessResult n2x1 = BoxTrain("n2x1", sets, 2, 1);
  const ProcessResult n2x2 = BoxTrain("n2x2", sets, 4, 2);
  // dist.overlap: auto picks the overlapped sync across nodes.
  EXPECT_NE(n2x1.err.find("gradient sync: overlapped"), std::string::npos) << n2x1.err;
  EXPECT_NE(n2x2.err.find("gradient sync: overlapped"), std::string::npos) << n2x2.err;
  EXPECT_NE(n2x2.err.find("4 rank(s)"), std::string::npos) << n2x2.err;
  const ParamSet w1 = Params("w1", 8);
  EXPECT_TRUE(SameBytes(Params("n2x1", 8), Params("w2", 8)))
      << "2 nodes x 1 rank and 2 ranks on one node differ";
  const double tol = TaskGradTolerance(w1.dims());
  ExpectAdamRunsClose(w1, Params("n2x1", 8), kLr, 8, tol, "Adam, 1 rank vs 2 nodes x 1 rank");
  ExpectAdamRunsClose(w1, Params("n2x2", 8), kLr, 8, tol, "Adam, 1 rank vs 2 nodes x 2 ranks");
}

// Steps 1-6 on 2 nodes, then 7-12 on 1 node (2 ranks) or on 3 nodes,
// against 12 steps on 1 rank in one go.
TEST_F(MultiNode, ACheckpointOfTwoNodesResumesOnOneNodeAndOnThree) {
  const std::string sets = "--set train.dropout=0.1 --set train.log_every=1 ";
  Train("whole", sets + "--set train.max_steps=12");
  BoxTrain("from2", sets + "--set train.max_steps=6", 2, 1);
  for (const char* dir : {"on1", "on3"}) {
    fs::create_directories(Path(dir));
    fs::copy(Path("from2"), Path(dir), fs::copy_options::recursive);
  }
  const ProcessResult on1 = BoxTrain("on1", sets + "--set train.max_steps=12", 2, 2);
  const ProcessResult on3 = BoxTrain("on3", sets + "--set train.max_steps=12", 3, 1);
  for (const ProcessResult* r : {&on1, &on3}) {
    EXPECT_NE(r->err.find("resume from"), std::string::npos) << r->err;
  }
  // On one node the blocking sync through shared memory; across three the
  // overlapped one.
  EXPECT_NE(on1.err.find("in shared memory"), std::string::npos) << on1.err;
  EXPECT_NE(on3.err.find("gradient sync: overlapped"), std::string::npos) << on3.err;
  EXPECT_NE(on3.err.find("3 rank(s)"), std::string::npos) << on3.err;
  for (const char* dir : {"on1", "on3"}) ExpectResumedLike(Path(dir), Path("whole"), 12, kLr);
}

// The box's hostfile, rsh agent and subnet, from `cluster.sh mpirun-args`.
struct BoxFiles {
  std::string hostfile, agent, subnet;
};
BoxFiles ReadBoxFiles() {
  const ProcessResult args = RunProcess(kCluster + " mpirun-args");
  EXPECT_EQ(args.status, 0) << args.err;
  BoxFiles f;
  for (auto [key, out] :
       {std::pair{"--hostfile", &f.hostfile}, std::pair{"plm_rsh_agent", &f.agent},
        std::pair{"btl_tcp_if_include", &f.subnet}}) {
    std::smatch m;
    if (std::regex_search(args.out, m, std::regex(std::string(key) + " (\\S+)"))) *out = m[1];
    EXPECT_FALSE(out->empty()) << key << " not in: " << args.out;
  }
  return f;
}

// Shell lines: wait (120 s at most: a loaded machine starts slowly) for
// RUN's first checkpoint; without one, say no-checkpoint, end the job
// ($m) and leave (a node cut before the ranks are connected hangs them in
// MPI's start-up, before the watchdog runs).
std::string FirstCheckpointOrGiveUp(const std::string& run) {
  return "for i in $(seq 1 2400); do ls " + run +
         "/ckpt-*.h5 >/dev/null 2>&1 && break; sleep 0.05; done; ls " + run +
         "/ckpt-*.h5 >/dev/null 2>&1 || { echo no-checkpoint; kill -KILL -- -$m; exit 1; }; ";
}

// launch/rnnsearch-mpirun on the box's nodes (mpirun by the name
// `mpirun`), `ranks_per_node` on each, with `options`, training tiny.yaml
// in `run` with `sets`.
std::string BoxWrapper(const BoxFiles& box, const std::string& options, const std::string& run,
                       const std::string& sets) {
  return "OMPI_MCA_plm_rsh_agent=" + box.agent + " " + RNNSEARCH_SOURCE_DIR +
         "/launch/rnnsearch-mpirun --hostfile " + box.hostfile +
         " --ranks-per-node 1 --bind none --tcp --iface " + box.subnet + " --rnnsearch " +
         RNNSEARCH_BINARY + " --mpirun " +
         std::filesystem::path(RNNSEARCH_MPIEXEC).filename().string() + " " + options +
         " -- --config tiny.yaml --run-dir " + run + " " + sets;
}

// The wrapper with the box's hostfile, its rsh agent (Open MPI's
// environment form of --mca) and its subnet: the same bits as mpirun.
TEST_F(MultiNode, TheLaunchWrapperRunsOnTheBoxHostfile) {
  const std::string sets = "--set train.max_steps=8 --set train.log_every=1";
  BoxTrain("direct", sets, 2, 1);
  const std::string cmd =
      "cd " + root_.string() + " && env " + BoxWrapper(ReadBoxFiles(), "-n 2", "wrapped", sets);
  const ProcessResult r = RunProcess(cmd);
  ASSERT_EQ(r.status, 0) << cmd << "\n" << r.err;
  EXPECT_NE(r.err.find("rnnsearch-mpirun: the job ended normally"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("gradient sync: overlapped"), std::string::npos) << r.err;
  EXPECT_TRUE(SameBytes(Params("wrapped", 8), Params("direct", 8)));
}

// 3 nodes, box2's cable pulled after the first checkpoint (links shaped to
// 20 Mbit/s, so that steps take tens of ms and the cut lands mid-run);
// the wrapper runs on box1 (with mpirun, as on a cluster), drops box2,
// which the failure names, and resumes on box1 and box3. Against 40
// uninterrupted steps on the 3 nodes: the same global batches (position,
// epoch, random state, losses step by step) and parameters up to
// summation order (which over hundreds of steps would grow past the
// tolerance: 2 and 3 ranks sum in other orders).
TEST_F(MultiNode, DropLostNodesFinishesTheRunOnTheNodesLeft) {
  const std::string sets =
      "--set train.max_steps=40 --set train.log_every=1 --set checkpoint.every=5 "
      "--set dist.timeout=5";
  BoxTrain("whole3", sets, 3, 1);
  const std::string wrapper = BoxWrapper(
      ReadBoxFiles(), "--max-restarts 1 --restart-delay 0 --drop-lost-nodes", "lost", sets);
  const std::string script =
      "cd " + root_.string() + " || exit 1; trap '" + kCluster + " heal box2 >/dev/null 2>&1; " +
      kCluster + " shape off >/dev/null 2>&1' EXIT; " + kCluster +
      " shape 20mbit >/dev/null || exit 1; setsid " + kCluster + " exec box1 env " + wrapper +
      " > lost.log 2>&1 & m=$!; " + FirstCheckpointOrGiveUp("lost") + kCluster +
      " cut box2 >/dev/null; "
      "for i in $(seq 1 900); do kill -0 $m 2>/dev/null || break; sleep 0.1; done; "
      "kill -0 $m 2>/dev/null && echo still-running; kill -KILL -- -$m 2>/dev/null; "
      "wait $m; echo \"status=$?\"";
  const ProcessResult r = RunProcess(script);
  const std::string log = ReadWhole(Path("lost.log"));
  ASSERT_EQ(r.out.find("no-checkpoint"), std::string::npos) << "no checkpoint in 120 s\n" << log;
  EXPECT_EQ(r.out.find("still-running"), std::string::npos) << r.out << log;
  EXPECT_NE(r.out.find("status=0"), std::string::npos) << r.out << log;
  EXPECT_NE(log.find("node lost: rank(s) 1 on host(s) box2"), std::string::npos) << log;
  EXPECT_NE(log.find("--drop-lost-nodes: left out box2 (named as lost); the relaunch runs on 2 of "
                     "3 node(s): box1 box3 with 2 rank(s)"),
            std::string::npos)
      << log;
  EXPECT_NE(
      log.find("launch 2 of at most 2: " +
               std::filesystem::path(RNNSEARCH_MPIEXEC).filename().string() + " -np 2 --hostfile "),
      std::string::npos)
      << log;
  EXPECT_NE(log.find("[rank 0/2] training ends at step 40"), std::string::npos) << log;
  ExpectResumedLike(Path("lost"), Path("whole3"), 40, kLr);
}

// The wrapper and its mpirun off the job's nodes (this namespace), on box1
// and box3 (box2 was cut and healed by the test before, and Open MPI's
// first connections to a node just healed have been seen to fail), box3
// cut: the ranks left report it within dist.timeout (5 s) and exit, but
// mpirun waits for box3's daemon; the wrapper ends it hang_grace (here
// 3 s) after the report.
TEST_F(MultiNode, TheWrapperOffTheNodesEndsTheMpirunOfAJobThatLostANode) {
  BoxFiles box = ReadBoxFiles();
  box.hostfile = Path("box13.hosts").string();
  std::ofstream(box.hostfile) << "box1 slots=64\nbox3 slots=64\n";
  const std::string wrapper =
      BoxWrapper(box, "-n 2", "offnode",
                 "--set train.max_steps=100000000 --set checkpoint.every=5 --set dist.timeout=5");
  const std::string script =
      "cd " + root_.string() + " || exit 1; trap '" + kCluster +
      " heal box3 >/dev/null 2>&1' EXIT; RNNSEARCH_MPIRUN_HANG_GRACE=3 setsid env " + wrapper +
      " > offnode.log 2>&1 & m=$!; " + FirstCheckpointOrGiveUp("offnode") + kCluster +
      " cut box3 >/dev/null; t0=$(date +%s.%N); "
      "for i in $(seq 1 600); do kill -0 $m 2>/dev/null || break; sleep 0.1; done; "
      "t1=$(date +%s.%N); kill -0 $m 2>/dev/null && echo still-running; "
      "kill -KILL -- -$m 2>/dev/null; wait $m; echo \"status=$?\"; "
      "awk \"BEGIN { print \\\"seconds=\\\" ($t1 - $t0) }\"";
  const ProcessResult r = RunProcess(script);
  const std::string log = ReadWhole(Path("offnode.log"));
  ASSERT_EQ(r.out.find("no-checkpoint"), std::string::npos) << "no checkpoint in 120 s\n" << log;
  EXPECT_EQ(r.out.find("still-running"), std::string::npos) << r.out << log;
  EXPECT_EQ(r.out.find("status=0"), std::string::npos) << r.out << log;
  EXPECT_NE(log.find("node lost: rank(s) 1 on host(s) box3"), std::string::npos) << log;
  EXPECT_NE(log.find("mpirun was still running 3s after a rank reported a lost node"),
            std::string::npos)
      << log;
  const auto at = r.out.find("seconds=");
  ASSERT_NE(at, std::string::npos) << r.out;
  const double seconds = std::strtod(r.out.c_str() + at + 8, nullptr);
  EXPECT_LE(seconds, 30.0) << log;
  std::printf("the wrapper off the nodes ended the job %.1f s after box3 was cut\n", seconds);
}

}  // namespace
}  // namespace rnnsearch::testing
