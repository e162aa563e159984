// One corpus shard: an HDF5 file of sentence pairs, sorted by length so
// that a batch is a contiguous range of it (the layout is in docs/io.md).
//
//   /line          int64 [n]       0-based line of the pair in the input files
//   /src/ids       u8|u16|u32 [Ns] every source sentence, each ending with </s>
//   /src/offsets   int64 [n]       where sentence i starts in /src/ids
//   /src/lengths   u8|u16|u32 [n]  its length, </s> included
//   /tgt/...       the same for the target side
//
// Root attributes: format "rnnsearch-shard", format_version, sentences,
// {src,tgt}_vocab_size, {src,tgt}_vocab_hash, order. Id and length types are
// the smallest unsigned type that holds the values.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "io/hdf5_util.h"

namespace rnnsearch {

inline constexpr std::int64_t kShardFormatVersion = 1;

// Sentence pairs in memory, in the order they will be stored.
struct ShardPairs {
  std::vector<std::int64_t> line;              // [n]
  std::vector<std::int32_t> src_len, tgt_len;  // [n], </s> included
  std::vector<std::int32_t> src_ids, tgt_ids;  // concatenated sentences

  std::int64_t size() const { return static_cast<std::int64_t>(line.size()); }
  // `src` and `tgt` end with </s>.
  void Add(std::int64_t input_line, std::span<const std::int32_t> src,
           std::span<const std::int32_t> tgt);
  void Clear();
  // Reorders into the stored order: by the longer side's length, then the
  // target length, the source length, the line.
  void SortForBatching();
};

struct ShardMeta {
  std::int64_t src_vocab_size = 0, tgt_vocab_size = 0;
  std::string src_vocab_hash, tgt_vocab_hash;
};

struct ShardSummary {
  std::string file;  // name within the corpus directory
  std::int64_t sentences = 0, src_tokens = 0, tgt_tokens = 0;
  std::int64_t bytes = 0;
  std::uint32_t crc32 = 0;  // zlib CRC-32 of the whole file
};

// Writes `pairs` (in stored order) to `path` and returns its summary (file
// = the path's last component). Throws UserError naming the file on any
// failure (a full disk included); the caller removes partial output.
ShardSummary WriteShard(const std::string& path, const ShardPairs& pairs, const ShardMeta& meta);

// Read access to a shard; safe to share between threads.
class ShardFile {
 public:
  // Opens read-only and checks the format and version.
  explicit ShardFile(const std::string& path);

  const std::string& path() const { return path_; }
  std::int64_t sentences() const { return sentences_; }
  // Entries of one side's /ids: every token of that side.
  std::int64_t tokens(bool target) const { return tokens_[target ? 1 : 0]; }
  const ShardMeta& meta() const { return meta_; }

  // Every sentence's lengths (</s> included), in stored order.
  void ReadLengths(std::vector<std::int32_t>* src, std::vector<std::int32_t>* tgt) const;
  // Input lines of sentences [first, first + count).
  void ReadLines(std::int64_t first, std::int64_t count, std::int64_t* out) const;
  // Ids [token_begin, token_begin + count) of one side's /ids.
  void ReadIds(bool target, std::int64_t token_begin, std::int64_t count, std::int32_t* out) const;
  // Start offsets of sentences [first, first + count) in one side's /ids.
  void ReadOffsets(bool target, std::int64_t first, std::int64_t count, std::int64_t* out) const;

 private:
  std::string path_;
  H5Id file_, line_, ids_[2], offsets_[2], lengths_[2];
  std::int64_t sentences_ = 0, tokens_[2] = {0, 0};
  ShardMeta meta_;
};

}  // namespace rnnsearch
