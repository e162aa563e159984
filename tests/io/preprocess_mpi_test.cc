// Under 1, 2 and 3 ranks (the plain process and mpiexec -n 2, -n 3): the
// preprocessed corpus content is the same as one process makes it, every
// rank's part of every global batch tiles the batch a single reader sees,
// and a bad line in one rank's part is the same error on every rank with
// nothing written.
#include <gtest/gtest.h>

#include <functional>

#include "common/error.h"
#include "io/batch_reader.h"
#include "io/corpus.h"
#include "io/preprocess.h"
#include "tests/io/io_fixture.h"
#include "tests/mpi_test_env.h"

namespace rnnsearch {
namespace {

namespace fs = std::filesystem;
using testing::World;

// A directory shared by the ranks (rank 0 picks the name).
std::string SharedDir(const std::string& tag) {
  std::string dir;
  if (World().rank() == 0) {
    dir =
        (fs::temp_directory_path() / ("rnnsearch_io_mpi_" + tag + "_" + std::to_string(::getpid())))
            .string();
    fs::remove_all(dir);
    fs::create_directories(dir);
  }
  World().BroadcastString(dir, 0);
  World().Barrier();
  return dir;
}

void RemoveShared(const std::string& dir) {
  World().Barrier();
  if (World().rank() == 0) fs::remove_all(dir);
}

bool SameOnAllRanks(const std::string& text) {
  const auto h = static_cast<std::int64_t>(std::hash<std::string>{}(text) >> 1);
  std::int64_t v[2] = {h, -h};
  World().Allreduce(v, 2, ReduceOp::kMax);
  return v[0] == h && v[1] == -h;
}

struct Input {
  std::string src, tgt;
};

Input WriteInput(const std::string& dir, bool gzip, int n) {
  Input in{dir + (gzip ? "/s.gz" : "/s.txt"), dir + (gzip ? "/t.gz" : "/t.txt")};
  if (World().rank() == 0) {
    auto [src, tgt] = testing::MakePairs(n, 31, 25);
    src[n / 3] = "";  // dropped as empty, wherever the split falls
    if (gzip) {
      testing::WriteGzip(in.src, testing::JoinLines(src));
      testing::WriteGzip(in.tgt, testing::JoinLines(tgt));
    } else {
      testing::WriteText(in.src, testing::JoinLines(src));
      testing::WriteText(in.tgt, testing::JoinLines(tgt));
    }
  }
  World().Barrier();
  return in;
}

void ExpectSameContentAsOneProcess(bool gzip, const std::string& tokenizer) {
  const std::string dir = SharedDir(gzip ? "gz" : "plain");
  const Input in = WriteInput(dir, gzip, 1500);
  PreprocessOptions o = testing::WordOptions(in.src, in.tgt, dir + "/alone");
  o.data.tokenizer = tokenizer;
  o.data.vocab_size = 50;
  o.data.shard_sentences = 400;
  if (World().rank() == 0) testing::PreprocessAlone(o);  // the reference: one process
  World().Barrier();
  o.out = dir + "/job";
  const Manifest m = Preprocess(o, World());
  EXPECT_EQ(m.ranks, World().size());
  EXPECT_EQ(m.filters.lines, 1500);
  EXPECT_EQ(m.filters.empty, 1);
  EXPECT_TRUE(SameOnAllRanks(ManifestToYaml(m)));
  if (World().rank() == 0) {
    const auto alone = Corpus::Open(dir + "/alone");
    const auto job = Corpus::Open(dir + "/job");
    EXPECT_TRUE(job->src_vocab() == alone->src_vocab());
    EXPECT_EQ(job->manifest().filters, alone->manifest().filters);
    EXPECT_EQ(job->manifest().tgt_length_hist, alone->manifest().tgt_length_hist);
    EXPECT_EQ(testing::ReadContent(*job), testing::ReadContent(*alone));
    // Each rank wrote its own shards.
    std::set<std::string> writers;
    for (const ShardSummary& s : job->manifest().shards) writers.insert(s.file.substr(0, 11));
    EXPECT_EQ(static_cast<int>(writers.size()), World().size());
  }
  RemoveShared(dir);
}

TEST(PreprocessMpi, PlainWordsSameContentAsOneProcess) {
  ExpectSameContentAsOneProcess(false, "whitespace");
}
TEST(PreprocessMpi, GzipWordsSameContentAsOneProcess) {
  ExpectSameContentAsOneProcess(true, "whitespace");
}
TEST(PreprocessMpi, SentencePieceSameContentAsOneProcess) {
  ExpectSameContentAsOneProcess(false, "sentencepiece");
}

TEST(PreprocessMpi, ABadLineInOneRanksPartIsOneErrorEverywhere) {
  const std::string dir = SharedDir("bad");
  const Input in = WriteInput(dir, false, 300);
  if (World().rank() == 0) {
    auto [src, tgt] = testing::MakePairs(300, 31, 25);
    tgt[290] = "kaputt \xc3\x28";  // in the last rank's part
    testing::WriteText(in.tgt, testing::JoinLines(tgt));
  }
  World().Barrier();
  std::string message = "(no error)";
  try {
    Preprocess(testing::WordOptions(in.src, in.tgt, dir + "/out"), World());
  } catch (const CollectiveError& e) {
    message = e.what();
  }
  EXPECT_TRUE(testing::Contains(message, "'" + in.tgt +
                                             "' line 291: expected UTF-8 text, found "
                                             "the invalid byte 0xC3 at byte 8"))
      << message;
  EXPECT_TRUE(SameOnAllRanks(message));
  World().Barrier();
  if (World().rank() == 0) {
    std::vector<std::string> left;
    for (const auto& e : fs::directory_iterator(dir)) left.push_back(e.path().filename());
    std::sort(left.begin(), left.end());
    EXPECT_EQ(left, (std::vector<std::string>{"s.txt", "t.txt"}));  // no output, no temporary
  }
  RemoveShared(dir);
}

TEST(BatchReaderMpi, EveryRanksPartTilesTheGlobalBatch) {
  const std::string dir = SharedDir("reader");
  const Input in = WriteInput(dir, false, 1200);
  PreprocessOptions o = testing::WordOptions(in.src, in.tgt, dir + "/c");
  o.data.shard_sentences = 500;
  Preprocess(o, World());
  const auto corpus = Corpus::Open(dir + "/c");
  BatchReaderOptions options;
  options.batching = {400, 0, 5, true};
  options.epochs = 2;
  options.prefetch = 4;
  BatchReader whole(corpus, options);  // what one rank alone would train on
  options.rank = World().rank();
  options.world_size = World().size();
  BatchReader mine(corpus, options);
  std::string sequence;  // every global batch, as this rank sees it
  std::int64_t batches = 0;
  while (auto global = whole.Next()) {
    const auto part = mine.Next();
    ASSERT_TRUE(part.has_value());
    ASSERT_EQ(part->position, global->position);
    EXPECT_EQ(part->global_sentences, global->global_sentences);
    EXPECT_EQ(part->global_tgt_tokens, global->global_tgt_tokens);
    const auto B = static_cast<std::size_t>(global->size);
    // This rank's part is the contiguous slice [first, first + size).
    std::int64_t got[2] = {part->size, part->tgt_tokens()};
    World().Allreduce(got, 2, ReduceOp::kSum);
    EXPECT_EQ(got[0], global->global_sentences);
    EXPECT_EQ(got[1], global->global_tgt_tokens);
    for (std::size_t j = 0; j < static_cast<std::size_t>(part->size); ++j) {
      const std::size_t g = static_cast<std::size_t>(part->first) + j;
      ASSERT_EQ(part->line[j], global->line[g]);
      for (std::size_t t = 0; t < static_cast<std::size_t>(part->tgt_len[j]); ++t) {
        ASSERT_EQ(part->tgt[t * static_cast<std::size_t>(part->size) + j], global->tgt[t * B + g]);
      }
    }
    for (std::int64_t l : global->line) sequence += std::to_string(l) + ",";
    sequence += ";";
    ++batches;
  }
  EXPECT_FALSE(mine.Next().has_value());
  EXPECT_GT(batches, 10);
  EXPECT_TRUE(SameOnAllRanks(sequence));
  RemoveShared(dir);
}

}  // namespace
}  // namespace rnnsearch
