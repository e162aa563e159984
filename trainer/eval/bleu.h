// Corpus BLEU exactly as sacreBLEU 2.x computes it (sacrebleu.metrics.BLEU
// with its defaults; we match version kSacreBleuVersion): each segment is
// optionally lowercased (Python's str.lower()), right-stripped and
// tokenized ('13a', or 'none': split at whitespace only); n-grams of order
// 1..4 are clipped by the maximum count over the references; the reference
// length of a segment is the one closest to the hypothesis length (the
// shorter on a tie); the statistics are summed over the corpus; then
//
//   BLEU = BP * exp(mean over n of log p_n),  BP = exp(1 - r/c) if c < r,
//
// with p_n in percent and, by default, 'exp' smoothing (the k-th order with
// no match counts as 100 / (2^k * total_n)); no match at all scores 0; an
// order with no hypothesis n-gram ends the loop and scores log(0) as
// -9999999999, which makes BLEU 0 unless effective_order is on.
//
// Empty reference strings are absent references, as in sacreBLEU: a
// segment is scored against its non-empty references only (so the number
// of references may vary, "nrefs:var"). sacreBLEU refuses a segment whose
// references are all empty ("Empty or `None` reference sentence found");
// here it is scored against one empty reference (length 0), and `rnnsearch
// score` refuses it as sacreBLEU does (launch/cmd_score.cc).
//
// Statistics are integers: BleuStats of parts of a corpus (for example one
// per rank) add up to those of the whole.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace rnnsearch {

// The sacreBLEU release whose scores and signatures we reproduce.
inline constexpr const char* kSacreBleuVersion = "2.4.3";

struct BleuOptions {
  bool lowercase = false;
  std::string tokenize = "13a";       // 13a | none
  std::string smooth_method = "exp";  // exp | floor | add-k | none
  double smooth_value = -1;           // floor and add-k; < 0: sacreBLEU's default (0.1, 1)
  int max_ngram_order = 4;
  bool effective_order = false;  // average only the orders with hypothesis n-grams
};

struct BleuStats {
  std::int64_t sys_len = 0;           // hypothesis tokens
  std::int64_t ref_len = 0;           // closest reference tokens
  std::vector<std::int64_t> correct;  // clipped matches per order 1..N
  std::vector<std::int64_t> total;    // hypothesis n-grams per order 1..N

  BleuStats& operator+=(const BleuStats& other);
};

struct BleuScore {
  double score = 0;                // 0..100
  std::vector<double> precisions;  // percent, per order (smoothed as the score uses them)
  double bp = 0;                   // brevity penalty
  double ratio = 0;                // sys_len / ref_len (0 when ref_len is 0)
  BleuStats stats;
};

// The references of segment i: the non-empty refs[k][i], or one empty
// string when there is none. Shared with chrF.
std::vector<const std::string*> SegmentReferences(const std::vector<std::vector<std::string>>& refs,
                                                  std::size_t i, std::size_t num_segments);

// The number of (non-empty) references per segment for the signature, or
// -1 when it varies ("nrefs:var").
int ReferenceCount(const std::vector<std::vector<std::string>>& refs);

// The statistics of hyps[i] against refs[k][i] for every reference stream
// k (all streams as long as hyps). Strings are UTF-8.
BleuStats BleuStatistics(const std::vector<std::string>& hyps,
                         const std::vector<std::vector<std::string>>& refs,
                         const BleuOptions& options = {});

// The score of summed statistics (sacreBLEU's BLEU.compute_bleu).
BleuScore ComputeBleu(const BleuStats& stats, const BleuOptions& options = {});

BleuScore CorpusBleu(const std::vector<std::string>& hyps,
                     const std::vector<std::vector<std::string>>& refs,
                     const BleuOptions& options = {});

// sacreBLEU's signature, e.g. "nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.4.3";
// num_refs < 0 writes "nrefs:var".
std::string BleuSignature(const BleuOptions& options, int num_refs);

// sacreBLEU's text line with `width` decimals:
// "BLEU|<signature> = 34.12 65.2/40.3/27.0/18.5 (BP = 1.000 ratio = 1.003 hyp_len = 1234
// ref_len = 1230)".
std::string FormatBleu(const BleuScore& score, const std::string& signature, int width = 2);

}  // namespace rnnsearch
