// Corpus chrF exactly as sacreBLEU 2.x computes it by default
// (sacrebleu.metrics.CHRF: character order 6, word order 0, beta 2, no
// whitespace, effective-order averaging): whitespace (Python's) is removed
// from each segment; for n = 1..6 the code-point n-grams of hypothesis and
// reference are counted, with their clipped matches (a hypothesis n-gram
// counts only where the reference has n-grams of that order); with several
// references each segment takes the statistics of the reference with the
// best segment F-score (empty references are absent ones, as for BLEU:
// trainer/eval/bleu.h). Over the summed statistics,
//
//   P = mean of match/hyp, R = mean of match/ref over the orders where both
//   counts are > 0;  chrF = 100 * (1 + b^2) P R / (b^2 P + R)  (0 if P+R = 0)
//
// or, with eps_smoothing, the mean over all orders of the per-order
// F-scores with 1e-16 standing in for undefined precisions and recalls
// (chrF++.py's way). Word n-grams (chrF++) are not implemented.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace rnnsearch {

struct ChrfOptions {
  int char_order = 6;
  int beta = 2;
  bool lowercase = false;
  bool whitespace = false;     // keep whitespace in the character n-grams
  bool eps_smoothing = false;  // chrF++.py's smoothing instead of the effective order
};

struct ChrfScore {
  double score = 0;                 // 0..100
  std::vector<std::int64_t> stats;  // per order: hypothesis n-grams, reference n-grams, matches
};

// Summed statistics of hyps[i] against refs[k][i] (3 per order); they add
// up across parts of a corpus.
std::vector<std::int64_t> ChrfStatistics(const std::vector<std::string>& hyps,
                                         const std::vector<std::vector<std::string>>& refs,
                                         const ChrfOptions& options = {});

// The score of (summed) statistics.
double ChrfFromStatistics(const std::vector<std::int64_t>& stats, const ChrfOptions& options = {});

ChrfScore CorpusChrf(const std::vector<std::string>& hyps,
                     const std::vector<std::vector<std::string>>& refs,
                     const ChrfOptions& options = {});

// sacreBLEU's signature, e.g. "nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.4.3"
// (num_refs < 0: "nrefs:var").
std::string ChrfSignature(const ChrfOptions& options, int num_refs);

// "chrF2|<signature> = 57.02" with `width` decimals.
std::string FormatChrf(const ChrfScore& score, const ChrfOptions& options,
                       const std::string& signature, int width = 2);

}  // namespace rnnsearch
