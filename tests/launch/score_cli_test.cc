// rnnsearch score as users run it: sacreBLEU's lines for its README
// example, files with empty lines, CRLF endings and unicode punctuation,
// the options, stdin, clear errors for bad files, once under mpiexec.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "tests/launch/run_process.h"

namespace rnnsearch {
namespace {

using testing::Mpiexec;
using testing::ProcessResult;
using testing::RunProcess;

const std::string kBin = RNNSEARCH_BINARY;

const char kReadmeBleu[] =
    "BLEU|nrefs:2|case:mixed|eff:no|tok:13a|smooth:exp|version:2.4.3 = 48.53 "
    "82.4/50.0/45.5/37.5 (BP = 0.943 ratio = 0.944 hyp_len = 17 ref_len = 18)\n";
const char kReadmeChrf[] =
    "chrF2|nrefs:2|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.4.3 = 59.73\n";

class ScoreCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("rnnsearch_score_cli_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    hyp_ = Write("hyp.txt",
                 "The dog bit the man.\nIt wasn't surprising.\nThe man had just bitten him.\n");
    ref1_ =
        Write("ref1.txt", "The dog bit the man.\nIt was not unexpected.\nThe man bit him first.\n");
    ref2_ = Write("ref2.txt",
                  "The dog had bit the man.\nNo one was surprised.\nThe man had bitten the dog.\n");
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string Write(const std::string& name, const std::string& text) {
    const auto p = dir_ / name;
    std::ofstream(p, std::ios::binary) << text;
    return p.string();
  }
  ProcessResult Score(const std::string& args) { return RunProcess(kBin + " score " + args); }

  std::filesystem::path dir_;
  std::string hyp_, ref1_, ref2_;
};

TEST_F(ScoreCli, SacreBleuReadmeExample) {
  const ProcessResult r = Score("--hyp " + hyp_ + " --ref " + ref1_ + " --ref " + ref2_);
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, std::string(kReadmeBleu) + kReadmeChrf);
  // The same from stdin, metrics in the order asked for.
  const ProcessResult s = RunProcess("cat " + hyp_ + " | " + kBin + " score --hyp - --ref " +
                                     ref1_ + " --ref " + ref2_ + " --metrics chrf,bleu");
  EXPECT_EQ(s.status, 0) << s.err;
  EXPECT_EQ(s.out, std::string(kReadmeChrf) + kReadmeBleu);
}

TEST_F(ScoreCli, EmptyLinesCrlfAndUnicodePunctuation) {
  // Worked out by hand (tests/trainer/eval/bleu_test.cc): 13a keeps „Hallo“
  // whole; the empty hypothesis adds the 3 reference tokens of its line.
  const std::string hyp = Write("h.txt", "„Hallo“, sagte er.  \r\n\r\n");
  const std::string ref = Write("r.txt", "„Hallo“, sagte sie.\nGuten Tag!");
  const ProcessResult r = Score("--hyp " + hyp + " --ref " + ref + " --metrics bleu");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out,
            "BLEU|nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.4.3 = 23.45 "
            "80.0/50.0/33.3/25.0 (BP = 0.549 ratio = 0.625 hyp_len = 5 ref_len = 8)\n");
}

TEST_F(ScoreCli, LowercaseTokenizeAndWidth) {
  const std::string hyp = Write("h.txt", "THE CAT SAT ON THE MAT.\n");
  const std::string ref = Write("r.txt", "the cat sat on the mat .\n");
  ProcessResult r = Score("--hyp " + hyp + " --ref " + ref + " --lowercase --metrics bleu,chrf");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out,
            "BLEU|nrefs:1|case:lc|eff:no|tok:13a|smooth:exp|version:2.4.3 = 100.00 "
            "100.0/100.0/100.0/100.0 (BP = 1.000 ratio = 1.000 hyp_len = 7 ref_len = 7)\n"
            "chrF2|nrefs:1|case:lc|eff:yes|nc:6|nw:0|space:no|version:2.4.3 = 100.00\n");
  // Without 13a, "MAT." is one token that "mat ." does not match.
  r = Score("--hyp " + hyp + " --ref " + ref +
            " --lowercase --tokenize none --metrics bleu --width 4");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("|tok:none|"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("hyp_len = 6 ref_len = 7"), std::string::npos) << r.out;
  // 5/6, 4/5, 3/4, 2/3 matches, BP exp(1 - 7/6): 64.3187..., 4 decimals.
  EXPECT_NE(r.out.find(" = 64.3187 83.3/80.0/75.0/66.7 (BP = 0.846"), std::string::npos) << r.out;
}

TEST_F(ScoreCli, BadFilesAreClearErrors) {
  ProcessResult r = Score("--hyp " + hyp_ + " --ref " + (dir_ / "missing.txt").string());
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("rnnsearch score: --ref: cannot open '" + (dir_ / "missing.txt").string() +
                       "': No such file or directory"),
            std::string::npos)
      << r.err;
  const std::string two = Write("two.txt", "a\nb\n");
  r = Score("--hyp " + hyp_ + " --ref " + two);
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(
      r.err.find("different line counts: --hyp " + hyp_ + " has 3 lines, --ref " + two + " has 2"),
      std::string::npos)
      << r.err;
  const std::string empty_line = Write("empty_line.txt", "a\n \nc\n");
  r = Score("--hyp " + hyp_ + " --ref " + empty_line);
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find(empty_line + ":2: empty reference line; sacreBLEU 2.x refuses it too"),
            std::string::npos)
      << r.err;
  const std::string latin1 = Write("latin1.txt", "ok\nna\xefve\nc\n");
  r = Score("--hyp " + latin1 + " --ref " + ref1_);
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find(latin1 + ":2: expected UTF-8 text, found the byte 0xef at column 3"),
            std::string::npos)
      << r.err;
  const std::string nothing = Write("nothing.txt", "");
  r = Score("--hyp " + nothing + " --ref " + nothing);
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("--hyp " + nothing + " has no lines"), std::string::npos) << r.err;
}

TEST_F(ScoreCli, UsageErrors) {
  ProcessResult r = Score("--hyp " + hyp_ + " --ref " + ref1_ + " --tokenize intl");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("--tokenize: expected 13a or none, found 'intl'"), std::string::npos)
      << r.err;
  r = Score("--hyp " + hyp_ + " --ref " + ref1_ + " --metrics bleu,ter");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("unknown metric 'ter'"), std::string::npos) << r.err;
  r = Score("--hyp " + hyp_);
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("--ref"), std::string::npos) << r.err;
  r = RunProcess(kBin + " --help");
  EXPECT_NE(r.out.find("  score"), std::string::npos) << r.out;
}

TEST_F(ScoreCli, PrintsOnceUnderMpiexec) {
  const ProcessResult r = RunProcess(Mpiexec(2) + kBin + " score --hyp " + hyp_ + " --ref " +
                                     ref1_ + " --ref " + ref2_);
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, std::string(kReadmeBleu) + kReadmeChrf);
  const ProcessResult bad = RunProcess(Mpiexec(2) + kBin + " score --hyp " + hyp_ + " --ref " +
                                       (dir_ / "missing.txt").string());
  EXPECT_EQ(bad.status, 1) << bad.err;
  EXPECT_NE(bad.err.find("cannot open"), std::string::npos) << bad.err;
}

}  // namespace
}  // namespace rnnsearch
