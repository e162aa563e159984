// The corpus manifest: DIR/manifest.yaml, written last by `rnnsearch
// preprocess` (rank 0), so a directory with a manifest is complete.
//
// It records the format version, how the corpus was made (inputs,
// tokenizer, filters, ranks), the counts and filter counts, the length
// histograms, each shard with its size and CRC-32, and the vocabularies
// themselves (kind, size, hash and the bytes in base64), so that a
// checkpoint can carry them. The layout is documented in docs/io.md.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "io/shard.h"
#include "io/vocab.h"

namespace rnnsearch {

inline constexpr std::int64_t kCorpusFormatVersion = 1;
inline constexpr const char* kManifestName = "manifest.yaml";

struct FilterCounts {
  std::int64_t lines = 0;         // input line pairs read
  std::int64_t kept = 0;          // pairs stored
  std::int64_t empty = 0;         // a side empty (or only whitespace)
  std::int64_t too_long = 0;      // a side longer than max_len subwords
  std::int64_t ratio = 0;         // longer side > max_ratio x shorter side
  std::int64_t invalid_utf8 = 0;  // skipped with --skip-invalid-utf8
  bool operator==(const FilterCounts&) const = default;
};

struct Manifest {
  std::int64_t format_version = kCorpusFormatVersion;
  std::string created_by;  // "rnnsearch 0.1.0 (git ...)"
  // The input files, absolute (corpora written before: as given, relative
  // to the directory preprocess ran in; readers use them as they are).
  std::string src_input, tgt_input;
  std::string tokenizer;     // "sentencepiece" or "whitespace"
  std::string vocab_origin;  // how the vocabularies were made
  bool joint_vocab = true;
  std::int64_t max_len = 0;
  double max_ratio = 0;
  std::int64_t ranks = 1;  // processes that preprocessed
  FilterCounts filters;
  std::int64_t sentences = 0, src_tokens = 0, tgt_tokens = 0;  // </s> included
  // hist[L] = sentences of length L (</s> included); trailing zeros trimmed.
  std::vector<std::int64_t> src_length_hist, tgt_length_hist;
  std::vector<ShardSummary> shards;
  Vocab src_vocab, tgt_vocab;
};

std::string ManifestToYaml(const Manifest& m);
// Parses and checks a manifest; `path` names it in errors (UserError).
Manifest ManifestFromYaml(const std::string& text, const std::string& path);

// Writes DIR/manifest.yaml (through a temporary name, flushed to disk).
void WriteManifest(const std::string& dir, const Manifest& m);
// Reads DIR/manifest.yaml; a missing one is a UserError saying that DIR is
// not a preprocessed corpus and why: it does not exist, it is a file, or
// it has no manifest.
Manifest ReadManifest(const std::string& dir);

}  // namespace rnnsearch
