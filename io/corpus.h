// An opened corpus directory (made by `rnnsearch preprocess`): the
// manifest, the vocabularies, one open handle per shard and the length
// index. The index is all that is held in memory: two int32 lengths per
// sentence plus one int64 per 256 sentences and side (about 8 bytes per
// pair: 80 MB for 10 million pairs); sentences are read on demand.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "io/manifest.h"
#include "io/shard.h"
#include "io/vocab.h"

namespace rnnsearch {

// One shard's lengths (</s> included), in stored order.
struct ShardLengths {
  std::span<const std::int32_t> src, tgt;
};

class Corpus {
 public:
  // Opens DIR: checks the manifest's format version, then every shard's
  // presence, size, format, sentence count and vocabulary hashes against
  // the manifest, and loads the lengths (each at least 1, adding up to the
  // entries of /ids). Every shard is read whole first and its CRC-32
  // compared with the manifest's, before HDF5 parses it: HDF5 1.10 may
  // crash on a damaged file instead of failing (heap overflows, gigabyte
  // allocations), so damage must be an error before it gets there (as
  // the checkpoint's seal). Throws UserError naming the file and what
  // differs.
  static std::shared_ptr<const Corpus> Open(const std::string& dir);

  const std::string& dir() const { return dir_; }
  const Manifest& manifest() const { return manifest_; }
  const Vocab& src_vocab() const { return manifest_.src_vocab; }
  const Vocab& tgt_vocab() const { return manifest_.tgt_vocab; }
  std::int64_t sentences() const { return manifest_.sentences; }
  int num_shards() const { return static_cast<int>(shards_.size()); }
  const ShardFile& shard(int k) const { return *shards_[static_cast<std::size_t>(k)].file; }

  // Every shard's lengths, in manifest order (views into this corpus).
  std::vector<ShardLengths> lengths() const;

  // Sentences [first, first + count) of shard `k`, in stored order, with
  // their input lines, lengths and ids (each sentence ends with </s>).
  // An id outside the vocabulary is a UserError naming the shard.
  ShardPairs Read(int k, std::int64_t first, std::int64_t count) const;

  // Open, with every error starting with `what: `: the config key or the
  // argument that named `dir` ("data.train", "rnnsearch inspect DIR").
  static std::shared_ptr<const Corpus> OpenNamed(const std::string& what, const std::string& dir);

  // Bytes of the in-memory index.
  std::int64_t index_bytes() const;

 private:
  Corpus() = default;
  struct Shard {
    std::unique_ptr<ShardFile> file;
    std::vector<std::int32_t> src_len, tgt_len;
    std::vector<std::int64_t> src_block, tgt_block;  // offset of every 256th sentence
  };
  static constexpr int kBlockShift = 8;
  std::int64_t Offset(const Shard& s, bool target, std::int64_t i) const;

  std::string dir_;
  Manifest manifest_;
  std::vector<Shard> shards_;
};

}  // namespace rnnsearch
