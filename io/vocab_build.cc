#include "io/vocab_build.h"

#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <exception>
#include <vector>

#include "common/error.h"

// Exported by libsentencepiece (0.1.97) but not declared in its public
// headers; without it the trainer logs its command line before it parses
// --minloglevel.
namespace sentencepiece::logging {
void SetMinLogLevel(int v);
}  // namespace sentencepiece::logging

namespace rnnsearch {
namespace {

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

bool IsSpecialName(std::string_view w) {
  return w == "<pad>" || w == "<unk>" || w == "<s>" || w == "</s>";
}

// Adapts a line callback to SentencePiece's iterator; an exception from
// the callback ends the iteration and is rethrown after training.
class CallbackIterator : public sentencepiece::SentenceIterator {
 public:
  explicit CallbackIterator(const std::function<bool(std::string*)>& next) : next_(next) { Next(); }
  bool done() const override { return done_; }
  void Next() override {
    try {
      done_ = !next_(&value_);
    } catch (...) {
      error_ = std::current_exception();
      done_ = true;
    }
  }
  const std::string& value() const override { return value_; }
  sentencepiece::util::Status status() const override {
    if (error_) return {sentencepiece::util::StatusCode::kAborted, "reading the text failed"};
    return {};
  }
  std::exception_ptr error() const { return error_; }

 private:
  const std::function<bool(std::string*)>& next_;
  std::string value_;
  bool done_ = false;
  std::exception_ptr error_;
};

// Exact decimal text of a coverage for SentencePiece's flag parser.
std::string FormatCoverage(double c) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", c);
  return buf;
}

}  // namespace

void WordCounts::AddLine(std::string_view line) {
  std::size_t i = 0;
  const std::size_t n = line.size();
  while (i < n) {
    while (i < n && IsSpace(line[i])) ++i;
    const std::size_t start = i;
    while (i < n && !IsSpace(line[i])) ++i;
    if (i == start) break;
    const std::string_view w = line.substr(start, i - start);
    auto it = counts_.find(w);
    if (it == counts_.end()) {
      counts_.emplace(std::string(w), 1);
    } else {
      ++it->second;
    }
  }
}

void WordCounts::Merge(const WordCounts& other) {
  for (const auto& [w, c] : other.counts_) counts_[w] += c;
}

std::int64_t WordCounts::count(const std::string& word) const {
  const auto it = counts_.find(word);
  return it == counts_.end() ? 0 : it->second;
}

std::string WordCounts::Serialize() const {
  std::string out;
  for (const auto& [w, c] : counts_) {
    out += w;
    out += '\t';
    out += std::to_string(c);
    out += '\n';
  }
  return out;
}

WordCounts WordCounts::Deserialize(std::string_view text, const std::string& what) {
  WordCounts wc;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t nl = text.find('\n', start);
    if (nl == std::string_view::npos) nl = text.size();
    const std::string_view line = text.substr(start, nl - start);
    const std::size_t tab = line.rfind('\t');
    std::int64_t c = 0;
    if (tab == std::string_view::npos ||
        std::from_chars(line.data() + tab + 1, line.data() + line.size(), c).ec != std::errc()) {
      throw UserError(what + ": expected 'word<TAB>count', found '" + std::string(line) + "'");
    }
    wc.counts_[std::string(line.substr(0, tab))] += c;
    start = nl + 1;
  }
  return wc;
}

Vocab BuildWordVocab(const WordCounts& counts, std::int64_t min_count, std::int64_t max_ids) {
  std::vector<std::pair<std::string_view, std::int64_t>> kept;
  for (const auto& [w, c] : counts.counts_) {
    if (c >= min_count && !IsSpecialName(w)) kept.emplace_back(w, c);
  }
  std::sort(kept.begin(), kept.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  if (max_ids > 0) {
    const auto room =
        static_cast<std::size_t>(std::max<std::int64_t>(0, max_ids - Vocab::kNumSpecial));
    if (kept.size() > room) kept.resize(room);
  }
  std::vector<std::string> words;
  words.reserve(kept.size());
  for (const auto& [w, c] : kept) words.emplace_back(w);
  return Vocab::FromWords(words, "word vocabulary");
}

Vocab TrainSentencePiece(const std::function<bool(std::string*)>& next_line,
                         const SpmTrainOptions& opts) {
  // A fixed seed: the same text gives the same model, whatever the job size.
  sentencepiece::SetRandomGeneratorSeed(20140901u);
  sentencepiece::logging::SetMinLogLevel(2);  // errors only; ours name the problem
  const std::string args = "--model_type=" + opts.model_type +
                           " --vocab_size=" + std::to_string(opts.vocab_size) +
                           " --pad_id=0 --unk_id=1 --bos_id=2 --eos_id=3" +
                           " --input_sentence_size=" + std::to_string(opts.sample) +
                           " --character_coverage=" + FormatCoverage(opts.character_coverage) +
                           " --shuffle_input_sentence=true --minloglevel=2";
  CallbackIterator it(next_line);
  std::string model;
  const auto status = sentencepiece::SentencePieceTrainer::Train(args, &it, &model);
  if (it.error()) std::rethrow_exception(it.error());
  if (!status.ok()) {
    throw UserError(std::string("training the SentencePiece model failed: ") + status.message() +
                    " (" + opts.size_key + " is " + std::to_string(opts.vocab_size) +
                    "; a smaller vocabulary may fit this text)");
  }
  return Vocab::FromSentencePiece(std::move(model), "trained SentencePiece model");
}

}  // namespace rnnsearch
