#include "trainer/eval/chrf.h"

#include <algorithm>
#include <cassert>
#include <cstdio>
#include <unordered_map>

#include "trainer/eval/bleu.h"
#include "trainer/eval/sacre_text.h"

namespace rnnsearch {
namespace {

using CharNGrams = std::vector<std::unordered_map<std::u32string, std::int64_t>>;

// sacreBLEU's extract_all_char_ngrams on a preprocessed segment.
CharNGrams Extract(const std::string& sentence, const ChrfOptions& options) {
  std::u32string text = sacre::DecodeUtf8(sentence);
  if (options.lowercase) text = sacre::Lower(text);
  if (!options.whitespace) {
    std::u32string joined;
    for (const std::u32string_view t : sacre::Split(text)) joined += t;
    text = std::move(joined);
  }
  CharNGrams grams(static_cast<std::size_t>(options.char_order));
  for (int n = 1; n <= options.char_order; ++n) {
    const auto len = static_cast<std::size_t>(n);
    for (std::size_t i = 0; i + len <= text.size(); ++i) {
      ++grams[len - 1][text.substr(i, len)];
    }
  }
  return grams;
}

// [hyp, ref, match] per order (sacreBLEU's CHRF._get_match_statistics).
std::vector<std::int64_t> MatchStatistics(const CharNGrams& hyp, const CharNGrams& ref) {
  std::vector<std::int64_t> stats;
  for (std::size_t n = 0; n < hyp.size(); ++n) {
    std::int64_t hyp_count = 0, ref_count = 0, match = 0;
    for (const auto& [gram, count] : hyp[n]) {
      hyp_count += count;
      const auto it = ref[n].find(gram);
      if (it != ref[n].end()) match += std::min(count, it->second);
    }
    for (const auto& entry : ref[n]) ref_count += entry.second;
    // Hypothesis n-grams count only where the reference has n-grams.
    stats.push_back(ref[n].empty() ? 0 : hyp_count);
    stats.push_back(ref_count);
    stats.push_back(match);
  }
  return stats;
}

}  // namespace

double ChrfFromStatistics(const std::vector<std::int64_t>& stats, const ChrfOptions& options) {
  const int order = options.char_order;
  assert(static_cast<int>(stats.size()) == 3 * order);
  const double eps = 1e-16;
  const double factor = static_cast<double>(options.beta) * options.beta;
  double score = 0.0, avg_prec = 0.0, avg_rec = 0.0;
  int effective_order = 0;
  for (int i = 0; i < order; ++i) {
    const auto n_hyp = static_cast<double>(stats[3 * static_cast<std::size_t>(i)]);
    const auto n_ref = static_cast<double>(stats[3 * static_cast<std::size_t>(i) + 1]);
    const auto n_match = static_cast<double>(stats[3 * static_cast<std::size_t>(i) + 2]);
    const double prec = n_hyp > 0 ? n_match / n_hyp : eps;
    const double rec = n_ref > 0 ? n_match / n_ref : eps;
    const double denom = factor * prec + rec;
    score += denom > 0 ? (1 + factor) * prec * rec / denom : eps;
    if (n_hyp > 0 && n_ref > 0) {
      avg_prec += prec;
      avg_rec += rec;
      ++effective_order;
    }
  }
  if (options.eps_smoothing) return 100 * score / order;
  if (effective_order == 0) {
    avg_prec = avg_rec = 0.0;
  } else {
    avg_prec /= effective_order;
    avg_rec /= effective_order;
  }
  if (avg_prec + avg_rec == 0.0) return 0.0;
  score = (1 + factor) * avg_prec * avg_rec;
  score /= (factor * avg_prec) + avg_rec;
  return 100 * score;
}

std::vector<std::int64_t> ChrfStatistics(const std::vector<std::string>& hyps,
                                         const std::vector<std::vector<std::string>>& refs,
                                         const ChrfOptions& options) {
  assert(!refs.empty());
  std::vector<std::int64_t> total(3 * static_cast<std::size_t>(options.char_order), 0);
  for (std::size_t i = 0; i < hyps.size(); ++i) {
    const CharNGrams hyp = Extract(hyps[i], options);
    std::vector<std::int64_t> best;
    double best_f = -1.0;
    for (const std::string* ref : SegmentReferences(refs, i, hyps.size())) {
      std::vector<std::int64_t> stats = MatchStatistics(hyp, Extract(*ref, options));
      const double f = ChrfFromStatistics(stats, options);
      if (f > best_f) {
        best_f = f;
        best = std::move(stats);
      }
    }
    for (std::size_t k = 0; k < total.size(); ++k) total[k] += best[k];
  }
  return total;
}

ChrfScore CorpusChrf(const std::vector<std::string>& hyps,
                     const std::vector<std::vector<std::string>>& refs,
                     const ChrfOptions& options) {
  ChrfScore s;
  s.stats = ChrfStatistics(hyps, refs, options);
  s.score = ChrfFromStatistics(s.stats, options);
  return s;
}

std::string ChrfSignature(const ChrfOptions& options, int num_refs) {
  std::string sig = "nrefs:";
  sig += num_refs < 0 ? std::string("var") : std::to_string(num_refs);
  sig += options.lowercase ? "|case:lc" : "|case:mixed";
  sig += options.eps_smoothing ? "|eff:no" : "|eff:yes";
  sig += "|nc:";
  sig += std::to_string(options.char_order);
  sig += "|nw:0";
  sig += options.whitespace ? "|space:yes" : "|space:no";
  sig += "|version:";
  sig += kSacreBleuVersion;
  return sig;
}

std::string FormatChrf(const ChrfScore& score, const ChrfOptions& options,
                       const std::string& signature, int width) {
  char value[64];
  std::snprintf(value, sizeof value, "%.*f", width, score.score);
  std::string line = "chrF";
  line += std::to_string(options.beta);
  line += '|';
  line += signature;
  line += " = ";
  line += value;
  return line;
}

}  // namespace rnnsearch
