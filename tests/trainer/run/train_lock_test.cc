// One trainer per run directory (io/run_dir_lock.h) as users meet it: a
// second `rnnsearch train` on a directory in use exits 1 at once naming
// the first's process and host, alone and under mpiexec (where rank 0
// holds the lock and every rank of the second job ends); a lock file left
// by a killed trainer does not stop the next; a failed start removes the
// run directory it created, and only that.
#include <gtest/gtest.h>
#include <unistd.h>

#include "tests/trainer/train_fixture.h"

namespace rnnsearch::testing {
namespace {

class TrainLock : public TrainFixture {
 protected:
  // Starts `first` in the background, waits until RUN/metrics.jsonl has 2
  // lines, runs `second` (its stderr into second.err; 60 s at most), then
  // SIGTERMs the first and waits for it. Prints "pid=", "second=" and
  // "first=" lines (the exit statuses).
  static ProcessResult WhileRunning(const std::string& run, const std::string& first,
                                    const std::string& second) {
    const std::string script =
        "cd " + root_.string() + " || exit 1; " + first + " 2>first.err & job=$!; " +
        WaitForMetrics(run, 2) + "echo \"pid=$job\"; timeout 60 " + second +
        " 2>second.err; echo \"second=$?\"; kill -TERM $job; wait $job; echo \"first=$?\"";
    return RunProcess(script);
  }

  static std::string Host() {
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    return host;
  }
};

TEST_F(TrainLock, SecondTrainerOnTheSameRunDirectoryExitsNamingTheFirst) {
  const std::string bin = RNNSEARCH_BINARY;
  const ProcessResult r = WhileRunning("busy", bin + EndlessTrain("busy"),
                                       bin + " train --config tiny.yaml --run-dir busy");
  const std::string second = ReadWhole(Path("second.err"));
  EXPECT_NE(r.out.find("second=1\n"), std::string::npos) << r.out << second;
  const auto at = r.out.find("pid=");
  ASSERT_NE(at, std::string::npos) << r.out;
  const std::string pid = r.out.substr(at + 4, r.out.find('\n', at) - at - 4);
  EXPECT_NE(second.find("run directory 'busy' is in use by process " + pid + " on host " + Host()),
            std::string::npos)
      << second;
  // The second wrote nothing: the first stopped cleanly with one
  // checkpoint and one line per step, and removed its lock file.
  EXPECT_NE(r.out.find("first=0\n"), std::string::npos) << r.out << ReadWhole(Path("first.err"));
  const auto entries = CheckpointDir(Path("busy").string(), 1).List();
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(static_cast<std::int64_t>(ReadLines(Path("busy/metrics.jsonl")).size()),
            entries[0].step);
  EXPECT_FALSE(fs::exists(Path("busy/train.lock")));
}

// Under mpiexec only rank 0 locks; a job refused the lock ends on every
// rank with exit status 1 (no hang: `timeout` would give 124).
TEST_F(TrainLock, UnderMpiexecRankZeroLocksAndEveryRankOfTheSecondJobEnds) {
  const std::string bin = RNNSEARCH_BINARY;
  ProcessResult r = WhileRunning("busy2", Mpiexec(2) + bin + EndlessTrain("busy2"),
                                 Mpiexec(2) + bin + " train --config tiny.yaml --run-dir busy2");
  std::string second = ReadWhole(Path("second.err"));
  EXPECT_NE(r.out.find("second=1\n"), std::string::npos) << r.out << second;
  EXPECT_NE(second.find("run directory 'busy2' is in use by process "), std::string::npos)
      << second;
  EXPECT_NE(second.find(" on host " + Host()), std::string::npos) << second;

  r = WhileRunning("busy3", bin + EndlessTrain("busy3"),
                   Mpiexec(3) + bin + " train --config tiny.yaml --run-dir busy3");
  second = ReadWhole(Path("second.err"));
  EXPECT_NE(r.out.find("second=1\n"), std::string::npos) << r.out << second;
  EXPECT_NE(second.find("run directory 'busy3' is in use by process "), std::string::npos)
      << second;
}

// SIGKILL leaves the lock file with the killed trainer's PID; the kernel
// released the lock, so the next trainer resumes.
TEST_F(TrainLock, LockFileOfAKilledTrainerDoesNotStopTheNext) {
  const std::string bin = RNNSEARCH_BINARY;
  const ProcessResult killed = RunProcess(
      "cd " + root_.string() + " || exit 1; " + bin + EndlessTrain("killed") + " & job=$!; " +
      WaitForMetrics("killed", 2) + "kill -KILL $job; wait $job; echo \"status=$?\"");
  EXPECT_NE(killed.out.find("status=137"), std::string::npos) << killed.out;
  ASSERT_TRUE(fs::exists(Path("killed/train.lock")));
  const ProcessResult r = Train("killed", "--set train.max_steps=3");
  EXPECT_FALSE(fs::exists(Path("killed/train.lock")));
  EXPECT_TRUE(fs::exists(Path("killed/ckpt-3.h5"))) << r.err;
}

// A start that fails (no corpus, a bad config) removes the directories
// it created for the run; a run directory that existed stays.
TEST_F(TrainLock, FailedStartLeavesNoRunDirectoryItCreated) {
  ProcessResult r = Train("new/run", "--set data.train=nowhere", 1);
  EXPECT_NE(r.err.find("nowhere"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(Path("new"))) << r.err;
  r = Train("new2", "--set train.lr=fast", 1);
  EXPECT_NE(r.err.find("train.lr: expected a number"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(Path("new2"))) << r.err;
  r = Train("new3", "--set data.train=nowhere", 1, 2);
  EXPECT_FALSE(fs::exists(Path("new3"))) << r.err;
  fs::create_directories(Path("old"));
  r = Train("old", "--set data.train=nowhere", 1);
  EXPECT_TRUE(fs::is_directory(Path("old")));
  EXPECT_TRUE(fs::is_empty(Path("old")));
}

}  // namespace
}  // namespace rnnsearch::testing
