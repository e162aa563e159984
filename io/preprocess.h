// `rnnsearch preprocess`: an aligned pair of text files -> a directory of
// length-sorted HDF5 shards and a manifest (formats: shard.h, manifest.h,
// docs/io.md).
//
// Steps, every rank taking part (the job may be a single process):
//  1. split the input among the ranks (input_split.h) and compare the two
//     files' line counts;
//  2. the vocabularies: reused from --vocab-from DIR, loaded from given
//     SentencePiece models, trained by rank 0 (SentencePiece), or counted
//     by every rank and merged (whitespace words);
//  3. each rank encodes its lines, drops empty, too long (data.max_len
//     subwords) and badly proportioned (data.max_ratio) pairs, and writes
//     its own shards of at most data.shard_sentences pairs, sorted by
//     length;
//  4. rank 0 writes the manifest and renames the temporary directory to
//     the output directory.
// All output goes to a temporary sibling directory first: after any error
// (a bad line on one rank, a full disk) the temporary directory is
// removed and the output directory is untouched. The input and output
// must be visible to every rank (a shared filesystem).
#pragma once

#include <string>

#include "common/comm.h"
#include "common/config.h"
#include "io/manifest.h"

namespace rnnsearch {

struct PreprocessOptions {
  std::string src, tgt;                      // aligned text files, plain or gzip
  std::string out;                           // the corpus directory to create
  std::string vocab_from;                    // a corpus directory whose vocabularies to reuse
  std::string spm_model;                     // a SentencePiece .model for both sides
  std::string src_spm_model, tgt_spm_model;  // or one per side
  bool overwrite = false;                    // replace an existing corpus at `out`
  bool skip_invalid_utf8 = false;            // skip (and count) such pairs instead of failing
  // data.tokenizer, spm_type, vocab_size, spm_sample, joint_vocab,
  // min_count, max_words, max_len, max_ratio, shard_sentences.
  DataConfig data;

  Tokenizer tokenizer() const { return ChoiceValue<Tokenizer>(data.tokenizer); }
};

// Collective: every rank calls it with the same options; returns the
// manifest on every rank. Throws CollectiveError (the same on every rank)
// naming the file, line or option at fault.
Manifest Preprocess(const PreprocessOptions& options, Comm& comm);

}  // namespace rnnsearch
