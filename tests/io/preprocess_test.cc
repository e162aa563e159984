// rnnsearch preprocess in one process: text -> shards -> ids -> text round
// trips (words and SentencePiece, plain and gzip), filter counts, reused
// and given vocabularies, and every bad input with its message and with
// nothing left behind.
#include "io/preprocess.h"

#include <gtest/gtest.h>

#include "common/error.h"
#include "io/corpus.h"
#include "io/vocab_build.h"
#include "tests/io/io_fixture.h"

namespace rnnsearch {
namespace {

namespace fs = std::filesystem;
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

// Nothing but the inputs in `dir`: no output, no temporary directory.
void ExpectOnlyInputs(const TempDir& dir, std::size_t inputs) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir.path())) names.push_back(e.path().filename());
  EXPECT_EQ(names.size(), inputs) << ::testing::PrintToString(names);
}

// Decodes every stored pair and compares it with the input lines.
void ExpectRoundTrip(const Corpus& c, const std::vector<std::string>& src,
                     const std::vector<std::string>& tgt) {
  const auto content = testing::ReadContent(c);
  ASSERT_EQ(static_cast<std::int64_t>(content.size()), c.sentences());
  for (const auto& [line, ids] : content) {
    ASSERT_EQ(ids.first.back(), Vocab::kEos);
    ASSERT_EQ(ids.second.back(), Vocab::kEos);
    EXPECT_EQ(c.src_vocab().Decode(ids.first), src[static_cast<std::size_t>(line)]) << line;
    EXPECT_EQ(c.tgt_vocab().Decode(ids.second), tgt[static_cast<std::size_t>(line)]) << line;
  }
}

TEST(Preprocess, WordsRoundTripWithShardsAndFilterCounts) {
  TempDir dir("words");
  auto [src, tgt] = testing::MakePairs(600, 11, 20);
  // Lines the filters must drop, at known places.
  src[5] = "";                         // empty
  tgt[9] = "   \t ";                   // only whitespace
  src[20] = std::string(60 * 2, ' ');  // whitespace only, too
  src[30] = "a";
  for (int k = 0; k < 55; ++k) src[30] += " a";                   // 56 words > max_len 50
  tgt[40] = "ein mann";                                           // 2 words
  src[40] = "a b c d e f g h i j k l m n o p q r s t u v w x y";  // 25 words: ratio 12.5
  testing::WriteText(dir / "s.txt", testing::JoinLines(src));
  testing::WriteText(dir / "t.txt", testing::JoinLines(tgt));
  PreprocessOptions o = testing::WordOptions(dir / "s.txt", dir / "t.txt", dir / "out");
  o.data.shard_sentences = 100;
  const Manifest m = testing::PreprocessAlone(o);
  EXPECT_EQ(m.filters.lines, 600);
  EXPECT_EQ(m.filters.empty, 3);
  EXPECT_EQ(m.filters.too_long, 1);
  EXPECT_EQ(m.filters.ratio, 1);
  EXPECT_EQ(m.filters.kept, 595);
  EXPECT_EQ(m.sentences, 595);
  EXPECT_EQ(m.shards.size(), 6u);  // 100 pairs per shard at most

  const auto c = Corpus::Open(dir / "out");
  EXPECT_EQ(c->manifest().filters, m.filters);
  ExpectRoundTrip(*c, src, tgt);
  const auto content = testing::ReadContent(*c);
  for (std::int64_t dropped : {5, 9, 20, 30, 40}) EXPECT_EQ(content.count(dropped), 0u);
  // The histogram counts lengths with </s>.
  std::int64_t in_hist = 0;
  for (std::int64_t v : m.tgt_length_hist) in_hist += v;
  EXPECT_EQ(in_hist, 595);
  EXPECT_EQ(m.tgt_length_hist.size(), 52u);  // max_len + 2
  ExpectOnlyInputs(dir, 3);
}

TEST(Preprocess, SentencePieceRoundTripGzipSameAsPlain) {
  TempDir dir("spm");
  auto [src, tgt] = testing::MakePairs(500, 12, 15);
  testing::WriteText(dir / "s.txt", testing::JoinLines(src));
  testing::WriteText(dir / "t.txt", testing::JoinLines(tgt));
  testing::WriteGzip(dir / "s.gz", testing::JoinLines(src));
  testing::WriteGzip(dir / "t.gz", testing::JoinLines(tgt));
  PreprocessOptions o = testing::WordOptions(dir / "s.txt", dir / "t.txt", dir / "plain");
  o.data.tokenizer = "sentencepiece";
  o.data.vocab_size = 50;
  o.data.joint_vocab = false;
  const Manifest plain = testing::PreprocessAlone(o);
  EXPECT_FALSE(plain.joint_vocab);
  EXPECT_EQ(plain.src_vocab.size(), 50);
  EXPECT_EQ(plain.tgt_vocab.size(), 50);
  EXPECT_NE(plain.src_vocab.hash(), plain.tgt_vocab.hash());
  const auto c = Corpus::Open(dir / "plain");
  ExpectRoundTrip(*c, src, tgt);

  o.src = dir / "s.gz";
  o.tgt = dir / "t.gz";
  o.out = dir / "gz";
  testing::PreprocessAlone(o);
  const auto g = Corpus::Open(dir / "gz");
  EXPECT_TRUE(g->src_vocab() == c->src_vocab());
  EXPECT_EQ(testing::ReadContent(*g), testing::ReadContent(*c));
}

TEST(Preprocess, ValidationSetReusesTheVocabularyAndGivenModelsWork) {
  TempDir dir("reuse");
  auto [src, tgt] = testing::MakePairs(400, 13, 12);
  testing::WriteText(dir / "s.txt", testing::JoinLines(src));
  testing::WriteText(dir / "t.txt", testing::JoinLines(tgt));
  testing::WriteText(dir / "vs.txt", "a dog runs\nthe unseenword sits\n");
  testing::WriteText(dir / "vt.txt", "ein hund rennt\nder unbekannt sitzt\n");
  PreprocessOptions o = testing::WordOptions(dir / "s.txt", dir / "t.txt", dir / "train");
  const Manifest train = testing::PreprocessAlone(o);
  PreprocessOptions v = testing::WordOptions(dir / "vs.txt", dir / "vt.txt", dir / "valid");
  v.vocab_from = dir / "train";
  v.data.tokenizer = "sentencepiece";  // ignored: the vocabularies come from train
  const Manifest valid = testing::PreprocessAlone(v);
  EXPECT_EQ(valid.tokenizer, "whitespace");
  EXPECT_EQ(valid.src_vocab.hash(), train.src_vocab.hash());
  const auto content = testing::ReadContent(*Corpus::Open(dir / "valid"));
  EXPECT_EQ(content.at(1).first[1], Vocab::kUnk);  // "unseenword"

  // A SentencePiece model file given by the user.
  const Vocab model = TrainSentencePiece(
      [&, i = std::size_t{0}](std::string* s) mutable {
        if (i == src.size()) return false;
        *s = src[i++];
        return true;
      },
      SpmTrainOptions{"unigram", 50, 1000, "data.vocab_size"});
  testing::WriteText(dir / "m.model", model.bytes());
  PreprocessOptions g = testing::WordOptions(dir / "s.txt", dir / "s.txt", dir / "given");
  g.data.tokenizer = "sentencepiece";
  g.spm_model = dir / "m.model";
  const Manifest given = testing::PreprocessAlone(g);
  EXPECT_TRUE(given.src_vocab == model);
  EXPECT_TRUE(given.joint_vocab);
  ExpectRoundTrip(*Corpus::Open(dir / "given"), src, src);
}

TEST(Preprocess, DifferentLineCountsNameBothFilesAndWriteNothing) {
  TempDir dir("mismatch");
  testing::WriteText(dir / "s.txt", "a\nb\nc\n");
  testing::WriteText(dir / "t.txt", "x\ny\n");
  const auto o = testing::WordOptions(dir / "s.txt", dir / "t.txt", dir / "out");
  EXPECT_EQ(ErrorOf([&] { testing::PreprocessAlone(o); }),
            "the source and target files must have one line per sentence pair, but '" +
                (dir / "s.txt") + "' has 3 lines and '" + (dir / "t.txt") +
                "' has 2 lines; nothing was written");
  testing::WriteGzip(dir / "t.gz", "x\ny\nz\nw\n");
  const auto g = testing::WordOptions(dir / "s.txt", dir / "t.gz", dir / "out");
  EXPECT_TRUE(Contains(ErrorOf([&] { testing::PreprocessAlone(g); }),
                       "' has 3 lines and '" + (dir / "t.gz") + "' has 4 lines"));
  ExpectOnlyInputs(dir, 3);
}

TEST(Preprocess, InvalidUtf8NamesFileAndLineOrIsSkippedAndCounted) {
  TempDir dir("utf8");
  testing::WriteText(dir / "s.txt", "good one\nalso good\nthird\n");
  testing::WriteText(dir / "t.txt", "gut\nnicht \xff gut\ndritte\n");
  for (const char* tokenizer : {"whitespace", "sentencepiece"}) {
    PreprocessOptions o = testing::WordOptions(dir / "s.txt", dir / "t.txt", dir / "out");
    o.data.tokenizer = tokenizer;
    o.data.vocab_size = 20;
    EXPECT_EQ(ErrorOf([&] { testing::PreprocessAlone(o); }),
              "'" + (dir / "t.txt") +
                  "' line 2: expected UTF-8 text, found the invalid byte "
                  "0xFF at byte 7 of the line (convert the file to UTF-8, or pass "
                  "--skip-invalid-utf8 to skip and count such lines)")
        << tokenizer;
    ExpectOnlyInputs(dir, 2);
  }
  PreprocessOptions o = testing::WordOptions(dir / "s.txt", dir / "t.txt", dir / "out");
  o.skip_invalid_utf8 = true;
  const Manifest m = testing::PreprocessAlone(o);
  EXPECT_EQ(m.filters.invalid_utf8, 1);
  EXPECT_EQ(m.filters.kept, 2);
  EXPECT_EQ(testing::ReadContent(*Corpus::Open(dir / "out")).count(1), 0u);
}

TEST(Preprocess, MissingUnreadableAndExistingOutputs) {
  TempDir dir("files");
  testing::WriteText(dir / "s.txt", "a b\nc d\n");
  testing::WriteText(dir / "t.txt", "x y\nz w\n");
  auto o = testing::WordOptions(dir / "nope.txt", dir / "t.txt", dir / "out");
  EXPECT_EQ(ErrorOf([&] { testing::PreprocessAlone(o); }),
            "cannot open '" + (dir / "nope.txt") + "': No such file or directory");
  fs::create_directory(dir / "adir");
  o.src = dir / "adir";
  EXPECT_EQ(ErrorOf([&] { testing::PreprocessAlone(o); }),
            "'" + (dir / "adir") + "' is a directory, not a file");
  o.src = dir / "s.txt";
  ExpectOnlyInputs(dir, 3);

  // An existing output: refused, then replaced with --overwrite.
  testing::PreprocessAlone(o);
  const auto first = fs::last_write_time(dir / "out/manifest.yaml");
  EXPECT_EQ(ErrorOf([&] { testing::PreprocessAlone(o); }),
            "the output '" + (dir / "out") + "' already exists; pass --overwrite to replace it");
  testing::WriteText(dir / "t.txt", "x y\nchanged\n");
  o.overwrite = true;
  testing::PreprocessAlone(o);
  EXPECT_EQ(testing::ReadContent(*Corpus::Open(dir / "out")).at(1).second.size(), 2u);
  EXPECT_NE(fs::last_write_time(dir / "out/manifest.yaml"), first);
  ExpectOnlyInputs(dir, 4);  // no old copy, no temporary left
  // --overwrite never replaces something that is not a corpus.
  fs::create_directory(dir / "precious");
  testing::WriteText(dir / "precious/thesis.tex", "...");
  o.out = dir / "precious";
  EXPECT_TRUE(Contains(ErrorOf([&] { testing::PreprocessAlone(o); }),
                       "exists and is not a preprocessed corpus (no manifest.yaml); refusing to "
                       "replace it even with --overwrite"));
  EXPECT_TRUE(fs::exists(dir / "precious/thesis.tex"));
}

TEST(Preprocess, NothingLeftAfterFilteringIsAnError) {
  TempDir dir("empty");
  testing::WriteText(dir / "s.txt", "\n\n");
  testing::WriteText(dir / "t.txt", "a\n\n");
  const auto o = testing::WordOptions(dir / "s.txt", dir / "t.txt", dir / "out");
  EXPECT_TRUE(Contains(ErrorOf([&] { testing::PreprocessAlone(o); }),
                       "no sentence pairs are left after filtering the 2 lines of"));
  ExpectOnlyInputs(dir, 2);
}

TEST(Preprocess, ContradictoryOptions) {
  TempDir dir("options");
  testing::WriteText(dir / "s.txt", "a\n");
  auto o = testing::WordOptions(dir / "s.txt", dir / "s.txt", dir / "out");
  o.spm_model = "x.model";  // with tokenizer whitespace
  EXPECT_TRUE(Contains(ErrorOf([&] { testing::PreprocessAlone(o); }),
                       "a SentencePiece model needs data.tokenizer sentencepiece, found "
                       "'whitespace'"));
  o.spm_model.clear();
  o.src_spm_model = "a.model";
  EXPECT_TRUE(Contains(ErrorOf([&] { testing::PreprocessAlone(o); }),
                       "--src-spm-model and --tgt-spm-model go together"));
  o.src_spm_model.clear();
  o.data.max_words = 3;
  EXPECT_TRUE(Contains(ErrorOf([&] { testing::PreprocessAlone(o); }),
                       "data.max_words: expected 0 (no limit) or more than the 4 special ids, "
                       "found 3"));
}

}  // namespace
}  // namespace rnnsearch
