// Translator (trainer/decode/translator.h): the batch plan (lines without
// tokens first, the others by subword count, stable, in runs of the batch
// size), and a batch's translations (lines without tokens: one empty
// hypothesis; the others: the beam search's, with the text decoded).
#include "trainer/decode/translator.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "io/vocab.h"
#include "ops/context.h"
#include "tests/trainer/model_fixture.h"
#include "trainer/decode/beam_search.h"

namespace rnnsearch {
namespace {

using Batches = std::vector<std::vector<std::size_t>>;

Vocab Words(const std::string& stem, std::int64_t size) {
  std::vector<std::string> words;
  for (std::int64_t i = Vocab::kNumSpecial; i < size; ++i) {
    words.push_back(stem + std::to_string(i));
  }
  return Vocab::FromWords(words, "translator test " + stem);
}

TEST(Translator, PlanBatches) {
  const Vocab src = Words("s", 11);
  // Subwords: 3, 0, 1, 0, 2, 1, 4 (an unknown word counts), 1.
  const std::vector<std::string> lines = {"s4 s5 s6", "",   "s4",         "  \t ",
                                          "s5 s6",    "s7", "s4 x s4 s4", "s9"};
  EXPECT_EQ(Translator::PlanBatches(src, lines, 4), (Batches{{1, 3}, {2, 5, 7, 4}, {0, 6}}));
  EXPECT_EQ(Translator::PlanBatches(src, lines, 1),
            (Batches{{1, 3}, {2}, {5}, {7}, {4}, {0}, {6}}));
  EXPECT_EQ(Translator::PlanBatches(src, lines, 100), (Batches{{1, 3}, {2, 5, 7, 4, 0, 6}}));
  EXPECT_EQ(Translator::PlanBatches(src, {"s4 s4", "s4"}, 2), (Batches{{1, 0}}));
  EXPECT_EQ(Translator::PlanBatches(src, {""}, 2), (Batches{{0}}));
  EXPECT_EQ(Translator::PlanBatches(src, {}, 2), Batches{});
}

TEST(Translator, TranslateBatchIsTheBeamSearchOfItsLines) {
  const ModelDims d = testing::TinyDims(testing::AllVariants().front());
  ParamSet params(d);
  testing::RandomParams(params, 7, 1.0);
  const Vocab src = Words("s", d.Vs), tgt = Words("t", d.Vt);
  ops::Context ctx(1);
  BeamOptions o;
  o.beam_size = 3;
  o.nbest = 2;
  o.alignments = true;
  Translator translator(ctx, params, src, tgt, o, 8);
  const std::vector<std::string> lines = {"s5 s6 s7", "", "s9 s4", " "};
  const std::vector<LineTranslation> got = translator.TranslateBatch(lines);
  BeamSearch search(ctx, params, o);
  const std::vector<Translation> want = search.Translate({{5, 6, 7}, {9, 4}});
  ASSERT_EQ(got.size(), lines.size());
  for (std::size_t i : {1u, 3u}) {
    EXPECT_TRUE(got[i].source.empty());
    ASSERT_EQ(got[i].nbest.size(), 1u);
    EXPECT_TRUE(got[i].nbest[0].tokens.empty());
    EXPECT_EQ(got[i].nbest[0].score, 0.0);
    EXPECT_TRUE(got[i].attention.empty());
  }
  for (std::size_t k = 0; k < 2; ++k) {
    const LineTranslation& line = got[k == 0 ? 0 : 2];
    EXPECT_EQ(line.source,
              (k == 0 ? std::vector<std::int32_t>{5, 6, 7} : std::vector<std::int32_t>{9, 4}));
    ASSERT_EQ(line.nbest.size(), want[k].nbest.size());
    for (std::size_t h = 0; h < line.nbest.size(); ++h) {
      EXPECT_EQ(line.nbest[h].tokens, want[k].nbest[h].tokens);
      EXPECT_EQ(line.nbest[h].text, tgt.Decode(want[k].nbest[h].tokens));
      EXPECT_EQ(line.nbest[h].score, want[k].nbest[h].score);
      EXPECT_EQ(line.nbest[h].normalized, want[k].nbest[h].normalized);
      EXPECT_EQ(line.nbest[h].finished, want[k].nbest[h].finished);
    }
    EXPECT_EQ(line.attention, want[k].attention);
  }
}

}  // namespace
}  // namespace rnnsearch
