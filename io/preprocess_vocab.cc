// Step 2 of Preprocess: the vocabularies, identical on every rank.
#include "common/error.h"
#include "common/file_read.h"
#include "common/log.h"
#include "common/utf8.h"
#include "io/collective.h"
#include "io/preprocess_steps.h"
#include "io/text_file.h"
#include "io/vocab_build.h"

namespace rnnsearch::preprocess_internal {
namespace {

constexpr const char* kSpmModel = "the SentencePiece model";

// Yields the valid, non-empty lines of `paths` in turn (for training).
class TrainingLines {
 public:
  TrainingLines(std::vector<std::string> paths, bool skip_invalid)
      : paths_(std::move(paths)), skip_invalid_(skip_invalid) {}
  bool operator()(std::string* out) {
    std::string_view line;
    for (;;) {
      if (!reader_) {
        if (next_file_ == paths_.size()) return false;
        reader_ = std::make_unique<LineReader>(paths_[next_file_++]);
        line_number_ = 0;
      }
      if (!reader_->Next(&line)) {
        reader_.reset();
        continue;
      }
      ++line_number_;
      ++read_;
      const std::size_t bad = FindInvalidUtf8(line);
      if (bad != std::string_view::npos) {
        if (skip_invalid_) {
          ++invalid_;
          continue;
        }
        throw UserError(InvalidUtf8Message(reader_->path(), line_number_, line, bad));
      }
      if (line.find_first_not_of(" \t\r\v\f") == std::string_view::npos) {
        ++blank_;
        continue;
      }
      out->assign(line);
      return true;
    }
  }

  // Why no line was yielded: the files and how many lines were read and dropped.
  std::string NothingLeft(const std::string& side) const {
    std::string files;
    for (std::size_t i = 0; i < paths_.size(); ++i) {
      files += (i == 0 ? "" : " and ") + ("'" + paths_[i] + "'");
    }
    return "no sentence is left to train the SentencePiece vocabulary of " + side +
           " on: " + files + (paths_.size() == 1 ? " has " : " have ") + std::to_string(read_) +
           " line(s) in all, " + std::to_string(blank_) + " of them empty or blank" +
           (invalid_ > 0 ? " and " + std::to_string(invalid_) + " with invalid UTF-8 (skipped)"
                         : std::string()) +
           "; give text to train on, or reuse vocabularies (--vocab-from, --spm-model)";
  }

 private:
  std::vector<std::string> paths_;
  bool skip_invalid_;
  std::size_t next_file_ = 0;
  std::unique_ptr<LineReader> reader_;
  std::int64_t line_number_ = 0;
  std::int64_t read_ = 0, blank_ = 0, invalid_ = 0;  // over all files
};

void BroadcastVocab(Vocab* v, Comm& comm) {
  std::string kind = v->kind_name(), bytes = v->bytes();
  comm.BroadcastString(kind, 0);
  comm.BroadcastString(bytes, 0);
  if (comm.rank() != 0) *v = Vocab::Deserialize(kind, std::move(bytes), "vocabulary of rank 0");
}

Vocab TrainOne(const PreprocessOptions& o, std::vector<std::string> paths, const char* side) {
  RNN_LOG(kInfo) << "training a " << o.data.spm_type << " SentencePiece model of "
                 << o.data.vocab_size << " ids on " << side << " (at most " << o.data.spm_sample
                 << " sentences)";
  TrainingLines lines(std::move(paths), o.skip_invalid_utf8);
  SpmTrainOptions spm;
  spm.model_type = o.data.spm_type;
  spm.vocab_size = o.data.vocab_size;
  spm.sample = o.data.spm_sample;
  spm.character_coverage = o.data.spm_character_coverage;
  // SentencePiece fails on no text with an internal check: say what happened.
  std::string first;
  if (!lines(&first)) throw UserError(lines.NothingLeft(side));
  bool have_first = true;
  return TrainSentencePiece(
      [&](std::string* s) {
        if (!have_first) return lines(s);
        *s = std::move(first);
        have_first = false;
        return true;
      },
      spm);
}

// Counts this rank's part of the input: joint into src_counts only.
void CountWords(const PreprocessOptions& o, const InputPart& part, bool joint,
                WordCounts* src_counts, WordCounts* tgt_counts) {
  if (part.lines == 0) return;
  LineReader src(o.src, part.src_offset), tgt(o.tgt, part.tgt_offset);
  src.Skip(part.src_skip);
  tgt.Skip(part.tgt_skip);
  std::string_view s, t;
  for (std::int64_t i = 0; i < part.lines && src.Next(&s) && tgt.Next(&t); ++i) {
    const std::size_t bad_s = FindInvalidUtf8(s), bad_t = FindInvalidUtf8(t);
    if (bad_s != std::string_view::npos || bad_t != std::string_view::npos) {
      if (o.skip_invalid_utf8) continue;
      const std::int64_t line = part.first_line + i + 1;
      throw UserError(bad_s != std::string_view::npos ? InvalidUtf8Message(o.src, line, s, bad_s)
                                                      : InvalidUtf8Message(o.tgt, line, t, bad_t));
    }
    src_counts->AddLine(s);
    (joint ? src_counts : tgt_counts)->AddLine(t);
  }
}

WordCounts MergeAll(const WordCounts& mine, Comm& comm) {
  WordCounts all;
  const auto parts = AllGatherStrings(comm, mine.Serialize());
  for (std::size_t r = 0; r < parts.size(); ++r) {
    all.Merge(WordCounts::Deserialize(parts[r], "word counts of rank " + std::to_string(r)));
  }
  return all;
}

}  // namespace

Vocabularies MakeVocabularies(const PreprocessOptions& o, const InputPart& part, Comm& comm) {
  Vocabularies v;
  const bool given_models = !o.spm_model.empty() || !o.src_spm_model.empty();
  if (!o.vocab_from.empty() || given_models || o.tokenizer() == Tokenizer::kSentencePiece) {
    // Rank 0 makes them, the others receive them.
    std::int64_t joint = 0;
    RunCollectively(comm, [&] {
      if (comm.rank() != 0) return;
      if (!o.vocab_from.empty()) {
        const Manifest m = ReadManifest(o.vocab_from);
        v.src = m.src_vocab;
        v.tgt = m.tgt_vocab;
        v.joint = m.joint_vocab;
        v.tokenizer = m.tokenizer;
        v.origin = "from the corpus " + o.vocab_from + " (" + m.vocab_origin + ")";
      } else if (given_models) {
        v.tokenizer = "sentencepiece";
        if (!o.spm_model.empty()) {
          v.src = v.tgt =
              Vocab::FromSentencePiece(ReadWholeFile(o.spm_model, kSpmModel), o.spm_model);
          v.origin = "given SentencePiece model " + o.spm_model;
        } else {
          v.src =
              Vocab::FromSentencePiece(ReadWholeFile(o.src_spm_model, kSpmModel), o.src_spm_model);
          v.tgt =
              Vocab::FromSentencePiece(ReadWholeFile(o.tgt_spm_model, kSpmModel), o.tgt_spm_model);
          v.origin = "given SentencePiece models " + o.src_spm_model + " and " + o.tgt_spm_model;
        }
        v.joint = v.src == v.tgt;
      } else {
        v.tokenizer = "sentencepiece";
        v.joint = o.data.joint_vocab;
        if (v.joint) {
          v.src = v.tgt = TrainOne(o, {o.src, o.tgt}, "both sides");
        } else {
          v.src = TrainOne(o, {o.src}, "the source side");
          v.tgt = TrainOne(o, {o.tgt}, "the target side");
        }
        v.origin = "trained " + o.data.spm_type + " SentencePiece, " +
                   std::to_string(o.data.vocab_size) + " ids" + (v.joint ? ", joint" : " per side");
      }
      joint = v.joint ? 1 : 0;
    });
    comm.BroadcastString(v.tokenizer, 0);
    comm.BroadcastString(v.origin, 0);
    comm.Broadcast(&joint, sizeof joint, 0);
    v.joint = joint != 0;
    BroadcastVocab(&v.src, comm);
    if (v.joint) {
      v.tgt = v.src;
    } else {
      BroadcastVocab(&v.tgt, comm);
    }
    return v;
  }

  // Whitespace words: every rank counts its part, every rank merges all counts.
  v.tokenizer = "whitespace";
  v.joint = o.data.joint_vocab;
  WordCounts src_counts, tgt_counts;
  RunCollectively(comm, [&] { CountWords(o, part, v.joint, &src_counts, &tgt_counts); });
  const WordCounts src_all = MergeAll(src_counts, comm);
  v.src = BuildWordVocab(src_all, o.data.min_count, o.data.max_words);
  if (v.joint) {
    v.tgt = v.src;
  } else {
    v.tgt = BuildWordVocab(MergeAll(tgt_counts, comm), o.data.min_count, o.data.max_words);
  }
  v.origin = "whitespace words seen at least " + std::to_string(o.data.min_count) + " times" +
             (o.data.max_words > 0 ? ", at most " + std::to_string(o.data.max_words) + " ids"
                                   : std::string()) +
             (v.joint ? ", joint" : ", per side");
  return v;
}

}  // namespace rnnsearch::preprocess_internal
