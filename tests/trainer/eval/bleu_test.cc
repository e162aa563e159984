// Corpus BLEU against sacreBLEU's own test values (test/test_bleu.py of
// sacreBLEU 2.x: hypotheses, references and expected scores) and against
// scores worked out by hand from n-gram counts: empty lines, a hypothesis
// shorter than its reference, unicode punctuation, lowercasing.
#include "trainer/eval/bleu.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

namespace rnnsearch {
namespace {

using Lines = std::vector<std::string>;

// sacreBLEU's README example: 3 hypotheses, 2 reference streams.
const Lines kHyps = {"The dog bit the man.", "It wasn't surprising.",
                     "The man had just bitten him."};
const std::vector<Lines> kRefs = {
    {"The dog bit the man.", "It was not unexpected.", "The man bit him first."},
    {"The dog had bit the man.", "No one was surprised.", "The man had bitten the dog."}};

// sacreBLEU's raw_corpus_bleu: no tokenization, floor smoothing, effective order.
BleuOptions Raw(double floor) {
  BleuOptions o;
  o.tokenize = "none";
  o.smooth_method = "floor";
  o.smooth_value = floor;
  o.effective_order = true;
  return o;
}

TEST(Bleu, SacreBleuCorpusCases) {
  EXPECT_NEAR(CorpusBleu(kHyps, kRefs).score, 48.530827, 1e-8);  // sacreBLEU's tolerance
  BleuOptions none;
  none.tokenize = "none";
  EXPECT_NEAR(CorpusBleu(kHyps, kRefs, none).score, 49.1919566, 1e-8);
  BleuOptions no_smoothing;
  no_smoothing.smooth_method = "none";
  EXPECT_NEAR(CorpusBleu(kHyps, kRefs, no_smoothing).score, 48.530827, 1e-8);
  // Empty hypotheses are scored, not dropped.
  EXPECT_EQ(CorpusBleu({"", "", ""}, kRefs).score, 0.0);
}

TEST(Bleu, SacreBleuReadmeLines) {
  // The lines of sacreBLEU's README (2.x) for the same example.
  EXPECT_EQ(
      FormatBleu(CorpusBleu(kHyps, kRefs), BleuSignature(BleuOptions{}, ReferenceCount(kRefs))),
      "BLEU|nrefs:2|case:mixed|eff:no|tok:13a|smooth:exp|version:2.4.3 = 48.53 "
      "82.4/50.0/45.5/37.5 (BP = 0.943 ratio = 0.944 hyp_len = 17 ref_len = 18)");
  // An empty string is an absent reference: a variable number of references.
  std::vector<Lines> variable = kRefs;
  variable[0][0] = "";
  EXPECT_EQ(ReferenceCount(variable), -1);
  EXPECT_EQ(FormatBleu(CorpusBleu(kHyps, variable),
                       BleuSignature(BleuOptions{}, ReferenceCount(variable))),
            "BLEU|nrefs:var|case:mixed|eff:no|tok:13a|smooth:exp|version:2.4.3 = 29.44 "
            "82.4/42.9/27.3/12.5 (BP = 0.889 ratio = 0.895 hyp_len = 17 ref_len = 19)");
}

TEST(Bleu, SacreBleuMaxOrderCases) {
  const char* expected[] = {"77.65", "60.50", "53.93", "48.53", "46.14", "43.28"};
  for (int order = 1; order <= 6; ++order) {
    BleuOptions o;
    o.max_ngram_order = order;
    char text[32];
    std::snprintf(text, sizeof text, "%.2f", CorpusBleu(kHyps, kRefs, o).score);
    EXPECT_EQ(std::string(text), expected[order - 1]) << "order " << order;
  }
}

// sacreBLEU checks these as fractions to 1e-8, that is percent to 1e-6.
TEST(Bleu, SacreBleuRawCases) {
  EXPECT_EQ(CorpusBleu({"this is a test", "another test"}, {{"ref1", "ref2"}}, Raw(0.01)).score,
            0.0);
  EXPECT_NEAR(CorpusBleu({"this is a test"}, {{"this is a test"}}, Raw(0.01)).score, 100.0, 1e-6);
  EXPECT_NEAR(CorpusBleu({"this is a fest"}, {{"this is a test"}}, Raw(0.01)).score,
              22.3606797749979, 1e-6);
  // Effective order.
  EXPECT_NEAR(CorpusBleu({"test"}, {{"a test"}}, Raw(0.01)).score, 36.78794411714425, 1e-6);
  EXPECT_NEAR(CorpusBleu({"a test"}, {{"a test"}}, Raw(0.01)).score, 100.0, 1e-6);
  EXPECT_NEAR(CorpusBleu({"a little test"}, {{"a test"}}, Raw(0.01)).score, 3.218297948685433,
              1e-6);
}

TEST(Bleu, SacreBleuStatisticsAndBrevityPenalty) {
  // A hypothesis shorter than its reference: 6 against 8 tokens.
  const Lines hyp = {"am I am a character sequence"};
  const std::vector<Lines> ref = {{"I am a symbol string sequence a a"}};
  const BleuStats s = BleuStatistics(hyp, ref, Raw(0.0));
  EXPECT_EQ(s.correct, (std::vector<std::int64_t>{4, 2, 1, 0}));
  EXPECT_EQ(s.total, (std::vector<std::int64_t>{6, 5, 4, 3}));
  EXPECT_EQ(s.sys_len, 6);
  EXPECT_EQ(s.ref_len, 8);
  EXPECT_EQ(CorpusBleu(hyp, ref, Raw(0.0)).score, 0.0);  // floor 0: a zero precision
  BleuOptions floor_default = Raw(0.0);
  floor_default.smooth_value = -1;  // sacreBLEU's default floor, 0.1
  const BleuScore b = CorpusBleu(hyp, ref, floor_default);
  EXPECT_NEAR(b.score, 15.55722182, 1e-6);
  EXPECT_NEAR(b.bp, std::exp(1.0 - 8.0 / 6.0), 1e-15);
  EXPECT_NEAR(b.ratio, 0.75, 1e-15);
}

TEST(Bleu, SacreBleuScoringFromStatistics) {
  BleuStats s;
  s.correct = {9, 7, 5, 3};
  s.total = {10, 8, 6, 4};
  s.sys_len = s.ref_len = 11;
  EXPECT_NEAR(ComputeBleu(s).score, 83.75922397, 1e-6);
  // Degenerate statistics score 0 with floor smoothing (sacreBLEU's cases).
  BleuOptions floor;
  floor.smooth_method = "floor";
  for (const auto& [correct, total, sys, ref, value] : std::vector<
           std::tuple<std::vector<std::int64_t>, std::vector<std::int64_t>, int, int, double>>{
           {{0, 0, 0, 0}, {4, 4, 2, 1}, 0, 1, 0.0},
           {{0, 0, 0, 0}, {10, 11, 12, 0}, 14, 10, 0.0},
           {{0, 0, 0, 0}, {0, 0, 0, 0}, 0, 0, 0.0},
           {{6, 5, 4, 0}, {6, 5, 4, 3}, 6, 6, 0.0},
           {{0, 0, 0, 0}, {0, 0, 0, 0}, 0, 0, 0.1},
           {{0, 0, 0, 0}, {0, 0, 0, 0}, 1, 5, 0.01}}) {
    BleuStats d;
    d.correct = correct;
    d.total = total;
    d.sys_len = sys;
    d.ref_len = ref;
    floor.smooth_value = value;
    EXPECT_EQ(ComputeBleu(d, floor).score, 0.0);
  }
}

TEST(Bleu, HandComputedEmptyLinesAndUnicodePunctuation) {
  // 13a keeps „Hallo“ whole and splits the ASCII comma and period:
  // hyp „Hallo“ , sagte er .   ref „Hallo“ , sagte sie .
  // matches 4/5, 2/4, 1/3, 0/2 -> exp smoothing makes the last 100/(2*2).
  // The empty hypothesis line adds 0 tokens to the hypothesis and its
  // reference's 3 tokens ("Guten Tag !") to the reference length.
  const Lines hyps = {"„Hallo“, sagte er.", ""};
  const std::vector<Lines> refs = {{"„Hallo“, sagte sie.", "Guten Tag!"}};
  const BleuScore b = CorpusBleu(hyps, refs);
  EXPECT_EQ(b.stats.correct, (std::vector<std::int64_t>{4, 2, 1, 0}));
  EXPECT_EQ(b.stats.total, (std::vector<std::int64_t>{5, 4, 3, 2}));
  EXPECT_EQ(b.stats.sys_len, 5);
  EXPECT_EQ(b.stats.ref_len, 8);
  const double bp = std::exp(1.0 - 8.0 / 5.0);
  const double geo = std::pow(80.0 * 50.0 * (100.0 / 3.0) * 25.0, 0.25);
  EXPECT_NEAR(b.score, bp * geo, 1e-9);
  EXPECT_EQ(FormatBleu(b, BleuSignature(BleuOptions{}, 1)),
            "BLEU|nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.4.3 = 23.45 "
            "80.0/50.0/33.3/25.0 (BP = 0.549 ratio = 0.625 hyp_len = 5 ref_len = 8)");
  // A segment whose references are all empty is scored against one of
  // length 0 (sacreBLEU refuses it, and so does cmd_score).
  const BleuStats e = BleuStatistics({"a b"}, {{""}});
  EXPECT_EQ(e.ref_len, 0);
  EXPECT_EQ(e.sys_len, 2);
}

TEST(Bleu, LowercaseAndClosestReferenceLength) {
  const Lines hyps = {"THE CAT SAT ON THE MAT"};
  const std::vector<Lines> refs = {{"the cat sat on the mat"}};
  EXPECT_EQ(CorpusBleu(hyps, refs).score, 0.0);
  BleuOptions lc;
  lc.lowercase = true;
  EXPECT_NEAR(CorpusBleu(hyps, refs, lc).score, 100.0, 1e-9);
  EXPECT_EQ(BleuSignature(lc, 1), "nrefs:1|case:lc|eff:no|tok:13a|smooth:exp|version:2.4.3");
  // References of 2 and 4 tokens are equally close to 3: the shorter counts.
  const BleuStats s = BleuStatistics({"a b c"}, {{"a b"}, {"a b c d"}});
  EXPECT_EQ(s.ref_len, 2);
}

TEST(Bleu, StatisticsOfPartsAddUp) {
  BleuStats parts = BleuStatistics({kHyps[0]}, {{kRefs[0][0]}, {kRefs[1][0]}});
  parts += BleuStatistics({kHyps[1], kHyps[2]},
                          {{kRefs[0][1], kRefs[0][2]}, {kRefs[1][1], kRefs[1][2]}});
  const BleuStats whole = BleuStatistics(kHyps, kRefs);
  EXPECT_EQ(parts.correct, whole.correct);
  EXPECT_EQ(parts.total, whole.total);
  EXPECT_EQ(parts.sys_len, whole.sys_len);
  EXPECT_EQ(parts.ref_len, whole.ref_len);
  EXPECT_EQ(ComputeBleu(parts).score, ComputeBleu(whole).score);
}

TEST(Bleu, SignatureOfSmoothingWithAValue) {
  BleuOptions o;
  o.smooth_method = "floor";
  EXPECT_EQ(BleuSignature(o, 2),
            "nrefs:2|case:mixed|eff:no|tok:13a|smooth:floor[0.10]|version:2.4.3");
  o.smooth_method = "add-k";
  o.tokenize = "none";
  EXPECT_EQ(BleuSignature(o, 1),
            "nrefs:1|case:mixed|eff:no|tok:none|smooth:add-k[1.00]|version:2.4.3");
}

}  // namespace
}  // namespace rnnsearch
