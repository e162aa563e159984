// `rnnsearch preprocess` and `rnnsearch inspect` as users run them: the
// printed summary, the shorthand options, mpiexec (printed once), a full
// disk (simulated with a file size limit) leaving nothing behind, and
// errors with their exit status.
#include <gtest/gtest.h>

#include "tests/io/io_fixture.h"
#include "tests/launch/run_process.h"

namespace rnnsearch {
namespace {

namespace fs = std::filesystem;
using testing::Contains;
using testing::Mpiexec;
using testing::ProcessResult;
using testing::RunProcess;
using testing::TempDir;

const std::string kBin = RNNSEARCH_BINARY;

class PreprocessCli : public ::testing::Test {
 protected:
  void SetUp() override {
    auto [src, tgt] = testing::MakePairs(3000, 41, 25);
    testing::WriteText(dir_ / "s.txt", testing::JoinLines(src));
    testing::WriteGzip(dir_ / "t.gz", testing::JoinLines(tgt));
  }
  std::string Args(const std::string& out) const {
    return " preprocess --src " + (dir_ / "s.txt") + " --tgt " + (dir_ / "t.gz") + " --out " +
           (dir_ / out) + " --tokenizer whitespace";
  }
  std::vector<std::string> Listing() const {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(dir_.path())) names.push_back(e.path().filename());
    std::sort(names.begin(), names.end());
    return names;
  }
  TempDir dir_{"cli"};
};

TEST_F(PreprocessCli, PrintsTheSummaryAndInspectShowsThePadding) {
  ProcessResult r = RunProcess(kBin + Args("c") + " --max-len 20 --shard-sentences 1000");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(Contains(r.out, "corpus " + (dir_ / "c"))) << r.out;
  EXPECT_TRUE(Contains(r.out, "3,000 line pairs read")) << r.out;
  EXPECT_TRUE(Contains(r.out, "too long (> 20 subwords)")) << r.out;
  EXPECT_TRUE(Contains(r.out, "length histogram")) << r.out;
  EXPECT_TRUE(Contains(r.out, "in 3 shards")) << r.out;  // 1000 pairs per shard at most

  r = RunProcess(kBin + " inspect " + (dir_ / "c") + " --set data.batch_tokens=500");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(Contains(r.out, "batching (data.batch_tokens 500, data.batch_sentences 0), epoch 0"))
      << r.out;
  EXPECT_TRUE(Contains(r.out, "padding efficiency ")) << r.out;
  EXPECT_TRUE(Contains(r.out, "checksums: all 3 shards match")) << r.out;

  // Shards are plain HDF5: h5dump (hdf5-tools) shows the documented layout.
  r = RunProcess("h5dump -p -H -A " + (dir_ / "c/shard-00000-00000.h5"));
  ASSERT_EQ(r.status, 0) << r.err;
  for (const char* want :
       {"DATASET \"line\"", "GROUP \"src\"", "GROUP \"tgt\"", "DATASET \"ids\"",
        "DATASET \"offsets\"", "DATASET \"lengths\"", "\"rnnsearch-shard\"", "H5T_STD_U8LE",
        "CHECKSUM FLETCHER32", "COMPRESSION DEFLATE", "PREPROCESSING SHUFFLE"}) {
    EXPECT_TRUE(Contains(r.out, want)) << want << "\n" << r.out;
  }

  // The validation set with the training vocabulary.
  r = RunProcess(kBin + " preprocess --src " + (dir_ / "s.txt") + " --tgt " + (dir_ / "t.gz") +
                 " --out " + (dir_ / "v") + " --vocab-from " + (dir_ / "c"));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(Contains(r.out, "from the corpus " + (dir_ / "c"))) << r.out;
}

TEST_F(PreprocessCli, UnderMpiexecPrintsOnce) {
  const ProcessResult r = RunProcess(Mpiexec(2) + kBin + Args("c"));
  ASSERT_EQ(r.status, 0) << r.err;
  const auto first = r.out.find("line pairs read");
  ASSERT_NE(first, std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("line pairs read", first + 1), std::string::npos) << r.out;
  EXPECT_TRUE(Contains(r.out, "on 2 ranks")) << r.out;
}

TEST_F(PreprocessCli, AFullDiskLeavesNothingBehind) {
  // A 32 KiB file size limit (sh counts 512-byte blocks): the first shard
  // cannot be written. With SIGXFSZ ignored, write() fails with EFBIG like
  // it fails with ENOSPC on a full disk.
  const ProcessResult r = RunProcess("trap '' XFSZ; ulimit -f 64; " + kBin + Args("c"));
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_TRUE(Contains(r.err, "cannot write")) << r.err;
  EXPECT_TRUE(Contains(r.err, "File too large")) << r.err;
  EXPECT_EQ(Listing(), (std::vector<std::string>{"s.txt", "t.gz"}));
}

// An empty or blank corpus with a SentencePiece vocabulary to train: no
// sentence is left, with the files and their line counts (not
// SentencePiece's internal check), and nothing is written.
TEST_F(PreprocessCli, EmptyOrBlankCorpusHasNoSentenceToTrainOn) {
  testing::WriteText(dir_ / "empty.txt", "");
  testing::WriteText(dir_ / "blank.txt", " \n\t\n\n");
  for (const char* name : {"empty.txt", "blank.txt"}) {
    SCOPED_TRACE(name);
    const std::string f = dir_ / name;
    const ProcessResult r =
        RunProcess(kBin + " preprocess --src " + f + " --tgt " + f + " --out " + (dir_ / "c"));
    EXPECT_EQ(r.status, 1) << r.err;
    const std::string counts = std::string(name) == "empty.txt" ? "have 0 line(s) in all, 0 of"
                                                                : "have 6 line(s) in all, 6 of";
    EXPECT_TRUE(Contains(r.err,
                         "no sentence is left to train the SentencePiece vocabulary of "
                         "both sides on: '" +
                             f + "' and '" + f + "' " + counts + " them empty or blank"))
        << r.err;
    EXPECT_FALSE(Contains(r.err, "smaller vocabulary")) << r.err;
    EXPECT_FALSE(fs::exists(dir_ / "c"));
  }
  // One vocabulary per side: the side without text is named.
  testing::WriteText(dir_ / "three.txt", "a b\nc\nd\n");
  const ProcessResult side =
      RunProcess(kBin + " preprocess --src " + (dir_ / "blank.txt") + " --tgt " +
                 (dir_ / "three.txt") + " --out " + (dir_ / "c") + " --separate-vocab");
  EXPECT_EQ(side.status, 1) << side.err;
  EXPECT_TRUE(Contains(side.err, "vocabulary of the source side on: '" + (dir_ / "blank.txt") +
                                     "' has 3 line(s) in all, 3 of them empty or blank"))
      << side.err;
}

TEST_F(PreprocessCli, ErrorsExitNonZeroOnceUnderMpiexec) {
  testing::WriteText(dir_ / "short.txt", "a\nb\n");
  const ProcessResult r =
      RunProcess("timeout -k 5 60 " + Mpiexec(3) + kBin + " preprocess --src " + (dir_ / "s.txt") +
                 " --tgt " + (dir_ / "short.txt") + " --out " + (dir_ / "c"));
  EXPECT_EQ(r.status, 1) << r.err;
  const std::string needle = "' has 3000 lines and '" + (dir_ / "short.txt") + "' has 2 lines";
  const auto first = r.err.find(needle);
  ASSERT_NE(first, std::string::npos) << r.err;
  EXPECT_EQ(r.err.find(needle, first + 1), std::string::npos) << "printed more than once";
  EXPECT_EQ(Listing(), (std::vector<std::string>{"s.txt", "short.txt", "t.gz"}));

  // inspect of a file or of nothing names the argument and says which.
  const ProcessResult file = RunProcess(kBin + " inspect " + (dir_ / "s.txt"));
  EXPECT_EQ(file.status, 1);
  EXPECT_TRUE(Contains(file.err, "rnnsearch inspect DIR: '" + (dir_ / "s.txt") +
                                     "' is not a preprocessed corpus: it is a file, not a "
                                     "corpus directory"))
      << file.err;
  const ProcessResult none = RunProcess(kBin + " inspect " + (dir_ / "none"));
  EXPECT_EQ(none.status, 1);
  EXPECT_TRUE(Contains(none.err, "rnnsearch inspect DIR: '" + (dir_ / "none") +
                                     "' is not a preprocessed corpus: it does not exist"))
      << none.err;

  const ProcessResult usage = RunProcess(kBin + " preprocess --src x");
  EXPECT_EQ(usage.status, 2);
  EXPECT_TRUE(Contains(usage.err, "--src, --tgt and --out are required")) << usage.err;
  const ProcessResult bad = RunProcess(kBin + Args("c") + " --vocab-size lots");
  EXPECT_EQ(bad.status, 1);
  EXPECT_TRUE(Contains(bad.err, "data.vocab_size: expected an integer, found 'lots'")) << bad.err;
  const ProcessResult help = RunProcess(kBin + " preprocess --help");
  EXPECT_EQ(help.status, 0);
  EXPECT_TRUE(Contains(help.out, "--skip-invalid-utf8")) << help.out;
  EXPECT_TRUE(Contains(help.out, "data.tokenizer = sentencepiece")) << help.out;
}

// inspect takes DIR as its usage says: first, last, or as --dir; without
// it the error names DIR, not an option the usage does not show.
TEST_F(PreprocessCli, InspectTakesItsDirectoryAsItsUsageSays) {
  ASSERT_EQ(RunProcess(kBin + Args("c")).status, 0);
  for (const std::string& args :
       {" inspect " + (dir_ / "c"), " inspect --set data.batch_tokens=500 " + (dir_ / "c"),
        " inspect --dir " + (dir_ / "c")}) {
    const ProcessResult r = RunProcess(kBin + args);
    EXPECT_EQ(r.status, 0) << args << "\n" << r.err;
    EXPECT_TRUE(Contains(r.out, "padding efficiency ")) << args << "\n" << r.out;
  }
  const ProcessResult none = RunProcess(kBin + " inspect --epoch 1");
  EXPECT_EQ(none.status, 2);
  EXPECT_TRUE(Contains(none.err,
                       "rnnsearch inspect: no corpus directory given\n\nUsage: "
                       "rnnsearch inspect DIR "))
      << none.err;
  const ProcessResult help = RunProcess(kBin + " inspect --help");
  EXPECT_TRUE(Contains(help.out, "Usage: rnnsearch inspect DIR ")) << help.out;
  EXPECT_TRUE(Contains(help.out, "DIR, the corpus directory")) << help.out;
}

}  // namespace
}  // namespace rnnsearch
