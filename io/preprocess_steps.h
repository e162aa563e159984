// The steps of Preprocess (preprocess.h), one file each; internal to io/.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/comm.h"
#include "io/input_split.h"
#include "io/manifest.h"
#include "io/preprocess.h"
#include "io/vocab.h"

namespace rnnsearch::preprocess_internal {

struct Vocabularies {
  Vocab src, tgt;
  bool joint = true;
  std::string tokenizer;  // "sentencepiece" or "whitespace"
  std::string origin;     // for the manifest
};

// Step 2 (collective): the vocabularies, the same on every rank.
Vocabularies MakeVocabularies(const PreprocessOptions& o, const InputPart& part, Comm& comm);

// What one rank produced in step 3.
struct RankOutput {
  FilterCounts filters;
  std::vector<std::int64_t> src_hist, tgt_hist;  // [max_len + 2]
  std::vector<ShardSummary> shards;
};

// Step 3 (this rank only, no collectives): encodes, filters and writes
// this rank's shards into `dir`.
RankOutput EncodeAndWrite(const PreprocessOptions& o, const InputPart& part, const Vocabularies& v,
                          const std::string& dir, int rank);

// "FILE line N: invalid UTF-8 ..." for a line that fails validation.
std::string InvalidUtf8Message(const std::string& path, std::int64_t line_number,
                               std::string_view text, std::size_t bad_at);

}  // namespace rnnsearch::preprocess_internal
