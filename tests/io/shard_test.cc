// Shards and the corpus directory: stored order, HDF5 types and filters,
// the manifest round trip, and Corpus::Open refusing damaged or mixed-up
// directories with a message that names the file.
#include "io/shard.h"

#include <gtest/gtest.h>
#include <hdf5.h>

#include <set>

#include "common/error.h"
#include "common/file_read.h"
#include "io/checksum.h"
#include "io/corpus.h"
#include "io/manifest.h"
#include "tests/io/io_fixture.h"

namespace rnnsearch {
namespace {

using testing::Contains;
using testing::TempDir;

std::string ErrorOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const UserError& e) {
    return e.what();
  }
  return "(no error)";
}

// Size in bytes and filter count of a dataset's stored type.
std::pair<std::size_t, int> TypeAndFilters(const std::string& file, const char* dataset) {
  const hid_t f = H5Fopen(file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  const hid_t d = H5Dopen2(f, dataset, H5P_DEFAULT);
  const hid_t t = H5Dget_type(d);
  const hid_t p = H5Dget_create_plist(d);
  std::pair<std::size_t, int> out{H5Tget_size(t), H5Pget_nfilters(p)};
  H5Z_filter_t first = H5Pget_filter2(p, 0, nullptr, nullptr, nullptr, 0, nullptr, nullptr);
  H5Z_filter_t last = H5Pget_filter2(p, static_cast<unsigned>(out.second - 1), nullptr, nullptr,
                                     nullptr, 0, nullptr, nullptr);
  EXPECT_EQ(first, H5Z_FILTER_SHUFFLE);
  EXPECT_EQ(last, H5Z_FILTER_FLETCHER32);
  H5Pclose(p);
  H5Tclose(t);
  H5Dclose(d);
  H5Fclose(f);
  return out;
}

ShardPairs SamplePairs() {
  ShardPairs p;
  p.Add(10, std::vector<std::int32_t>{7, 8, 9, 3}, std::vector<std::int32_t>{5, 3});
  p.Add(11, std::vector<std::int32_t>{6, 3}, std::vector<std::int32_t>{4, 4, 3});
  p.Add(12, std::vector<std::int32_t>{9, 3}, std::vector<std::int32_t>{4, 3});
  p.Add(13, std::vector<std::int32_t>{3}, std::vector<std::int32_t>{3});
  return p;
}

TEST(Shard, SortsByLongerSideAndStoresSmallestTypes) {
  ShardPairs p = SamplePairs();
  p.SortForBatching();
  // Longer side: 4, 3, 2, 1 -> order 13, 12, 11, 10.
  EXPECT_EQ(p.line, (std::vector<std::int64_t>{13, 12, 11, 10}));
  EXPECT_EQ(p.src_ids, (std::vector<std::int32_t>{3, 9, 3, 6, 3, 7, 8, 9, 3}));
  EXPECT_EQ(p.tgt_ids, (std::vector<std::int32_t>{3, 4, 3, 4, 4, 3, 5, 3}));

  TempDir dir("shard");
  for (std::int64_t vocab : {200, 40000, 70000}) {
    const std::string path = dir / ("s" + std::to_string(vocab) + ".h5");
    const ShardSummary sum = WriteShard(path, p, {vocab, 256, "aaaa", "bbbb"});
    EXPECT_EQ(sum.file, "s" + std::to_string(vocab) + ".h5");
    EXPECT_EQ(sum.sentences, 4);
    EXPECT_EQ(sum.src_tokens, 9);
    EXPECT_EQ(sum.tgt_tokens, 8);
    EXPECT_EQ(sum.bytes, static_cast<std::int64_t>(std::filesystem::file_size(path)));
    const auto [src_type, filters] = TypeAndFilters(path, "/src/ids");
    EXPECT_EQ(src_type, vocab <= 256 ? 1u : vocab <= 65536 ? 2u : 4u);
    EXPECT_EQ(filters, 3);                                  // shuffle, deflate, fletcher32
    EXPECT_EQ(TypeAndFilters(path, "/tgt/ids").first, 1u);  // 256 ids fit a byte
    EXPECT_EQ(TypeAndFilters(path, "/src/lengths").first, 1u);

    const ShardFile f(path);
    EXPECT_EQ(f.sentences(), 4);
    EXPECT_EQ(f.meta().src_vocab_size, vocab);
    EXPECT_EQ(f.meta().tgt_vocab_hash, "bbbb");
    std::vector<std::int32_t> sl, tl;
    f.ReadLengths(&sl, &tl);
    EXPECT_EQ(sl, p.src_len);
    EXPECT_EQ(tl, p.tgt_len);
    std::int64_t offsets[2];
    f.ReadOffsets(false, 2, 2, offsets);
    EXPECT_EQ(offsets[0], 3);
    EXPECT_EQ(offsets[1], 5);
    std::int32_t ids[4];
    f.ReadIds(false, 5, 4, ids);
    EXPECT_EQ(std::vector<std::int32_t>(ids, ids + 4), (std::vector<std::int32_t>{7, 8, 9, 3}));
  }
  // A file that is not a shard.
  testing::WriteText(dir / "junk.h5", "junk");
  EXPECT_TRUE(Contains(ErrorOf([&] { ShardFile f(dir / "junk.h5"); }),
                       "cannot read the shard '" + (dir / "junk.h5") + "'"));
}

// A one-shard corpus directory written by hand.
Manifest WriteCorpusDir(const std::string& dir, const ShardPairs& sorted) {
  Manifest m;
  m.created_by = "test";
  m.src_input = "s.txt";
  m.tgt_input = "t.txt";
  m.tokenizer = "whitespace";
  m.vocab_origin = "test words";
  m.src_vocab = m.tgt_vocab = Vocab::FromWords({"a", "b", "c", "d", "e", "f"}, "test");
  m.max_len = 50;
  m.max_ratio = 9;
  m.filters = {4, 4, 0, 0, 0, 0};
  m.sentences = 4;
  m.src_tokens = 9;
  m.tgt_tokens = 8;
  m.src_length_hist = {0, 1, 2, 0, 1};
  m.tgt_length_hist = {0, 1, 2, 1};
  m.shards.push_back(WriteShard(dir + "/shard-00000-00000.h5", sorted,
                                {10, 10, m.src_vocab.hash_hex(), m.tgt_vocab.hash_hex()}));
  WriteManifest(dir, m);
  return m;
}

TEST(Corpus, ManifestRoundTripAndReading) {
  TempDir dir("corpus");
  ShardPairs p = SamplePairs();
  p.SortForBatching();
  const Manifest m = WriteCorpusDir(dir.path(), p);
  const Manifest back = ManifestFromYaml(ManifestToYaml(m), "x");
  EXPECT_EQ(ManifestToYaml(back), ManifestToYaml(m));
  EXPECT_TRUE(back.src_vocab == m.src_vocab);
  EXPECT_EQ(back.filters, m.filters);

  const auto c = Corpus::Open(dir.path());
  EXPECT_EQ(c->sentences(), 4);
  ASSERT_EQ(c->num_shards(), 1);
  const ShardPairs part = c->Read(0, 1, 2);
  EXPECT_EQ(part.line, (std::vector<std::int64_t>{12, 11}));
  EXPECT_EQ(part.src_ids, (std::vector<std::int32_t>{9, 3, 6, 3}));
  EXPECT_EQ(part.tgt_ids, (std::vector<std::int32_t>{4, 3, 4, 4, 3}));
  EXPECT_GT(c->index_bytes(), 0);
}

TEST(Corpus, OffsetsAcrossIndexBlocks) {
  // More than 256 sentences, so offsets come from the block index.
  TempDir dir("blocks");
  ShardPairs p;
  for (int i = 0; i < 700; ++i) {
    std::vector<std::int32_t> s(static_cast<std::size_t>(1 + i % 7), 4 + i % 5),
        t(static_cast<std::size_t>(1 + i % 3), 5);
    s.back() = 3;
    t.back() = 3;
    p.Add(i, s, t);
  }
  p.SortForBatching();
  WriteCorpusDir(dir.path(), p);
  // The manifest's token counts must match: rewrite them.
  Manifest m = ReadManifest(dir.path());
  m.sentences = 700;
  m.src_tokens = static_cast<std::int64_t>(p.src_ids.size());
  m.tgt_tokens = static_cast<std::int64_t>(p.tgt_ids.size());
  m.shards[0].sentences = 700;
  m.shards[0].src_tokens = m.src_tokens;
  m.shards[0].tgt_tokens = m.tgt_tokens;
  WriteManifest(dir.path(), m);
  const auto c = Corpus::Open(dir.path());
  std::size_t s_at = 0;
  for (std::int64_t first : {0, 255, 256, 257, 511, 512, 699}) {
    s_at = 0;
    for (std::int64_t i = 0; i < first; ++i)
      s_at += static_cast<std::size_t>(p.src_len[static_cast<std::size_t>(i)]);
    const ShardPairs r = c->Read(0, first, 1);
    ASSERT_EQ(r.src_ids.size(),
              static_cast<std::size_t>(p.src_len[static_cast<std::size_t>(first)]));
    EXPECT_TRUE(std::equal(r.src_ids.begin(), r.src_ids.end(),
                           p.src_ids.begin() + static_cast<std::ptrdiff_t>(s_at)))
        << first;
    EXPECT_EQ(r.line[0], p.line[static_cast<std::size_t>(first)]);
  }
}

TEST(Corpus, RefusesDamagedOrMixedDirectories) {
  TempDir dir("damaged");
  ShardPairs p = SamplePairs();
  p.SortForBatching();
  const Manifest m = WriteCorpusDir(dir.path(), p);
  const std::string shard = dir / "shard-00000-00000.h5";
  const std::string manifest = dir / "manifest.yaml";

  EXPECT_TRUE(
      Contains(ErrorOf([&] { Corpus::Open(dir / "nowhere"); }),
               "'" + (dir / "nowhere") + "' is not a preprocessed corpus: it does not exist"));
  EXPECT_TRUE(Contains(ErrorOf([&] { Corpus::Open(shard); }),
                       "'" + shard +
                           "' is not a preprocessed corpus: it is a file, not a corpus "
                           "directory"));
  // A newer format version.
  {
    Manifest newer = m;
    newer.format_version = 2;
    testing::WriteText(manifest, ManifestToYaml(newer));
    EXPECT_TRUE(Contains(ErrorOf([&] { Corpus::Open(dir.path()); }),
                         "'" + manifest + "': expected corpus format version 1, found 2"));
  }
  // A shard of another corpus (other vocabulary hash).
  {
    Manifest other = m;
    other.src_vocab = other.tgt_vocab = Vocab::FromWords({"x"}, "other");
    testing::WriteText(manifest, ManifestToYaml(other));
    EXPECT_TRUE(Contains(ErrorOf([&] { Corpus::Open(dir.path()); }),
                         "the shard belongs to another corpus"));
  }
  // A truncated shard, a damaged shard, a missing shard.
  testing::WriteText(manifest, ManifestToYaml(m));
  std::ifstream in(shard, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  in.close();
  testing::WriteText(shard, bytes.substr(0, bytes.size() - 10));
  EXPECT_TRUE(Contains(ErrorOf([&] { Corpus::Open(dir.path()); }),
                       "expected " + std::to_string(bytes.size()) + " bytes as recorded in '" +
                           manifest + "', found " + std::to_string(bytes.size() - 10)));
  std::string flipped = bytes;
  flipped[flipped.size() - 5] = static_cast<char>(flipped[flipped.size() - 5] ^ 0x5A);
  testing::WriteText(shard, flipped);
  EXPECT_TRUE(Contains(ErrorOf([&] { Corpus::Open(dir.path()); }), "(the shard is damaged)"));
  std::filesystem::remove(shard);
  EXPECT_TRUE(Contains(ErrorOf([&] { Corpus::Open(dir.path()); }),
                       "'" + shard + "': shard listed in '" + manifest + "' cannot be read"));
  // A manifest with a missing key.
  testing::WriteText(manifest, "format: rnnsearch-corpus\nformat_version: 1\n");
  EXPECT_TRUE(Contains(ErrorOf([&] { Corpus::Open(dir.path()); }),
                       "'" + manifest + "': missing key 'created_by'"));
}

// Found by tests/fuzz/corpus_fuzz: a crc32 that is not hex threw
// std::invalid_argument from std::stoul instead of a UserError.
TEST(Corpus, RefusesACrcThatIsNotHex) {
  TempDir dir("crc");
  ShardPairs p = SamplePairs();
  p.SortForBatching();
  WriteCorpusDir(dir.path(), p);
  const std::string manifest = dir / "manifest.yaml";
  std::ifstream in(manifest);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto at = text.find("crc32: \"") + 8;
  for (const std::string crc : {"", "zz", "123456789"}) {
    std::string edited = text;
    edited.replace(at, 8, crc);
    testing::WriteText(manifest, edited);
    EXPECT_EQ(
        ErrorOf([&] { Corpus::Open(dir.path()); }),
        "'" + manifest + "': shards[0].crc32: expected up to 8 hex digits, found '" + crc + "'");
  }
}

// Replaces dataset `name` of the one shard of `m` in `dir` with int32
// `values` and records the shard's new size in the manifest.
void ReplaceInShard(const std::string& dir, Manifest m, const char* name,
                    const std::vector<std::int32_t>& values) {
  const std::string shard = dir + "/" + m.shards[0].file;
  {
    H5Id f(H5Fopen(shard.c_str(), H5F_ACC_RDWR, H5P_DEFAULT), H5Fclose);
    ASSERT_GE(H5Ldelete(f.get(), name, H5P_DEFAULT), 0);
    WriteDataset1D(f.get(), name, H5T_STD_I32LE, H5T_NATIVE_INT32, values.data(),
                   static_cast<std::int64_t>(values.size()), 16, shard);
  }
  m.shards[0].bytes = static_cast<std::int64_t>(std::filesystem::file_size(shard));
  m.shards[0].crc32 = FileCrc32(shard);
  WriteManifest(dir, m);
}

// Found by tests/fuzz/corpus_fuzz: a negative length (its sum still the
// manifest's) made Corpus::Read resize to a negative size (std::length_error).
// Also refused now: lengths that do not add up to /ids, ids past the
// vocabulary (they would index past the embedding tables).
TEST(Corpus, RefusesLengthsAndIdsThatCannotBe) {
  TempDir dir("lengths");
  ShardPairs p = SamplePairs();
  p.SortForBatching();
  Manifest m = WriteCorpusDir(dir.path(), p);
  const std::string shard = dir / m.shards[0].file;
  ReplaceInShard(dir.path(), m, "src/lengths", {1, -1, 5, 4});  // stored: 1, 2, 2, 4
  EXPECT_EQ(ErrorOf([&] { Corpus::Open(dir.path()); }),
            "'" + shard +
                "': /src/lengths[1] is -1, expected at least 1 (every sentence ends "
                "with </s>)");
  std::filesystem::remove(shard);
  m = WriteCorpusDir(dir.path(), p);
  m.shards[0].src_tokens = 10;
  ReplaceInShard(dir.path(), m, "src/lengths", {1, 2, 2, 5});
  EXPECT_EQ(ErrorOf([&] { Corpus::Open(dir.path()); }),
            "'" + shard + "': /src/ids has 9 entries, its /src/lengths add up to 10");
  std::filesystem::remove(shard);
  m = WriteCorpusDir(dir.path(), p);
  ReplaceInShard(dir.path(), m, "tgt/ids", {3, 4, 3, 4, 200, 3, 5, 3});
  EXPECT_EQ(ErrorOf([&] { Corpus::Open(dir.path())->Read(0, 0, 4); }),
            "'" + shard +
                "': /tgt/ids[4] is 200, outside the vocabulary's 10 ids (the shard is "
                "damaged)");
}

// Found by tests/fuzz/corpus_fuzz: a shard whose header claims 2-byte
// integers where its chunks hold 1-byte ones (one byte changed) made HDF5
// 1.10 copy past the inflated chunk, a heap overflow instead of an error.
// Every 1-byte integer type in the header is widened in turn (some belong
// to attributes, read as garbage and refused or harmless); each of the
// four datasets stored as u8 (ids and lengths of both sides) is refused at
// Corpus::Open with a message that names it.
TEST(Corpus, RefusesAHeaderClaimingWiderIntegersThanItsChunks) {
  TempDir dir("widened");
  ShardPairs p = SamplePairs();
  p.SortForBatching();
  Manifest m = WriteCorpusDir(dir.path(), p);
  const std::string shard = dir / m.shards[0].file;
  const std::string bytes = ReadWholeFile(shard, "the shard");
  const std::uint32_t sealed = m.shards[0].crc32;
  // An HDF5 datatype message: fixed-point, version 1, little-endian
  // unsigned, 1 byte, bit offset 0, precision 8.
  const std::string u8("\x10\0\0\0\x01\0\0\0\0\0\x08\0", 12);
  std::vector<std::size_t> at;
  for (auto i = bytes.find(u8); i != std::string::npos; i = bytes.find(u8, i + 1)) at.push_back(i);
  ASSERT_FALSE(at.empty());
  std::set<std::string> named;
  for (const std::size_t i : at) {
    std::string widened = bytes;
    widened[i + 4] = 2;    // size
    widened[i + 10] = 16;  // precision
    testing::WriteText(shard, widened);
    // The manifest's CRC-32 refuses any changed byte first; re-sealed (as
    // by a tool that rewrote the manifest), the header is checked.
    EXPECT_TRUE(Contains(ErrorOf([&] { Corpus::Open(dir.path()); }), "(the shard is damaged)"));
    m.shards[0].crc32 = FileCrc32(shard);
    WriteManifest(dir.path(), m);
    const std::string error = ErrorOf([&] {
      const auto corpus = Corpus::Open(dir.path());
      corpus->Read(0, 0, corpus->shard(0).sentences());
    });
    for (const char* name : {"/src/ids", "/src/lengths", "/tgt/ids", "/tgt/lengths"}) {
      if (!Contains(error, "'" + shard + "': " + name + ":")) continue;
      named.insert(name);
      EXPECT_TRUE(Contains(error, std::string(name) +
                                      ": the integers are 2 bytes but the chunks were shuffled "
                                      "as 1-byte elements (the file is damaged)"))
          << error;
    }
  }
  EXPECT_EQ(named.size(), 4u);
  testing::WriteText(shard, bytes);
  m.shards[0].crc32 = sealed;
  WriteManifest(dir.path(), m);
  EXPECT_EQ(ErrorOf([&] { Corpus::Open(dir.path()); }), "(no error)");
}

// A shard whose 'sentences' attribute and per-sentence datasets all claim
// 2^31 entries, the datasets never written (so the file stays small):
// ReadLengths would have allocated 16 GB.
TEST(Shard, RefusesMoreSentencesThanItStores) {
  TempDir dir("unwritten");
  ShardPairs p = SamplePairs();
  p.SortForBatching();
  const Manifest m = WriteCorpusDir(dir.path(), p);
  const std::string shard = dir / m.shards[0].file;
  const hsize_t n[1] = {hsize_t{1} << 31}, chunk[1] = {16384};
  {
    H5Id f(H5Fopen(shard.c_str(), H5F_ACC_RDWR, H5P_DEFAULT), H5Fclose);
    H5Id space(H5Screate_simple(1, n, nullptr), H5Sclose);
    H5Id dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
    ASSERT_GE(H5Pset_chunk(dcpl.get(), 1, chunk), 0);
    ASSERT_GE(H5Pset_shuffle(dcpl.get()), 0);  // stored as the writer stores
    ASSERT_GE(H5Pset_deflate(dcpl.get(), 1), 0);
    ASSERT_GE(H5Pset_fletcher32(dcpl.get()), 0);
    for (const char* name : {"line", "src/lengths", "src/offsets", "tgt/lengths", "tgt/offsets"}) {
      ASSERT_GE(H5Ldelete(f.get(), name, H5P_DEFAULT), 0);
      H5Id d(H5Dcreate2(f.get(), name, H5T_STD_U8LE, space.get(), H5P_DEFAULT, dcpl.get(),
                        H5P_DEFAULT),
             H5Dclose);
      ASSERT_GE(d.get(), 0);
    }
    ASSERT_GE(H5Adelete(f.get(), "sentences"), 0);
    WriteIntAttr(f.get(), "sentences", std::int64_t{1} << 31, shard);
  }
  EXPECT_EQ(ErrorOf([&] { ShardFile s(shard); }),
            "'" + shard + "': /src/lengths: 2147483648 entries in 0 stored bytes, more than " +
                "compression allows (the shard is damaged)");
}

}  // namespace
}  // namespace rnnsearch
