// The rnnsearch program as users run it: help, version, usage errors with
// exit status 2, config errors that name the key or line, the
// --print-config round trip, alone and under mpiexec.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <string>

#include "tests/launch/run_process.h"

namespace rnnsearch {
namespace {

using testing::Mpiexec;
using testing::ProcessResult;
using testing::RunProcess;

const std::string kBin = RNNSEARCH_BINARY;

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("rnnsearch_cli_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string Write(const std::string& name, const std::string& text) {
    const auto p = dir_ / name;
    std::ofstream(p) << text;
    return p.string();
  }
  std::filesystem::path dir_;
};

TEST_F(CliTest, HelpListsCommands) {
  const ProcessResult r = RunProcess(kBin + " --help");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("Usage: rnnsearch COMMAND"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("  train"), std::string::npos) << r.out;
}

TEST_F(CliTest, VersionPrintsVersionAndRevision) {
  const ProcessResult r = RunProcess(kBin + " --version");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(
      std::regex_search(r.out, std::regex(R"(^rnnsearch \d+\.\d+\.\d+ \(git [0-9a-z-]+\))")))
      << r.out;
}

TEST_F(CliTest, NoCommandOrUnknownCommandIsUsageError) {
  ProcessResult r = RunProcess(kBin);
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("no command given"), std::string::npos) << r.err;
  r = RunProcess(kBin + " trian");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("unknown command 'trian' (did you mean 'train'?)"), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("Usage: rnnsearch COMMAND"), std::string::npos) << r.err;
}

TEST_F(CliTest, UnknownOptionIsUsageError) {
  const ProcessResult r = RunProcess(kBin + " train --bogus 3");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("unrecognised option '--bogus'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("Usage: rnnsearch train"), std::string::npos) << r.err;
  const ProcessResult r2 = RunProcess(kBin + " train stray");
  EXPECT_EQ(r2.status, 2) << r2.err;
}

TEST_F(CliTest, BenchTargetsAndUsageErrors) {
  ProcessResult r = RunProcess(kBin + " bench --help");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("matmul"), std::string::npos) << r.out;
  r = RunProcess(kBin + " bench matmal");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("unknown target 'matmal' (did you mean 'matmul'?)"), std::string::npos)
      << r.err;
  r = RunProcess(kBin + " bench matmul --threads 1 --size 64 --seconds 0.01");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(std::regex_search(
      r.out,
      std::regex(
          R"(^\{"name": "matmul.f32_square", "threads": 1, "n": 64, "value": [0-9.e+]+, "unit": "GFLOP/s"\}\n$)")))
      << r.out;
}

TEST_F(CliTest, TrainHelpListsOptionsAndKeysWithDefaults) {
  const ProcessResult r = RunProcess(kBin + " train --help");
  EXPECT_EQ(r.status, 0) << r.err;
  for (const char* want :
       {"--config arg (=none)", "--set arg (=none)", "--print-config", "model.emb_dim = 256",
        "train.optimizer = adam", "dist.threads_per_rank = 0", "checkpoint.keep = 3"}) {
    EXPECT_NE(r.out.find(want), std::string::npos) << want << "\n" << r.out;
  }
}

// docs/config.md is written by this command (tests/common/readme_test.cc
// compares the file with the text the command prints).
TEST_F(CliTest, ConfigKeysMarkdownPrintsTheKeyTable) {
  const ProcessResult r = RunProcess(kBin + " train --config-keys-markdown");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out.rfind("# Configuration keys\n", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("| `model.emb_dim` | integer, 1 to 65536 | `256` | "), std::string::npos)
      << r.out;
}

TEST_F(CliTest, BadConfigsExitNonZeroNamingKeyOrLine) {
  const std::string unknown = Write("unknown.yaml", "train:\n  lrate: 0.1\n");
  ProcessResult r = RunProcess(kBin + " train --config " + unknown);
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find(unknown + ":2:3: unknown key 'train.lrate' (did you mean 'train.lr'?)"),
            std::string::npos)
      << r.err;

  const std::string negative = Write("negative.yaml", "model:\n  dec_dim: -512\n");
  r = RunProcess(kBin + " train --config " + negative);
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find(negative + ":2:12: model.dec_dim: expected an integer in [1, 65536], "
                                  "found -512"),
            std::string::npos)
      << r.err;

  const std::string tabs = Write("tabs.yaml", "model:\n\temb_dim: 64\n");
  r = RunProcess(kBin + " train --config " + tabs);
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find(tabs + ":2:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("malformed YAML"), std::string::npos) << r.err;

  r = RunProcess(kBin + " train --set model.emb_dim=big");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("--set model.emb_dim=big: model.emb_dim: expected an integer, found 'big'"),
            std::string::npos)
      << r.err;
}

TEST_F(CliTest, PrintConfigRoundTrip) {
  const ProcessResult first =
      RunProcess(kBin +
                 " train --set model.cell=lstm --set train.lr=0.003 --set data.train=/tmp/shards "
                 "--print-config");
  ASSERT_EQ(first.status, 0) << first.err;
  EXPECT_NE(first.out.find("  cell: lstm"), std::string::npos) << first.out;
  const std::string file = Write("printed.yaml", first.out);
  const ProcessResult second = RunProcess(kBin + " train --config " + file + " --print-config");
  ASSERT_EQ(second.status, 0) << second.err;
  EXPECT_EQ(second.out, first.out);
}

TEST_F(CliTest, UnderMpiexecPrintsOnceAndAgrees) {
  const ProcessResult r =
      RunProcess(Mpiexec(2) + kBin + " train --set model.emb_dim=64 --print-config");
  ASSERT_EQ(r.status, 0) << r.err;
  const ProcessResult alone = RunProcess(kBin + " train --set model.emb_dim=64 --print-config");
  EXPECT_EQ(r.out, alone.out);  // once, not once per rank
}

TEST_F(CliTest, UnderMpiexecBadConfigEndsEveryRankWithOneMessage) {
  const ProcessResult r =
      RunProcess("timeout -k 5 60 " + Mpiexec(3) + kBin + " train --set model.emb_dim=-1");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.status, 124) << "mpiexec hung";
  const std::string needle = "model.emb_dim: expected an integer";
  const auto first = r.err.find(needle);
  EXPECT_NE(first, std::string::npos) << r.err;
  EXPECT_EQ(r.err.find(needle, first + 1), std::string::npos) << "printed more than once\n"
                                                              << r.err;
}

}  // namespace
}  // namespace rnnsearch

namespace rnnsearch {
namespace {

// A failure on one rank ends the whole job quickly, naming the rank and the cause.
void ExpectJobEndsNamingRank(const std::string& mode, const std::string& cause) {
  const ProcessResult r =
      RunProcess("timeout -k 5 60 " + Mpiexec(2) + RNNSEARCH_FAILURE_PROBE + " " + mode);
  EXPECT_NE(r.status, 0) << mode;
  EXPECT_NE(r.status, 124) << mode << ": the job hung\n" << r.err;
  EXPECT_NE(r.err.find("[rank 1/2]"), std::string::npos) << mode << "\n" << r.err;
  EXPECT_NE(r.err.find(cause), std::string::npos) << mode << "\n" << r.err;
}

TEST(MpiFailure, ExceptionOnOneRankAbortsTheJob) {
  ExpectJobEndsNamingRank("throw", "deliberate failure on rank 1");
}

TEST(MpiFailure, UserErrorOnOneRankAbortsTheJob) {
  ExpectJobEndsNamingRank("user-error", "cannot read 'shard-7.h5' on rank 1");
}

TEST(MpiFailure, MpiErrorAbortsTheJob) { ExpectJobEndsNamingRank("mpi-error", "MPI error"); }

TEST(MpiFailure, ExceptionInAThreadAbortsTheJob) {
  ExpectJobEndsNamingRank("thread-throw", "exception in a worker thread");
}

}  // namespace
}  // namespace rnnsearch
