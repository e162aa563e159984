// Step 3 of Preprocess: one rank's lines -> filtered, encoded, sorted shards.
#include <algorithm>
#include <cstdio>

#include "common/error.h"
#include "common/log.h"
#include "common/utf8.h"
#include "io/preprocess_steps.h"
#include "io/shard.h"
#include "io/text_file.h"

namespace rnnsearch::preprocess_internal {
namespace {

bool AllSpace(std::string_view s) {
  for (char c : s) {
    if (c != ' ' && c != '\t' && c != '\v' && c != '\f' && c != '\r') return false;
  }
  return true;
}

}  // namespace

std::string InvalidUtf8Message(const std::string& path, std::int64_t line_number,
                               std::string_view text, std::size_t bad_at) {
  char byte[8];
  std::snprintf(byte, sizeof byte, "0x%02X", static_cast<unsigned char>(text[bad_at]));
  return "'" + path + "' line " + std::to_string(line_number) +
         ": expected UTF-8 text, found the invalid byte " + byte + " at byte " +
         std::to_string(bad_at + 1) +
         " of the line (convert the file to UTF-8, or pass --skip-invalid-utf8 to skip and "
         "count such lines)";
}

RankOutput EncodeAndWrite(const PreprocessOptions& o, const InputPart& part, const Vocabularies& v,
                          const std::string& dir, int rank) {
  RankOutput out;
  const std::int64_t max_len = o.data.max_len;
  out.src_hist.assign(static_cast<std::size_t>(max_len + 2), 0);
  out.tgt_hist.assign(static_cast<std::size_t>(max_len + 2), 0);
  if (part.lines == 0) return out;

  LineReader src(o.src, part.src_offset), tgt(o.tgt, part.tgt_offset);
  if (src.Skip(part.src_skip) != part.src_skip || tgt.Skip(part.tgt_skip) != part.tgt_skip) {
    throw UserError("'" + o.src + "' or '" + o.tgt + "' became shorter while being read");
  }
  ShardMeta meta{v.src.size(), v.tgt.size(), v.src.hash_hex(), v.tgt.hash_hex()};
  ShardPairs pairs;
  int shard_index = 0;
  auto flush = [&] {
    if (pairs.size() == 0) return;
    pairs.SortForBatching();
    char name[64];
    std::snprintf(name, sizeof name, "shard-%05d-%05d.h5", rank, shard_index++);
    out.shards.push_back(WriteShard(dir + "/" + name, pairs, meta));
    RNN_LOG(kDebug) << "wrote " << name << " (" << pairs.size() << " pairs)";
    pairs.Clear();
  };

  std::vector<std::int32_t> s_ids, t_ids;
  std::string_view s_line, t_line;
  for (std::int64_t i = 0; i < part.lines; ++i) {
    const std::int64_t line = part.first_line + i;  // 0-based
    if (!src.Next(&s_line) || !tgt.Next(&t_line)) {
      throw UserError("'" + o.src + "' or '" + o.tgt + "' ended before line " +
                      std::to_string(line + 1) + ": it changed while being read");
    }
    ++out.filters.lines;
    const std::size_t bad_s = FindInvalidUtf8(s_line);
    const std::size_t bad_t = FindInvalidUtf8(t_line);
    if (bad_s != std::string_view::npos || bad_t != std::string_view::npos) {
      if (o.skip_invalid_utf8) {
        ++out.filters.invalid_utf8;
        continue;
      }
      throw UserError(bad_s != std::string_view::npos
                          ? InvalidUtf8Message(o.src, line + 1, s_line, bad_s)
                          : InvalidUtf8Message(o.tgt, line + 1, t_line, bad_t));
    }
    if (AllSpace(s_line) || AllSpace(t_line)) {
      ++out.filters.empty;
      continue;
    }
    s_ids.clear();
    t_ids.clear();
    v.src.Encode(s_line, &s_ids);
    v.tgt.Encode(t_line, &t_ids);
    const auto ls = static_cast<std::int64_t>(s_ids.size());
    const auto lt = static_cast<std::int64_t>(t_ids.size());
    if (ls == 0 || lt == 0) {
      ++out.filters.empty;
      continue;
    }
    if (ls > max_len || lt > max_len) {
      ++out.filters.too_long;
      continue;
    }
    if (o.data.max_ratio > 0 && static_cast<double>(std::max(ls, lt)) >
                                    o.data.max_ratio * static_cast<double>(std::min(ls, lt))) {
      ++out.filters.ratio;
      continue;
    }
    s_ids.push_back(Vocab::kEos);
    t_ids.push_back(Vocab::kEos);
    pairs.Add(line, s_ids, t_ids);
    ++out.src_hist[static_cast<std::size_t>(ls + 1)];
    ++out.tgt_hist[static_cast<std::size_t>(lt + 1)];
    ++out.filters.kept;
    if (pairs.size() >= o.data.shard_sentences) flush();
  }
  flush();
  return out;
}

}  // namespace rnnsearch::preprocess_internal
