// The batch reader in one process: time-major padded parts that match the
// stored sentences, rank parts that tile the global batch for any number
// of ranks (also more ranks than sentences), O(1) resume from a saved
// position, epoch ends, and read errors surfacing from the prefetch thread.
#include "io/batch_reader.h"

#include <gtest/gtest.h>
#include <hdf5.h>

#include "common/error.h"
#include "tests/io/io_fixture.h"

namespace rnnsearch {
namespace {

using testing::Contains;
using testing::TempDir;

class BatchReaderTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir("reader");
    auto [src, tgt] = testing::MakePairs(700, 21, 30);
    testing::WriteText(*dir_ / "s.txt", testing::JoinLines(src));
    testing::WriteText(*dir_ / "t.txt", testing::JoinLines(tgt));
    auto o = testing::WordOptions(*dir_ / "s.txt", *dir_ / "t.txt", *dir_ / "corpus");
    o.data.shard_sentences = 300;  // 3 shards
    testing::PreprocessAlone(o);
    corpus_ = new std::shared_ptr<const Corpus>(Corpus::Open(*dir_ / "corpus"));
    content_ = new testing::CorpusContent(testing::ReadContent(**corpus_));
  }
  static void TearDownTestSuite() {
    delete content_;
    delete corpus_;
    delete dir_;
  }
  static BatchReaderOptions Options(int rank, int world, std::int64_t epochs = 2) {
    BatchReaderOptions o;
    o.batching = {300, 0, 77, true};
    o.epochs = epochs;
    o.prefetch = 3;
    o.rank = rank;
    o.world_size = world;
    return o;
  }
  static std::vector<Batch> ReadAll(BatchReader& r) {
    std::vector<Batch> all;
    while (auto b = r.Next()) all.push_back(std::move(*b));
    return all;
  }
  static TempDir* dir_;
  static std::shared_ptr<const Corpus>* corpus_;
  static testing::CorpusContent* content_;
};
TempDir* BatchReaderTest::dir_ = nullptr;
std::shared_ptr<const Corpus>* BatchReaderTest::corpus_ = nullptr;
testing::CorpusContent* BatchReaderTest::content_ = nullptr;

TEST_F(BatchReaderTest, TimeMajorPaddedPartsMatchTheStoredSentences) {
  BatchReader reader(*corpus_, Options(0, 1));
  const auto batches = ReadAll(reader);
  const std::int64_t per_epoch = reader.BatchesInEpoch(0);
  ASSERT_EQ(static_cast<std::int64_t>(batches.size()), per_epoch + reader.BatchesInEpoch(1));
  std::int64_t sentences = 0;
  for (std::size_t k = 0; k < batches.size(); ++k) {
    const Batch& b = batches[k];
    EXPECT_EQ(b.position.epoch, k < static_cast<std::size_t>(per_epoch) ? 0 : 1);
    const auto B = static_cast<std::size_t>(b.size);
    ASSERT_EQ(b.size, b.global_sentences);
    ASSERT_EQ(b.src.size(), static_cast<std::size_t>(b.src_steps) * B);
    ASSERT_EQ(b.tgt.size(), static_cast<std::size_t>(b.tgt_steps) * B);
    EXPECT_LE(b.tgt_steps * b.size, 300);  // the token budget, padding included
    EXPECT_EQ(b.global_tgt_tokens, b.tgt_tokens());
    EXPECT_EQ(b.global_src_tokens, b.src_tokens());
    for (std::size_t j = 0; j < B; ++j) {
      const auto& [src, tgt] = content_->at(b.line[j]);
      ASSERT_EQ(b.src_len[j], static_cast<std::int32_t>(src.size()));
      ASSERT_EQ(b.tgt_len[j], static_cast<std::int32_t>(tgt.size()));
      for (std::size_t t = 0; t < static_cast<std::size_t>(b.src_steps); ++t) {
        ASSERT_EQ(b.src[t * B + j], t < src.size() ? src[t] : Vocab::kPad);
      }
      for (std::size_t t = 0; t < static_cast<std::size_t>(b.tgt_steps); ++t) {
        ASSERT_EQ(b.tgt[t * B + j], t < tgt.size() ? tgt[t] : Vocab::kPad);
      }
    }
    if (b.position.epoch == 0) sentences += b.size;
  }
  EXPECT_EQ(sentences, (*corpus_)->sentences());  // one epoch: every pair once
  EXPECT_EQ(reader.position(), (DataPosition{2, 0}));
}

TEST_F(BatchReaderTest, RankPartsTileTheGlobalBatchForAnyNumberOfRanks) {
  BatchReader whole(*corpus_, Options(0, 1, 1));
  const auto global = ReadAll(whole);
  for (int world : {2, 3, 5, 400}) {
    std::vector<std::vector<Batch>> parts;
    for (int r = 0; r < world; ++r) {
      BatchReader reader(*corpus_, Options(r, world, 1));
      parts.push_back(ReadAll(reader));
      ASSERT_EQ(parts.back().size(), global.size()) << world;
    }
    bool saw_empty = false;
    for (std::size_t k = 0; k < global.size(); ++k) {
      std::vector<std::int64_t> lines;
      std::int64_t tgt_tokens = 0;
      for (int r = 0; r < world; ++r) {
        const Batch& p = parts[static_cast<std::size_t>(r)][k];
        EXPECT_EQ(p.position, global[k].position);
        EXPECT_EQ(p.global_sentences, global[k].global_sentences);
        EXPECT_EQ(p.global_tgt_tokens, global[k].global_tgt_tokens);
        EXPECT_EQ(p.first, static_cast<std::int64_t>(lines.size()));  // contiguous, in rank order
        lines.insert(lines.end(), p.line.begin(), p.line.end());
        tgt_tokens += p.tgt_tokens();
        if (p.size == 0) {
          saw_empty = true;
          EXPECT_TRUE(p.src.empty() && p.tgt.empty() && p.src_steps == 0 && p.tgt_steps == 0);
        }
      }
      EXPECT_EQ(lines, global[k].line) << world << " ranks, batch " << k;
      EXPECT_EQ(tgt_tokens, global[k].global_tgt_tokens);
    }
    if (world == 400) {
      EXPECT_TRUE(saw_empty);  // more ranks than sentences
    }
  }
}

TEST_F(BatchReaderTest, ResumesFromASavedPositionWithoutReplaying) {
  BatchReader full(*corpus_, Options(1, 2, 3));
  const auto all = ReadAll(full);
  for (std::size_t k : {std::size_t{0}, std::size_t{5}, all.size() / 2, all.size() - 1}) {
    BatchReader resumed(*corpus_, Options(1, 2, 3), all[k].next);
    EXPECT_EQ(resumed.position(), all[k].next);
    const auto rest = ReadAll(resumed);
    ASSERT_EQ(rest.size(), all.size() - k - 1) << k;
    for (std::size_t i = 0; i < rest.size(); ++i) {
      ASSERT_EQ(rest[i].position, all[k + 1 + i].position);
      ASSERT_EQ(rest[i].line, all[k + 1 + i].line);
      ASSERT_EQ(rest[i].tgt, all[k + 1 + i].tgt);
    }
  }
  // The end of an epoch is the start of the next.
  const std::int64_t n0 = full.BatchesInEpoch(0);
  BatchReader at_end(*corpus_, Options(0, 1, 3), DataPosition{0, n0});
  EXPECT_EQ(at_end.position(), (DataPosition{1, 0}));
  // A position past the end of its epoch belongs to another corpus or batching.
  try {
    BatchReader bad(*corpus_, Options(0, 1, 3), DataPosition{0, n0 + 1});
    ADD_FAILURE() << "expected an error";
  } catch (const UserError& e) {
    EXPECT_TRUE(Contains(e.what(), "data position (epoch 0, batch " + std::to_string(n0 + 1) +
                                       ") is past the end of that epoch, which has " +
                                       std::to_string(n0) + " batches"))
        << e.what();
  }
  // Past the last epoch: nothing to read.
  BatchReader done(*corpus_, Options(0, 1, 3), DataPosition{3, 0});
  EXPECT_FALSE(done.Next().has_value());
}

TEST_F(BatchReaderTest, EndlessReaderStopsCleanlyWhenDestroyed) {
  BatchReaderOptions o = Options(0, 1, 0);  // no epoch limit
  BatchReader reader(*corpus_, o);
  const std::int64_t per_epoch = reader.BatchesInEpoch(0) + reader.BatchesInEpoch(1);
  for (std::int64_t i = 0; i < per_epoch + 3; ++i) ASSERT_TRUE(reader.Next().has_value());
  EXPECT_EQ(reader.position().epoch, 2);
}

TEST(BatchReaderErrors, ADamagedChunkSurfacesFromThePrefetchThread) {
  TempDir dir("damaged_chunk");
  auto [src, tgt] = testing::MakePairs(3000, 22, 10);
  testing::WriteText(dir / "s.txt", testing::JoinLines(src));
  testing::WriteText(dir / "t.txt", testing::JoinLines(tgt));
  testing::PreprocessAlone(testing::WordOptions(dir / "s.txt", dir / "t.txt", dir / "c"));
  const std::string shard = dir / "c/shard-00000-00000.h5";
  // Where the first chunk of /tgt/ids is stored.
  haddr_t addr = 0;
  hsize_t size = 0;
  {
    const hid_t f = H5Fopen(shard.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    const hid_t d = H5Dopen2(f, "/tgt/ids", H5P_DEFAULT);
    const hsize_t offset[1] = {0};
    unsigned mask = 0;
    ASSERT_GE(H5Dget_chunk_info_by_coord(d, offset, &mask, &addr, &size), 0);
    H5Dclose(d);
    H5Fclose(f);
  }
  const auto corpus = Corpus::Open(dir / "c");  // sizes match: not verified by CRC here
  {
    std::fstream f(shard, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(addr + size / 2));
    char c = 0;
    f.read(&c, 1);
    f.seekp(static_cast<std::streamoff>(addr + size / 2));
    c = static_cast<char>(c ^ 0x55);
    f.write(&c, 1);
  }
  BatchReaderOptions o;
  o.batching = {100000, 0, 1, false};  // one batch: everything, first chunk included
  o.epochs = 1;
  BatchReader reader(corpus, o);
  try {
    reader.Next();
    ADD_FAILURE() << "expected the fletcher32 checksum to catch the damage";
  } catch (const UserError& e) {
    EXPECT_TRUE(Contains(e.what(), "cannot read /tgt/ids of '" + shard + "'")) << e.what();
    EXPECT_TRUE(Contains(e.what(), "Fletcher32 checksum")) << e.what();
  }
}

}  // namespace
}  // namespace rnnsearch
