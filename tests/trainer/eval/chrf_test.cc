// chrF against sacreBLEU's own test values (test/test_chrf.py of sacreBLEU
// 2.x) and against scores worked out by hand for the default settings.
#include "trainer/eval/chrf.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace rnnsearch {
namespace {

using Lines = std::vector<std::string>;

double Chrf(const Lines& hyps, const Lines& refs, const ChrfOptions& o) {
  return CorpusChrf(hyps, {refs}, o).score;
}

ChrfOptions Beta3(bool eps_smoothing, bool whitespace = false) {
  ChrfOptions o;
  o.beta = 3;
  o.eps_smoothing = eps_smoothing;
  o.whitespace = whitespace;
  return o;
}

TEST(Chrf, SacreBleuEpsSmoothingCases) {
  const ChrfOptions o = Beta3(true);
  EXPECT_NEAR(Chrf({"abcdefg"}, {"hijklmnop"}, o), 0.0, 1e-4);
  EXPECT_NEAR(Chrf({"a"}, {"b"}, o), 0.0, 1e-4);
  EXPECT_NEAR(Chrf({""}, {"b"}, o), 0.0, 1e-4);
  EXPECT_NEAR(Chrf({""}, {"ref"}, o), 0.0, 1e-4);
  EXPECT_NEAR(Chrf({""}, {"reference"}, o), 0.0, 1e-4);
  EXPECT_NEAR(Chrf({"aa"}, {"ab"}, o), 8.3333, 1e-4);
  EXPECT_NEAR(Chrf({"a", "b"}, {"a", "c"}, o), 8.3333, 1e-4);
  EXPECT_NEAR(Chrf({"a"}, {"a"}, o), 16.6667, 1e-4);
  EXPECT_NEAR(Chrf({"a b c"}, {"a b c"}, o), 50.0, 1e-4);
  EXPECT_NEAR(Chrf({"a b c"}, {"abc"}, o), 50.0, 1e-4);
  EXPECT_NEAR(Chrf({" risk assessment must be made of those who are qualified and expertise in "
                    "the sector - these are the scientists ."},
                   {"risk assessment has to be undertaken by those who are qualified and expert "
                    "in that area - that is the scientists ."},
                   o),
              63.361730, 1e-4);
  EXPECT_NEAR(
      Chrf({" Die    Beziehung zwischen  Obama und Netanjahu ist nicht gerade  freundlich. "},
           {"Das Verhältnis zwischen Obama und Netanyahu ist nicht gerade freundschaftlich."}, o),
      64.1302698, 1e-4);
  EXPECT_NEAR(Chrf({"Niemand hat die Absicht, eine Mauer zu errichten"},
                   {"Niemand hat die Absicht, eine Mauer zu errichten"}, o),
              100.0, 1e-4);
}

TEST(Chrf, SacreBleuEffectiveOrderCases) {
  const ChrfOptions o = Beta3(false);
  EXPECT_NEAR(Chrf({"a"}, {"a"}, o), 100.0, 1e-4);
  EXPECT_NEAR(Chrf({""}, {"reference"}, o), 0.0, 1e-4);
  EXPECT_NEAR(Chrf({"a b c"}, {"a b c"}, o), 100.0, 1e-4);
  EXPECT_NEAR(Chrf({"a b c"}, {"abc"}, o), 100.0, 1e-4);
  EXPECT_NEAR(Chrf({""}, {"c"}, o), 0.0, 1e-4);
  EXPECT_NEAR(Chrf({"a", "b"}, {"a", "c"}, o), 50.0, 1e-4);
  EXPECT_NEAR(Chrf({"aa"}, {"ab"}, o), 25.0, 1e-4);
}

TEST(Chrf, SacreBleuKeepWhitespaceCases) {
  const ChrfOptions o = Beta3(false, true);
  EXPECT_NEAR(
      Chrf({"Die Beziehung zwischen Obama und Netanjahu ist nicht gerade freundlich."},
           {"Das Verhältnis zwischen Obama und Netanyahu ist nicht gerade freundschaftlich."}, o),
      67.3481606, 1e-4);
  EXPECT_NEAR(Chrf({"risk assessment must be made of those who are qualified and expertise in "
                    "the sector - these are the scientists ."},
                   {"risk assessment has to be undertaken by those who are qualified and expert "
                    "in that area - that is the scientists ."},
                   o),
              65.2414427, 1e-4);
}

TEST(Chrf, SacreBleuSentenceLevelCases) {
  ChrfOptions o;  // beta 2
  o.eps_smoothing = true;
  EXPECT_NEAR(Chrf({"Co nás nejvíc trápí, protože lékaři si vybírají, kdo bude žít a kdo zemře."},
                   {"Nejvíce smutní jsme z toho, že musíme rozhodovat o tom, kdo bude žít a kdo "
                    "zemře."},
                   o),
              39.14078509, 1e-4);
  EXPECT_NEAR(
      Chrf({"Nebo prostě nemají vybavení, které by jim pomohlo, uvedli lékaři."},
           {"A někdy nemáme ani potřebný materiál, abychom jim pomohli, popsali lékaři."}, o),
      31.22557079, 1e-4);
  EXPECT_NEAR(Chrf({"Lapali po dechu, jejich životy skončily dřív, než skutečně začaly."},
                   {"Lapali po dechu a pak jejich život skončil - dřív, než skutečně mohl začít, "
                    "připomněli."},
                   o),
              57.15704367, 1e-4);
}

TEST(Chrf, SacreBleuReadmeExample) {
  // sacreBLEU's README (2.x): chrF2 = 59.73 with two reference streams.
  const Lines hyps = {"The dog bit the man.", "It wasn't surprising.",
                      "The man had just bitten him."};
  const std::vector<Lines> refs = {
      {"The dog bit the man.", "It was not unexpected.", "The man bit him first."},
      {"The dog had bit the man.", "No one was surprised.", "The man had bitten the dog."}};
  EXPECT_EQ(FormatChrf(CorpusChrf(hyps, refs), ChrfOptions{}, ChrfSignature(ChrfOptions{}, 2)),
            "chrF2|nrefs:2|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.4.3 = 59.73");
}

TEST(Chrf, DefaultsByHand) {
  // "abc" against "ab": 1-grams P 2/3 R 1, 2-grams P 1/2 R 1; the reference
  // has no 3-gram, so orders 3..6 do not count. P = 7/12, R = 1, beta 2:
  // F = 5 P R / (4 P + R) = 35/40.
  const ChrfScore s = CorpusChrf({"abc"}, {{"ab"}});
  EXPECT_NEAR(s.score, 87.5, 1e-12);
  ASSERT_EQ(s.stats.size(), 18u);
  EXPECT_EQ((std::vector<std::int64_t>(s.stats.begin(), s.stats.begin() + 9)),
            (std::vector<std::int64_t>{3, 2, 2, 2, 1, 1, 0, 0, 0}));
  // Several references: each segment takes its best one.
  EXPECT_NEAR(CorpusChrf({"abc"}, {{"xyz"}, {"ab"}}).score, 87.5, 1e-12);
  // Lowercasing, and the signature and line sacreBLEU prints.
  ChrfOptions lc;
  lc.lowercase = true;
  EXPECT_NEAR(CorpusChrf({"ABC"}, {{"ab"}}, lc).score, 87.5, 1e-12);
  EXPECT_EQ(FormatChrf(s, ChrfOptions{}, ChrfSignature(ChrfOptions{}, 1)),
            "chrF2|nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.4.3 = 87.50");
  EXPECT_EQ(ChrfSignature(lc, 2), "nrefs:2|case:lc|eff:yes|nc:6|nw:0|space:no|version:2.4.3");
}

TEST(Chrf, StatisticsOfPartsAddUp) {
  const Lines hyps = {"Der Hund biss den Mann.", "", "Überraschend."};
  const Lines refs = {"Der Hund hat den Mann gebissen.", "Niemand", "Nicht überraschend."};
  std::vector<std::int64_t> parts = ChrfStatistics({hyps[0]}, {{refs[0]}});
  const std::vector<std::int64_t> rest = ChrfStatistics({hyps[1], hyps[2]}, {{refs[1], refs[2]}});
  for (std::size_t k = 0; k < parts.size(); ++k) parts[k] += rest[k];
  EXPECT_EQ(parts, ChrfStatistics(hyps, {refs}));
}

}  // namespace
}  // namespace rnnsearch
