// Building vocabularies from training text: a SentencePiece model trained
// by the library, or a word list by frequency for already-tokenized text.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "io/vocab.h"

namespace rnnsearch {

// Counts of whitespace-separated words, mergeable across ranks.
class WordCounts {
 public:
  void AddLine(std::string_view line);
  void Merge(const WordCounts& other);
  // "word\tcount\n" lines, and back (throws UserError naming `what`).
  std::string Serialize() const;
  static WordCounts Deserialize(std::string_view text, const std::string& what);
  std::size_t distinct() const { return counts_.size(); }
  std::int64_t count(const std::string& word) const;

 private:
  friend Vocab BuildWordVocab(const WordCounts&, std::int64_t, std::int64_t);
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, std::int64_t, Hash, std::equal_to<>> counts_;
};

// Words seen at least `min_count` times, most frequent first (ties by byte
// order, so the result does not depend on how counting was split), at most
// `max_ids` ids with the 4 specials included (0: no limit). The special
// names themselves are never words.
Vocab BuildWordVocab(const WordCounts& counts, std::int64_t min_count, std::int64_t max_ids);

struct SpmTrainOptions {
  std::string model_type = "unigram";        // unigram | bpe
  std::int64_t vocab_size = 8000;            // ids, the 4 specials included
  std::int64_t sample = 2000000;             // sentences sampled for training at most
  std::string size_key = "data.vocab_size";  // named in errors
  double character_coverage =
      1.0;  // share of the characters covered (SentencePiece's own default: 0.9995)
};

// Trains a SentencePiece model (ids as in docs/model.md) on the lines that
// `next_line` yields until it returns false. An exception thrown by
// `next_line` propagates; a training failure (for example a vocabulary
// larger than the text allows) throws UserError naming opts.size_key.
Vocab TrainSentencePiece(const std::function<bool(std::string*)>& next_line,
                         const SpmTrainOptions& opts);

}  // namespace rnnsearch
