#include "io/batch_plan.h"

#include <algorithm>
#include <cassert>

#include "common/rng.h"

namespace rnnsearch {
namespace {

// Sentences of the greedy batch starting at `first`.
std::int64_t GreedyCount(const ShardLengths& s, std::int64_t first, const BatchingOptions& o) {
  const auto n = static_cast<std::int64_t>(s.tgt.size());
  std::int64_t count = 0;
  std::int64_t longest = 0;
  while (first + count < n) {
    const std::int64_t len = s.tgt[static_cast<std::size_t>(first + count)];
    const std::int64_t next_longest = std::max(longest, len);
    const std::int64_t next_count = count + 1;
    if (count > 0) {
      if (o.batch_tokens > 0 && next_count * next_longest > o.batch_tokens) break;
      if (o.batch_sentences > 0 && next_count > o.batch_sentences) break;
    }
    count = next_count;
    longest = next_longest;
  }
  return count;
}

}  // namespace

std::vector<BatchSpan> PlanEpoch(std::span<const ShardLengths> shards,
                                 const BatchingOptions& options, std::int64_t epoch) {
  assert(options.batch_tokens > 0 || options.batch_sentences > 0);
  rng::Sequence draws(options.seed * rng::kGolden ^
                      (static_cast<std::uint64_t>(epoch) + 0x632be59bd9b4e019ull));
  std::vector<BatchSpan> plan;
  for (std::size_t k = 0; k < shards.size(); ++k) {
    const ShardLengths& s = shards[k];
    const auto n = static_cast<std::int64_t>(s.tgt.size());
    std::int64_t at = 0;
    if (options.shuffle && n > 0) {
      const std::int64_t greedy = GreedyCount(s, 0, options);
      const auto first =
          1 + static_cast<std::int64_t>(draws.Below(static_cast<std::uint64_t>(greedy)));
      plan.push_back({static_cast<std::int32_t>(k), 0, first});
      at = first;
    }
    while (at < n) {
      const std::int64_t count = GreedyCount(s, at, options);
      plan.push_back({static_cast<std::int32_t>(k), at, count});
      at += count;
    }
  }
  if (options.shuffle) {
    for (std::size_t i = plan.size(); i > 1; --i) {
      std::swap(plan[i - 1], plan[draws.Below(i)]);
    }
  }
  return plan;
}

double PaddingStats::efficiency() const {
  const std::int64_t padded = src_padded + tgt_padded;
  return padded == 0 ? 1.0 : static_cast<double>(src_real + tgt_real) / static_cast<double>(padded);
}
double PaddingStats::src_efficiency() const {
  return src_padded == 0 ? 1.0 : static_cast<double>(src_real) / static_cast<double>(src_padded);
}
double PaddingStats::tgt_efficiency() const {
  return tgt_padded == 0 ? 1.0 : static_cast<double>(tgt_real) / static_cast<double>(tgt_padded);
}

PaddingStats MeasurePadding(std::span<const ShardLengths> shards, std::span<const BatchSpan> plan) {
  PaddingStats st;
  for (const BatchSpan& b : plan) {
    const ShardLengths& s = shards[static_cast<std::size_t>(b.shard)];
    std::int64_t src_max = 0, tgt_max = 0;
    for (std::int64_t i = b.first; i < b.first + b.count; ++i) {
      const auto at = static_cast<std::size_t>(i);
      st.src_real += s.src[at];
      st.tgt_real += s.tgt[at];
      src_max = std::max<std::int64_t>(src_max, s.src[at]);
      tgt_max = std::max<std::int64_t>(tgt_max, s.tgt[at]);
    }
    st.src_padded += src_max * b.count;
    st.tgt_padded += tgt_max * b.count;
    st.sentences += b.count;
    ++st.batches;
  }
  return st;
}

}  // namespace rnnsearch
