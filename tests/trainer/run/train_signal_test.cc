// SIGTERM or SIGINT during training (to the process, or to one rank of an
// mpiexec job): the step finishes, every rank agrees to stop, rank 0 names
// the signal, a valid checkpoint of the step reached is written, and the
// exit status is 0.
#include <gtest/gtest.h>

#include "io/checkpoint_dir.h"
#include "tests/trainer/train_fixture.h"

namespace rnnsearch::testing {
namespace {

class TrainSignal : public TrainFixture {
 protected:
  // Starts the command `launch` in the background, waits until
  // RUN/metrics.jsonl has 20 lines, sends SIG`signal` to the pid that
  // `target` (a shell expression; $job is the background job) gives, and
  // waits.
  static ProcessResult RunAndTerminate(const std::string& run, const std::string& launch,
                                       const std::string& target,
                                       const std::string& signal = "TERM") {
    const std::string script = "cd " + root_.string() + " || exit 1; " + launch + " & job=$!; " +
                               WaitForMetrics(run, 20) + "kill -" + signal + " " + target +
                               "; wait $job; echo \"status=$?\"";
    return RunProcess(script);
  }

  static void ExpectCheckpointOfLastStep(const std::string& run, const ProcessResult& r,
                                         const std::string& signal = "SIGTERM") {
    EXPECT_NE(r.out.find("status=0"), std::string::npos) << r.out << r.err;
    EXPECT_NE(r.err.find("stopping on " + signal + " after step "), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("stopped by a signal: " + signal + ";"), std::string::npos) << r.err;
    const auto entries = CheckpointDir(Path(run).string(), 1).List();
    ASSERT_EQ(entries.size(), 1u) << r.err;  // checkpoint.every = 0: only the one at the stop
    const CheckpointReader reader(entries[0].path);  // valid (sealed, checksummed)
    reader.VerifyTensors();
    const std::int64_t step = reader.info().meta.state.step;
    EXPECT_EQ(step, entries[0].step);
    // With log_every = 1 the last metrics line is the last step done.
    const auto lines = ReadLines(Path(run + "/metrics.jsonl"));
    ASSERT_FALSE(lines.empty());
    EXPECT_NE(lines.back().find("\"step\":" + std::to_string(step) + ","), std::string::npos)
        << lines.back();
    EXPECT_GE(step, 20);
  }
};

TEST_F(TrainSignal, SigtermSavesTheStepReachedAndExitsZero) {
  const ProcessResult r =
      RunAndTerminate("sig", std::string(RNNSEARCH_BINARY) + EndlessTrain("sig"), "$job");
  ExpectCheckpointOfLastStep("sig", r);
}

// A background job of a shell starts with SIGINT ignored; the trainer
// takes it all the same.
TEST_F(TrainSignal, SigintSavesTheStepReachedAndNamesIt) {
  const ProcessResult r =
      RunAndTerminate("int", std::string(RNNSEARCH_BINARY) + EndlessTrain("int"), "$job", "INT");
  ExpectCheckpointOfLastStep("int", r, "SIGINT");
}

// SIGTERM to one rank only (not to mpiexec): the ranks agree through the
// step's allreduce, and the job ends cleanly.
TEST_F(TrainSignal, SigtermToOneRankStopsTheWholeJob) {
  const ProcessResult r =
      RunAndTerminate("sig2", Mpiexec(2) + RNNSEARCH_BINARY + EndlessTrain("sig2"),
                      "$(pgrep -P $job -f rnnsearch | tail -n 1)");
  ExpectCheckpointOfLastStep("sig2", r);
}

}  // namespace
}  // namespace rnnsearch::testing
