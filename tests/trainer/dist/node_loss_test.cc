// A node that stops answering ends the job (dist.timeout, the watchdog of
// trainer/dist/watchdog.h), never a hang:
// - one rank frozen (SIGSTOP) on this machine: the job ends within
//   dist.timeout plus a margin;
// - in the cluster box (scripts/cluster.sh, root only), node box2 cut off
//   the network, or frozen, with mpirun on box1 as on a cluster: mpirun
//   returns within dist.timeout plus a margin.
// - no false alarm in a whole 2-rank training with dist.timeout 1 s.
// Each loss with one ERROR line naming the silent rank and its host, the
// last step completed and the newest checkpoint, which is valid.
#include <gtest/gtest.h>
#include <unistd.h>

#include <regex>

#include "tests/trainer/dist/box_fixture.h"
#include "tests/trainer/train_fixture.h"

namespace rnnsearch::testing {
namespace {

// A training of tiny.yaml that runs until it is stopped, a checkpoint every
// 5 steps, dist.timeout 5 s, in RUN.
std::string EndlessWithTimeout(const std::string& run) {
  return std::string(RNNSEARCH_BINARY) +
         " train --config tiny.yaml --set train.max_steps=100000000 --set checkpoint.every=5 "
         "--set train.log_every=5 --set dist.timeout=5 --run-dir " +
         run + " > " + run + ".log 2>&1";
}

// Shell lines: wait (30 s at most) for RUN's first checkpoint; then, after
// `act` (which sets $t0), wait (60 s at most) for the job ($m) to end, and
// print status=, seconds= and still-running if it did not end.
std::string WaitAndTime(const std::string& run, const std::string& act) {
  return "for i in $(seq 1 600); do ls " + run +
         "/ckpt-*.h5 >/dev/null 2>&1 && break; sleep 0.05; done; " + act +
         "for i in $(seq 1 600); do kill -0 $m 2>/dev/null || break; sleep 0.1; done; "
         "t1=$(date +%s.%N); kill -0 $m 2>/dev/null && echo still-running; "
         "kill -KILL -- -$m 2>/dev/null; wait $m; echo \"status=$?\"; "
         "awk \"BEGIN { print \\\"seconds=\\\" ($t1 - $t0) }\"; ";
}

class NodeLoss : public TrainFixture {
 protected:
  // The job's output `log`: one ERROR line that names rank `rank` on
  // `host`; the checkpoint it names is the newest in `run` and is valid.
  static void ExpectLossReported(const std::string& log, const std::string& run, int rank,
                                 const std::string& host) {
    const std::regex line("ERROR +\\[rank [0-9]+/2\\] node lost: rank\\(s\\) " +
                          std::to_string(rank) + " on host\\(s\\) " + host +
                          " silent for [0-9.]+ s \\(dist.timeout 5.0 s\\).*last step completed: "
                          "([0-9]+).*newest checkpoint: '([^']+)'");
    std::smatch m;
    ASSERT_TRUE(std::regex_search(log, m, line)) << log;
    const long last = std::stol(m[1]);
    const std::string checkpoint = m[2];
    const std::vector<CheckpointEntry> all = CheckpointDir(Path(run).string(), 100).List();
    ASSERT_FALSE(all.empty());
    EXPECT_EQ(Path(checkpoint), std::filesystem::path(all.front().path)) << log;
    const CheckpointReader reader(all.front().path);
    reader.VerifyTensors();
    EXPECT_EQ(reader.info().meta.state.step, all.front().step);
    EXPECT_GE(last, all.front().step);
    EXPECT_LT(last, all.front().step + 5);
  }

  static double Seconds(const std::string& out) {
    const auto at = out.find("seconds=");
    return at == std::string::npos ? 1e9 : std::strtod(out.c_str() + at + 8, nullptr);
  }

  // Starts a 2-node training in the box with mpirun on box1 (called by
  // its name: the box's rsh agent cannot run the PATH=... prefix that an
  // mpirun called by its full path puts before its daemon), applies
  // `action` (cut or freeze) to box2, and checks that the job ends.
  static void LoseBox2(const std::string& action) {
    const std::string why = BoxUnavailable();
    if (!why.empty()) GTEST_SKIP() << "the cluster box is unavailable: " << why;
    const std::string run = "box_" + action;
    const std::string script =
        "cd " + root_.string() + " || exit 1; " + "trap 'kill -KILL -- -$m 2>/dev/null; " +
        kCluster + " down >/dev/null 2>&1' EXIT; " + kCluster + " up 2 >/dev/null || exit 1; " +
        "setsid " + kCluster + " exec box1 " +
        std::filesystem::path(RNNSEARCH_MPIEXEC).filename().string() +
        " -n 2 --map-by node --bind-to none --allow-run-as-root $(" + kCluster + " mpirun-args) " +
        EndlessWithTimeout(run) + " & m=$!; " +
        WaitAndTime(run, kCluster + " " + action + " box2 >/dev/null; t0=$(date +%s.%N); ");
    const ProcessResult r = RunProcess(script);
    const std::string log = ReadWhole(Path(run + ".log"));
    EXPECT_EQ(r.out.find("still-running"), std::string::npos) << r.out << log;
    EXPECT_EQ(r.out.find("status=0"), std::string::npos) << r.out << log;
    const double seconds = Seconds(r.out);
    EXPECT_LE(seconds, 20.0) << r.out << log;
    std::printf("the job ended %.2f s after box2 was %s (dist.timeout 5)\n", seconds,
                action == "cut" ? "cut off" : "frozen");
    ExpectLossReported(log, run, 1, "box2");
  }
};

TEST_F(NodeLoss, AFrozenRankEndsTheJobWithinTheTimeout) {
  const std::string script =
      "cd " + root_.string() + " || exit 1; setsid " + Mpiexec(2) + EndlessWithTimeout("frozen") +
      " & m=$!; " +
      WaitAndTime("frozen",
                  "r=$(pgrep -P $m | tail -n 1); "
                  "[ -n \"$r\" ] || { echo no-rank; kill -KILL -- -$m; exit 1; }; "
                  "echo frozen=$(tr '\\0' '\\n' < /proc/$r/environ | "
                  "sed -n 's/^OMPI_COMM_WORLD_RANK=//p'); "
                  "t0=$(date +%s.%N); kill -STOP $r; ") +
      "kill -CONT $r 2>/dev/null; kill -KILL $r 2>/dev/null; true";
  const ProcessResult r = RunProcess(script);
  const std::string log = ReadWhole(Path("frozen.log"));
  EXPECT_EQ(r.out.find("still-running"), std::string::npos) << r.out << log;
  EXPECT_EQ(r.out.find("status=0"), std::string::npos) << r.out << log;
  const double seconds = Seconds(r.out);
  EXPECT_LE(seconds, 15.0) << r.out << log;
  std::printf("the job ended %.2f s after one rank was frozen (dist.timeout 5)\n", seconds);
  const auto at = r.out.find("frozen=");
  ASSERT_NE(at, std::string::npos) << r.out;
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  ExpectLossReported(log, "frozen", std::atoi(r.out.c_str() + at + 7), host);
}

TEST_F(NodeLoss, ATrainingWithValidationsAndCheckpointsIsNotTakenForALoss) {
  // dist.timeout 1 s: heartbeats every 0.1 s, while validations,
  // checkpoints and the end of the run keep one rank waiting for the other.
  const ProcessResult r = Train("quiet",
                                "--set train.max_steps=200 --set train.valid_every=20 "
                                "--set checkpoint.every=20 --set dist.timeout=1",
                                0, 2);
  EXPECT_EQ(r.err.find("node lost"), std::string::npos) << r.err;
  EXPECT_FALSE(ReadWhole(Path("quiet/metrics.jsonl")).empty());
}

TEST_F(NodeLoss, ACutNodeEndsTheJobWithinTheTimeout) { LoseBox2("cut"); }

TEST_F(NodeLoss, AFrozenNodeEndsTheJobWithinTheTimeout) { LoseBox2("freeze"); }

}  // namespace
}  // namespace rnnsearch::testing
