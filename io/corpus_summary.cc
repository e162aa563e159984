#include "io/corpus_summary.h"

#include <algorithm>
#include <cstdio>
#include <sstream>

namespace rnnsearch {
namespace {

std::string Fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

std::string Percent(double v) { return Fixed(100.0 * v, 1) + "%"; }

std::string Pad(std::string s, std::size_t width, bool right) {
  if (s.size() >= width) return s;
  return right ? std::string(width - s.size(), ' ') + s : s + std::string(width - s.size(), ' ');
}

std::string Mean(std::int64_t tokens, std::int64_t sentences) {
  return sentences == 0 ? "0"
                        : Fixed(static_cast<double>(tokens) / static_cast<double>(sentences), 1);
}

}  // namespace

std::string WithCommas(std::int64_t n) {
  std::string digits = std::to_string(n < 0 ? -n : n);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return (n < 0 ? "-" : "") + out;
}

std::string FormatCorpusSummary(const Manifest& m, const std::string& dir) {
  std::ostringstream o;
  std::int64_t bytes = 0;
  for (const ShardSummary& s : m.shards) bytes += s.bytes;
  o << "corpus " << dir << "\n";
  o << "  format          version " << m.format_version << ", made by " << m.created_by << " on "
    << m.ranks << (m.ranks == 1 ? " rank" : " ranks") << "\n";
  o << "  input           " << m.src_input << "\n                  " << m.tgt_input << "\n";
  o << "  sentence pairs  " << WithCommas(m.sentences) << " in " << m.shards.size()
    << (m.shards.size() == 1 ? " shard" : " shards") << " ("
    << Fixed(static_cast<double>(bytes) / 1048576.0, 1) << " MiB)\n";
  o << "  tokens          source " << WithCommas(m.src_tokens) << " (mean "
    << Mean(m.src_tokens, m.sentences) << "), target " << WithCommas(m.tgt_tokens) << " (mean "
    << Mean(m.tgt_tokens, m.sentences) << "), </s> included\n";
  o << "  vocabulary      " << m.vocab_origin << "\n";
  if (m.joint_vocab) {
    o << "                  joint: " << m.src_vocab.size() << " ids, hash "
      << m.src_vocab.hash_hex() << "\n";
  } else {
    o << "                  source: " << m.src_vocab.size() << " ids, hash "
      << m.src_vocab.hash_hex() << "\n                  target: " << m.tgt_vocab.size()
      << " ids, hash " << m.tgt_vocab.hash_hex() << "\n";
  }
  const FilterCounts& f = m.filters;
  o << "  filters         " << WithCommas(f.lines) << " line pairs read, " << WithCommas(f.kept)
    << " kept; dropped: " << WithCommas(f.empty) << " empty, " << WithCommas(f.too_long)
    << " too long (> " << m.max_len << " subwords), " << WithCommas(f.ratio) << " length ratio (> "
    << Fixed(m.max_ratio, 1) << "), " << WithCommas(f.invalid_utf8) << " invalid UTF-8\n";

  // Length histogram in at most ~16 bins.
  const std::size_t longest = std::max(m.src_length_hist.size(), m.tgt_length_hist.size());
  if (longest > 1) {
    const std::size_t width = std::max<std::size_t>(1, (longest - 1 + 15) / 16);
    o << "length histogram (sentences by length in tokens, </s> included)\n";
    o << "  " << Pad("length", 11, false) << Pad("source", 12, true) << Pad("target", 12, true)
      << "\n";
    for (std::size_t lo = 1; lo < longest; lo += width) {
      const std::size_t hi = std::min(longest - 1, lo + width - 1);
      std::int64_t s = 0, t = 0;
      for (std::size_t l = lo; l <= hi; ++l) {
        if (l < m.src_length_hist.size()) s += m.src_length_hist[l];
        if (l < m.tgt_length_hist.size()) t += m.tgt_length_hist[l];
      }
      const std::string range =
          lo == hi ? std::to_string(lo) : std::to_string(lo) + "-" + std::to_string(hi);
      o << "  " << Pad(range, 11, false) << Pad(WithCommas(s), 12, true)
        << Pad(WithCommas(t), 12, true) << "\n";
    }
  }
  return o.str();
}

std::string FormatPadding(const PaddingStats& st, const BatchingOptions& options,
                          std::int64_t epoch) {
  std::ostringstream o;
  o << "batching (data.batch_tokens " << options.batch_tokens << ", data.batch_sentences "
    << options.batch_sentences << "), epoch " << epoch << "\n";
  o << "  " << WithCommas(st.batches) << " batches, " << Mean(st.sentences, st.batches)
    << " sentence pairs per batch on average\n";
  o << "  padding efficiency " << Percent(st.efficiency()) << " (source "
    << Percent(st.src_efficiency()) << ", target " << Percent(st.tgt_efficiency())
    << "): real tokens / tokens with padding\n";
  return o.str();
}

}  // namespace rnnsearch
