// Vocabularies: word lists by frequency, SentencePiece training with the
// docs/model.md special ids, encode/decode round trips, serialization, errors.
#include "io/vocab.h"

#include <gtest/gtest.h>
#include <sentencepiece_trainer.h>

#include "common/error.h"
#include "io/vocab_build.h"
#include "tests/io/io_fixture.h"

namespace rnnsearch {
namespace {

using testing::Contains;

std::string ErrorOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const UserError& e) {
    return e.what();
  }
  return "(no error)";
}

// Lines from a vector, for TrainSentencePiece.
std::function<bool(std::string*)> FromVector(const std::vector<std::string>& lines) {
  auto i = std::make_shared<std::size_t>(0);
  return [&lines, i](std::string* out) {
    if (*i == lines.size()) return false;
    *out = lines[(*i)++];
    return true;
  };
}

TEST(WordVocab, ByFrequencyThenBytesWithLimits) {
  WordCounts c;
  c.AddLine("b a c a  b\ta");
  c.AddLine("d c </s> <unk>");
  // a:3 b:2 c:2 d:1, specials never become words.
  Vocab all = BuildWordVocab(c, 1, 0);
  ASSERT_EQ(all.size(), 8);
  EXPECT_EQ(all.Piece(0), "<pad>");
  EXPECT_EQ(all.Piece(3), "</s>");
  EXPECT_EQ(all.Piece(4), "a");
  EXPECT_EQ(all.Piece(5), "b");  // ties by byte order
  EXPECT_EQ(all.Piece(6), "c");
  EXPECT_EQ(all.Piece(7), "d");
  EXPECT_EQ(BuildWordVocab(c, 2, 0).size(), 7);  // d dropped
  EXPECT_EQ(BuildWordVocab(c, 1, 6).size(), 6);  // a and b only
  EXPECT_EQ(BuildWordVocab(c, 1, 6).Piece(5), "b");

  EXPECT_EQ(all.Encode("a d  zzz </s> <unk>"),
            (std::vector<std::int32_t>{4, 7, Vocab::kUnk, Vocab::kUnk, Vocab::kUnk}));
  EXPECT_EQ(all.Decode(std::vector<std::int32_t>{2, 4, 0, 7, 1, 3, 5}), "a d <unk>");
}

TEST(WordVocab, CountsMergeAndSerialize) {
  WordCounts a, b;
  a.AddLine("x y x");
  b.AddLine("y z");
  WordCounts merged = WordCounts::Deserialize(a.Serialize(), "a");
  merged.Merge(WordCounts::Deserialize(b.Serialize(), "b"));
  EXPECT_EQ(merged.count("x"), 2);
  EXPECT_EQ(merged.count("y"), 2);
  EXPECT_EQ(merged.count("z"), 1);
  EXPECT_TRUE(Contains(ErrorOf([] { WordCounts::Deserialize("x\ty\n", "counts of rank 1"); }),
                       "counts of rank 1: expected 'word<TAB>count', found 'x\ty'"));
}

TEST(WordVocab, SerializeRoundTripAndErrors) {
  const Vocab v = Vocab::FromWords({"hello", "world"}, "test");
  const Vocab back = Vocab::Deserialize(v.kind_name(), v.bytes(), "copy");
  EXPECT_TRUE(back == v);
  EXPECT_EQ(back.hash(), v.hash());
  EXPECT_NE(Vocab::FromWords({"world", "hello"}, "x").hash(), v.hash());
  EXPECT_TRUE(Contains(ErrorOf([] {
                         Vocab::FromWords({"a", "a"}, "list");
                       }),
                       "list: word 5: 'a' appears twice"));
  EXPECT_TRUE(Contains(ErrorOf([] { Vocab::FromWords({"a b"}, "list"); }),
                       "expected no whitespace, found 'a b'"));
  EXPECT_TRUE(Contains(ErrorOf([] { Vocab::Deserialize("words", "<pad>\n<unk>\nx\n", "m"); }),
                       "m: expected word 2 to be <s>, found 'x'"));
  EXPECT_TRUE(Contains(ErrorOf([] { Vocab::Deserialize("bpe", "", "m"); }),
                       "expected vocabulary kind 'sentencepiece' or 'words', found 'bpe'"));
}

TEST(SentencePieceVocab, TrainedModelHasModelMdIdsAndRoundTrips) {
  auto [src, tgt] = testing::MakePairs(400, 3);
  std::vector<std::string> text = src;
  text.insert(text.end(), tgt.begin(), tgt.end());
  for (const char* type : {"unigram", "bpe"}) {
    SpmTrainOptions o;
    o.model_type = type;
    o.vocab_size = 80;
    const Vocab v = TrainSentencePiece(FromVector(text), o);
    EXPECT_EQ(v.kind(), Vocab::Kind::kSentencePiece);
    EXPECT_EQ(v.size(), 80) << type;
    EXPECT_EQ(v.Piece(0), "<pad>");
    EXPECT_EQ(v.Piece(1), "<unk>");
    EXPECT_EQ(v.Piece(2), "<s>");
    EXPECT_EQ(v.Piece(3), "</s>");
    for (const std::string& line : text) {
      const auto ids = v.Encode(line);
      ASSERT_FALSE(ids.empty());
      for (std::int32_t id : ids) ASSERT_GE(id, Vocab::kNumSpecial) << line;
      std::vector<std::int32_t> with_eos = ids;
      with_eos.push_back(Vocab::kEos);
      with_eos.push_back(Vocab::kPad);
      ASSERT_EQ(v.Decode(with_eos), line) << type;
    }
    // Same text, same model (training is seeded).
    const Vocab again = TrainSentencePiece(FromVector(text), o);
    EXPECT_EQ(again.hash(), v.hash()) << type;
    EXPECT_TRUE(Vocab::Deserialize("sentencepiece", v.bytes(), "copy") == v);
  }
}

// A character far rarer than 1 in 2,000 of the text (as 'x' or the digits
// are in Multi30k's German side) keeps its own piece at the default
// coverage of 1 and becomes <unk> at SentencePiece's own default, 0.9995.
TEST(SentencePieceVocab, CharacterCoverageKeepsRareCharacters) {
  const char* words[] = {"the", "dog", "runs", "on",  "green", "grass", "near", "fence",
                         "a",   "boy", "has",  "big", "red",   "ball",  "and",  "cat"};
  std::vector<std::string> text;
  for (int i = 0; i < 3000; ++i) {
    text.push_back(std::string(words[i % 16]) + " " + words[(i / 16) % 16] + " " +
                   words[(i / 256) % 16] + " " + words[(i * 7) % 16]);
  }
  text.push_back("the boxer has 7 dogs");
  for (const char* type : {"unigram", "bpe"}) {
    SpmTrainOptions o;
    o.model_type = type;
    o.vocab_size = 40;
    EXPECT_EQ(o.character_coverage, 1.0);
    const Vocab full = TrainSentencePiece(FromVector(text), o);
    const auto ids = full.Encode("the boxer has 7 dogs");
    for (std::int32_t id : ids) EXPECT_NE(id, Vocab::kUnk) << type;
    EXPECT_EQ(full.Decode(ids), "the boxer has 7 dogs") << type;

    o.character_coverage = 0.9995;
    const Vocab partial = TrainSentencePiece(FromVector(text), o);
    EXPECT_EQ(partial.Encode("x").back(), Vocab::kUnk) << type;
    EXPECT_EQ(partial.Encode("7").back(), Vocab::kUnk) << type;
    EXPECT_NE(full.Encode("x").back(), Vocab::kUnk) << type;
  }
}

TEST(SentencePieceVocab, ErrorsNameTheProblem) {
  EXPECT_TRUE(Contains(ErrorOf([] { Vocab::FromSentencePiece("not a model", "m.model"); }),
                       "m.model: expected a SentencePiece model"));
  // A model trained with SentencePiece's own default ids (unk 0, bos 1, eos 2, no pad).
  auto [src, tgt] = testing::MakePairs(200, 5);
  struct It : sentencepiece::SentenceIterator {
    const std::vector<std::string>* lines;
    std::size_t i = 0;
    bool done() const override { return i >= lines->size(); }
    void Next() override { ++i; }
    const std::string& value() const override { return (*lines)[i]; }
    sentencepiece::util::Status status() const override { return {}; }
  } it;
  it.lines = &src;
  std::string model;
  ASSERT_TRUE(
      sentencepiece::SentencePieceTrainer::Train("--vocab_size=40 --minloglevel=2", &it, &model)
          .ok());
  EXPECT_TRUE(Contains(ErrorOf([&] { Vocab::FromSentencePiece(model, "default.model"); }),
                       "default.model: expected the SentencePiece special ids pad 0, unk 1, bos "
                       "2, eos 3, found pad -1, unk 0, bos 1, eos 2"));
  // More ids than the text supports.
  SpmTrainOptions o;
  o.vocab_size = 5000;
  EXPECT_TRUE(Contains(ErrorOf([&] { TrainSentencePiece(FromVector(src), o); }),
                       "(data.vocab_size is 5000; a smaller vocabulary may fit this text)"));
  // An error of the text source propagates as it is.
  o.vocab_size = 40;
  EXPECT_EQ(ErrorOf([] {
              TrainSentencePiece([](std::string*) -> bool { throw UserError("bad line 7"); },
                                 SpmTrainOptions{});
            }),
            "bad line 7");
}

}  // namespace
}  // namespace rnnsearch
