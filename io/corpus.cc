#include "io/corpus.h"

#include <filesystem>

#include "common/error.h"
#include "common/file_read.h"
#include "io/checksum.h"

namespace rnnsearch {

std::shared_ptr<const Corpus> Corpus::Open(const std::string& dir) {
  std::shared_ptr<Corpus> c(new Corpus());
  c->dir_ = dir;
  c->manifest_ = ReadManifest(dir);
  const Manifest& m = c->manifest_;
  const std::string where = "'" + dir + "/" + kManifestName + "'";
  std::int64_t total = 0;
  for (const ShardSummary& s : m.shards) {
    const std::string path = dir + "/" + s.file;
    RefuseDirectory(path, "the shard");
    std::error_code ec;
    const auto bytes = std::filesystem::file_size(path, ec);
    if (ec) {
      throw UserError("'" + path + "': shard listed in " + where +
                      " cannot be read: " + ec.message());
    }
    if (static_cast<std::int64_t>(bytes) != s.bytes) {
      throw UserError("'" + path + "': expected " + std::to_string(s.bytes) +
                      " bytes as recorded in " + where + ", found " + std::to_string(bytes) +
                      " (the shard was changed or truncated)");
    }
    const std::uint32_t crc = FileCrc32(path);
    if (crc != s.crc32) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%08x", s.crc32);
      const std::string expected = buf;
      std::snprintf(buf, sizeof buf, "%08x", crc);
      throw UserError("'" + path + "': expected CRC-32 " + expected + " as recorded in " + where +
                      ", found " + buf + " (the shard is damaged)");
    }
    Shard shard;
    shard.file = std::make_unique<ShardFile>(path);
    const ShardMeta& meta = shard.file->meta();
    if (shard.file->sentences() != s.sentences) {
      throw UserError("'" + path + "': expected " + std::to_string(s.sentences) +
                      " sentences as recorded in " + where + ", found " +
                      std::to_string(shard.file->sentences()));
    }
    if (meta.src_vocab_hash != m.src_vocab.hash_hex() ||
        meta.tgt_vocab_hash != m.tgt_vocab.hash_hex()) {
      throw UserError("'" + path + "': its vocabulary hashes (" + meta.src_vocab_hash + ", " +
                      meta.tgt_vocab_hash + ") differ from those of " + where + " (" +
                      m.src_vocab.hash_hex() + ", " + m.tgt_vocab.hash_hex() +
                      "): the shard belongs to another corpus");
    }
    shard.file->ReadLengths(&shard.src_len, &shard.tgt_len);
    for (int side = 0; side < 2; ++side) {
      const auto& len = side == 0 ? shard.src_len : shard.tgt_len;
      auto& block = side == 0 ? shard.src_block : shard.tgt_block;
      const char* name = side == 0 ? "/src" : "/tgt";
      std::int64_t at = 0;
      // block[b] = offset of sentence b * 256, for every such sentence up to n.
      for (std::size_t i = 0; i <= len.size(); ++i) {
        if ((i & ((std::size_t{1} << kBlockShift) - 1)) == 0) block.push_back(at);
        if (i == len.size()) break;
        if (len[i] < 1) {
          throw UserError("'" + path + "': " + name + "/lengths[" + std::to_string(i) + "] is " +
                          std::to_string(len[i]) +
                          ", expected at least 1 (every sentence ends with </s>)");
        }
        at += len[i];
      }
      if (at != shard.file->tokens(side == 1)) {
        throw UserError("'" + path + "': " + name + "/ids has " +
                        std::to_string(shard.file->tokens(side == 1)) + " entries, its " + name +
                        "/lengths add up to " + std::to_string(at));
      }
      if (at != (side == 0 ? s.src_tokens : s.tgt_tokens)) {
        throw UserError("'" + path + "': its lengths add up to " + std::to_string(at) +
                        (side == 0 ? " source" : " target") + " tokens, " + where + " records " +
                        std::to_string(side == 0 ? s.src_tokens : s.tgt_tokens));
      }
    }
    total += s.sentences;
    c->shards_.push_back(std::move(shard));
  }
  if (total != m.sentences) {
    throw UserError(where + ": the shards hold " + std::to_string(total) +
                    " sentences, counts.sentences says " + std::to_string(m.sentences));
  }
  return c;
}

std::shared_ptr<const Corpus> Corpus::OpenNamed(const std::string& what, const std::string& dir) {
  try {
    return Open(dir);
  } catch (const UserError& e) {
    throw UserError(what + ": " + e.what());
  }
}

std::vector<ShardLengths> Corpus::lengths() const {
  std::vector<ShardLengths> out;
  out.reserve(shards_.size());
  for (const Shard& s : shards_) out.push_back({s.src_len, s.tgt_len});
  return out;
}

std::int64_t Corpus::Offset(const Shard& s, bool target, std::int64_t i) const {
  const auto& len = target ? s.tgt_len : s.src_len;
  const auto& block = target ? s.tgt_block : s.src_block;
  const std::int64_t b = i >> kBlockShift;
  std::int64_t at = block[static_cast<std::size_t>(b)];
  for (std::int64_t j = b << kBlockShift; j < i; ++j) at += len[static_cast<std::size_t>(j)];
  return at;
}

ShardPairs Corpus::Read(int k, std::int64_t first, std::int64_t count) const {
  const Shard& s = shards_[static_cast<std::size_t>(k)];
  ShardPairs out;
  if (count <= 0) return out;
  const auto n = static_cast<std::size_t>(count);
  const auto begin = s.src_len.begin() + first;
  out.src_len.assign(begin, begin + count);
  out.tgt_len.assign(s.tgt_len.begin() + first, s.tgt_len.begin() + first + count);
  out.line.resize(n);
  s.file->ReadLines(first, count, out.line.data());
  for (int side = 0; side < 2; ++side) {
    const bool target = side == 1;
    const std::int64_t from = Offset(s, target, first);
    const std::int64_t to = Offset(s, target, first + count);
    auto& ids = target ? out.tgt_ids : out.src_ids;
    ids.resize(static_cast<std::size_t>(to - from));
    s.file->ReadIds(target, from, to - from, ids.data());
    // An id past the vocabulary would index past the embedding tables.
    const std::int32_t vocab = (target ? tgt_vocab() : src_vocab()).size();
    for (std::size_t i = 0; i < ids.size(); ++i) {
      if (ids[i] < 0 || ids[i] >= vocab) {
        throw UserError("'" + s.file->path() + "': " + (target ? "/tgt" : "/src") + "/ids[" +
                        std::to_string(from + static_cast<std::int64_t>(i)) + "] is " +
                        std::to_string(ids[i]) + ", outside the vocabulary's " +
                        std::to_string(vocab) + " ids (the shard is damaged)");
      }
    }
  }
  return out;
}

std::int64_t Corpus::index_bytes() const {
  std::int64_t bytes = 0;
  for (const Shard& s : shards_) {
    bytes += static_cast<std::int64_t>((s.src_len.capacity() + s.tgt_len.capacity()) * 4 +
                                       (s.src_block.capacity() + s.tgt_block.capacity()) * 8);
  }
  return bytes;
}

}  // namespace rnnsearch
