#include "trainer/eval/bleu.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <unordered_map>

#include "trainer/eval/sacre_text.h"

namespace rnnsearch {
namespace {

// n-gram counts per order (index n - 1); an n-gram is its tokens joined by
// spaces, which cannot occur inside a token.
using NGramCounts = std::vector<std::unordered_map<std::u32string, std::int64_t>>;

// sacreBLEU's BLEU._preprocess_segment and the whitespace split after it.
std::vector<std::u32string> Tokens(const std::string& sentence, const BleuOptions& options) {
  std::u32string text = sacre::DecodeUtf8(sentence);
  if (options.lowercase) text = sacre::Lower(text);
  const std::u32string_view stripped = sacre::RStrip(text);
  const std::u32string tokenized =
      options.tokenize == "13a" ? sacre::Tokenize13a(stripped) : std::u32string(stripped);
  std::vector<std::u32string> tokens;
  for (const std::u32string_view t : sacre::Split(tokenized)) tokens.emplace_back(t);
  return tokens;
}

NGramCounts CountNGrams(const std::vector<std::u32string>& tokens, int max_order) {
  NGramCounts counts(static_cast<std::size_t>(max_order));
  const auto len = static_cast<int>(tokens.size());
  for (int n = 1; n <= max_order; ++n) {
    for (int i = 0; i + n <= len; ++i) {
      std::u32string key = tokens[static_cast<std::size_t>(i)];
      for (int k = 1; k < n; ++k) {
        key += U' ';
        key += tokens[static_cast<std::size_t>(i + k)];
      }
      ++counts[static_cast<std::size_t>(n - 1)][key];
    }
  }
  return counts;
}

// Python's sacrebleu.utils.my_log.
double MyLog(double x) { return x == 0.0 ? -9999999999.0 : std::log(x); }

std::string Fixed(double value, int decimals) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
  return buffer;
}

}  // namespace

std::vector<const std::string*> SegmentReferences(const std::vector<std::vector<std::string>>& refs,
                                                  std::size_t i, std::size_t num_segments) {
  static const std::string kEmpty;
  std::vector<const std::string*> out;
  for (const std::vector<std::string>& stream : refs) {
    assert(stream.size() == num_segments);
    (void)num_segments;
    if (!stream[i].empty()) out.push_back(&stream[i]);
  }
  if (out.empty()) out.push_back(&kEmpty);
  return out;
}

int ReferenceCount(const std::vector<std::vector<std::string>>& refs) {
  int count = -2;
  const std::size_t segments = refs.empty() ? 0 : refs[0].size();
  for (std::size_t i = 0; i < segments; ++i) {
    int n = 0;
    for (const std::vector<std::string>& stream : refs) n += stream[i].empty() ? 0 : 1;
    if (count == -2) {
      count = n;
    } else if (count != n) {
      return -1;
    }
  }
  return count == -2 ? static_cast<int>(refs.size()) : count;
}

BleuStats& BleuStats::operator+=(const BleuStats& other) {
  sys_len += other.sys_len;
  ref_len += other.ref_len;
  if (correct.empty()) {
    correct.assign(other.correct.size(), 0);
    total.assign(other.total.size(), 0);
  }
  assert(correct.size() == other.correct.size());
  for (std::size_t n = 0; n < correct.size(); ++n) {
    correct[n] += other.correct[n];
    total[n] += other.total[n];
  }
  return *this;
}

BleuStats BleuStatistics(const std::vector<std::string>& hyps,
                         const std::vector<std::vector<std::string>>& refs,
                         const BleuOptions& options) {
  assert(!refs.empty());
  assert(options.tokenize == "13a" || options.tokenize == "none");
  const int max_order = options.max_ngram_order;
  BleuStats stats;
  stats.correct.assign(static_cast<std::size_t>(max_order), 0);
  stats.total.assign(static_cast<std::size_t>(max_order), 0);
  for (std::size_t i = 0; i < hyps.size(); ++i) {
    NGramCounts ref_counts(static_cast<std::size_t>(max_order));
    std::vector<std::int64_t> ref_lens;
    for (const std::string* ref : SegmentReferences(refs, i, hyps.size())) {
      const std::vector<std::u32string> tokens = Tokens(*ref, options);
      ref_lens.push_back(static_cast<std::int64_t>(tokens.size()));
      const NGramCounts counts = CountNGrams(tokens, max_order);
      for (std::size_t n = 0; n < counts.size(); ++n) {
        for (const auto& [ngram, count] : counts[n]) {
          std::int64_t& best = ref_counts[n][ngram];
          best = std::max(best, count);
        }
      }
    }
    const std::vector<std::u32string> hyp = Tokens(hyps[i], options);
    const auto hyp_len = static_cast<std::int64_t>(hyp.size());
    // The closest reference length; the shorter one on a tie.
    std::int64_t closest = -1, closest_diff = -1;
    for (const std::int64_t len : ref_lens) {
      const std::int64_t diff = std::llabs(hyp_len - len);
      if (closest_diff == -1 || diff < closest_diff || (diff == closest_diff && len < closest)) {
        closest_diff = diff;
        closest = len;
      }
    }
    stats.sys_len += hyp_len;
    stats.ref_len += closest;
    const NGramCounts counts = CountNGrams(hyp, max_order);
    for (std::size_t n = 0; n < counts.size(); ++n) {
      for (const auto& [ngram, count] : counts[n]) {
        stats.total[n] += count;
        const auto it = ref_counts[n].find(ngram);
        if (it != ref_counts[n].end()) stats.correct[n] += std::min(count, it->second);
      }
    }
  }
  return stats;
}

BleuScore ComputeBleu(const BleuStats& stats, const BleuOptions& options) {
  const std::string& method = options.smooth_method;
  assert(method == "exp" || method == "floor" || method == "add-k" || method == "none");
  const int max_order = options.max_ngram_order;
  assert(static_cast<int>(stats.correct.size()) == max_order);
  double smooth_value = options.smooth_value;
  if (smooth_value < 0) smooth_value = method == "add-k" ? 1.0 : 0.1;

  BleuScore s;
  s.stats = stats;
  s.precisions.assign(static_cast<std::size_t>(max_order), 0.0);
  s.ratio = stats.ref_len != 0
                ? static_cast<double>(stats.sys_len) / static_cast<double>(stats.ref_len)
                : 0.0;
  if (stats.sys_len < stats.ref_len) {
    s.bp = stats.sys_len > 0 ? std::exp(1.0 - static_cast<double>(stats.ref_len) /
                                                  static_cast<double>(stats.sys_len))
                             : 0.0;
  } else {
    s.bp = 1.0;
  }
  if (std::all_of(stats.correct.begin(), stats.correct.end(),
                  [](std::int64_t c) { return c == 0; })) {
    return s;  // no match at all: 0 without smoothing (sacreBLEU #141)
  }
  double smooth_mteval = 1.0;
  int eff_order = max_order;
  for (int n = 1; n <= max_order; ++n) {
    const auto k = static_cast<std::size_t>(n - 1);
    double correct = static_cast<double>(stats.correct[k]);
    double total = static_cast<double>(stats.total[k]);
    if (method == "add-k" && n > 1) {
      correct += smooth_value;
      total += smooth_value;
    }
    if (total == 0) break;
    if (options.effective_order) eff_order = n;
    if (correct == 0) {
      if (method == "exp") {
        smooth_mteval *= 2;
        s.precisions[k] = 100.0 / (smooth_mteval * total);
      } else if (method == "floor") {
        s.precisions[k] = 100.0 * smooth_value / total;
      }
    } else {
      s.precisions[k] = 100.0 * correct / total;
    }
  }
  double log_sum = 0.0;
  for (int n = 0; n < eff_order; ++n) log_sum += MyLog(s.precisions[static_cast<std::size_t>(n)]);
  s.score = s.bp * std::exp(log_sum / eff_order);
  return s;
}

BleuScore CorpusBleu(const std::vector<std::string>& hyps,
                     const std::vector<std::vector<std::string>>& refs,
                     const BleuOptions& options) {
  return ComputeBleu(BleuStatistics(hyps, refs, options), options);
}

std::string BleuSignature(const BleuOptions& options, int num_refs) {
  // Appended piece by piece: GCC 12 warns falsely (-Wrestrict) on
  // "literal" + std::string.
  std::string sig = "nrefs:";
  sig += num_refs < 0 ? std::string("var") : std::to_string(num_refs);
  sig += options.lowercase ? "|case:lc" : "|case:mixed";
  sig += options.effective_order ? "|eff:yes" : "|eff:no";
  sig += "|tok:";
  sig += options.tokenize;
  sig += "|smooth:";
  sig += options.smooth_method;
  if (options.smooth_method == "floor" || options.smooth_method == "add-k") {
    double value = options.smooth_value;
    if (value < 0) value = options.smooth_method == "add-k" ? 1.0 : 0.1;
    sig += '[';
    sig += Fixed(value, 2);
    sig += ']';
  }
  sig += "|version:";
  sig += kSacreBleuVersion;
  return sig;
}

std::string FormatBleu(const BleuScore& score, const std::string& signature, int width) {
  std::string line = "BLEU|";
  line += signature;
  line += " = ";
  line += Fixed(score.score, width);
  line += ' ';
  for (std::size_t n = 0; n < score.precisions.size(); ++n) {
    if (n > 0) line += '/';
    line += Fixed(score.precisions[n], 1);
  }
  line += " (BP = ";
  line += Fixed(score.bp, 3);
  line += " ratio = ";
  line += Fixed(score.ratio, 3);
  line += " hyp_len = ";
  line += std::to_string(score.stats.sys_len);
  line += " ref_len = ";
  line += std::to_string(score.stats.ref_len);
  line += ')';
  return line;
}

}  // namespace rnnsearch
