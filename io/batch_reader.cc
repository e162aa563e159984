#include "io/batch_reader.h"

#include <algorithm>
#include <numeric>
#include <utility>

#include "common/error.h"

namespace rnnsearch {

std::int64_t Batch::src_tokens() const {
  return std::accumulate(src_len.begin(), src_len.end(), std::int64_t{0});
}
std::int64_t Batch::tgt_tokens() const {
  return std::accumulate(tgt_len.begin(), tgt_len.end(), std::int64_t{0});
}

BatchReaderOptions ReaderOptionsFromConfig(const Config& config, const Comm& comm) {
  BatchReaderOptions o;
  o.batching.batch_tokens = config.data.batch_tokens;
  o.batching.batch_sentences = config.data.batch_sentences;
  o.batching.seed = static_cast<std::uint64_t>(config.train.seed);
  o.batching.shuffle = true;
  o.epochs = config.train.max_epochs;
  o.prefetch = static_cast<int>(config.data.prefetch);
  o.rank = comm.rank();
  o.world_size = comm.size();
  return o;
}

BatchReader::BatchReader(std::shared_ptr<const Corpus> corpus, const BatchReaderOptions& options,
                         DataPosition start)
    : corpus_(std::move(corpus)), lengths_(corpus_->lengths()), options_(options) {
  if (options_.batching.batch_tokens <= 0 && options_.batching.batch_sentences <= 0) {
    throw UserError(
        "batch reader: expected batch_tokens or batch_sentences to be positive, "
        "found both 0");
  }
  if (options_.world_size < 1 || options_.rank < 0 || options_.rank >= options_.world_size) {
    throw UserError("batch reader: rank " + std::to_string(options_.rank) + " of " +
                    std::to_string(options_.world_size) + " is not a valid rank");
  }
  if (corpus_->sentences() == 0) {
    throw UserError("'" + corpus_->dir() + "' holds no sentence pairs: nothing to read");
  }
  options_.prefetch = std::max(1, options_.prefetch);
  if (start.epoch < 0 || start.batch < 0) {
    throw UserError("data position (epoch " + std::to_string(start.epoch) + ", batch " +
                    std::to_string(start.batch) + "): expected non-negative values");
  }
  const std::int64_t in_epoch = BatchesInEpoch(start.epoch);
  if (start.batch > in_epoch) {
    throw UserError("data position (epoch " + std::to_string(start.epoch) + ", batch " +
                    std::to_string(start.batch) + ") is past the end of that epoch, which has " +
                    std::to_string(in_epoch) + " batches in '" + corpus_->dir() +
                    "' with this batching: the position belongs to another corpus or batching");
  }
  if (start.batch == in_epoch) start = {start.epoch + 1, 0};
  position_ = start;
  finished_ = options_.epochs > 0 && start.epoch >= options_.epochs;
  if (!finished_) thread_ = std::thread([this, start] { Produce(start); });
}

BatchReader::~BatchReader() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::int64_t BatchReader::BatchesInEpoch(std::int64_t epoch) const {
  return static_cast<std::int64_t>(PlanEpoch(lengths_, options_.batching, epoch).size());
}

std::optional<Batch> BatchReader::Next() {
  if (finished_) return std::nullopt;
  Item item;
  {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return !queue_.empty(); });
    item = std::move(queue_.front());
    queue_.pop_front();
  }
  cv_.notify_all();
  if (item.error) {
    finished_ = true;
    std::rethrow_exception(item.error);
  }
  if (!item.batch) {
    finished_ = true;
    return std::nullopt;
  }
  position_ = item.batch->next;
  return std::move(item.batch);
}

void BatchReader::Produce(DataPosition pos) {
  auto push = [this](Item item) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return stop_ || static_cast<int>(queue_.size()) < options_.prefetch; });
    if (stop_) return false;
    queue_.push_back(std::move(item));
    lock.unlock();
    cv_.notify_all();
    return true;
  };
  try {
    std::vector<BatchSpan> plan = PlanEpoch(lengths_, options_.batching, pos.epoch);
    for (;;) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (stop_) return;
      }
      if (pos.batch >= static_cast<std::int64_t>(plan.size())) {
        pos = {pos.epoch + 1, 0};
        if (options_.epochs > 0 && pos.epoch >= options_.epochs) {
          push(Item{});
          return;
        }
        plan = PlanEpoch(lengths_, options_.batching, pos.epoch);
        continue;
      }
      DataPosition next{pos.epoch, pos.batch + 1};
      if (next.batch == static_cast<std::int64_t>(plan.size())) next = {pos.epoch + 1, 0};
      Item item;
      item.batch = Assemble(plan[static_cast<std::size_t>(pos.batch)], pos, next);
      if (!push(std::move(item))) return;
      ++pos.batch;
    }
  } catch (...) {
    Item item;
    item.error = std::current_exception();
    push(std::move(item));
  }
}

Batch BatchReader::Assemble(const BatchSpan& span, DataPosition pos, DataPosition next) const {
  Batch b;
  b.position = pos;
  b.next = next;
  const ShardLengths& s = lengths_[static_cast<std::size_t>(span.shard)];
  b.global_sentences = span.count;
  for (std::int64_t i = span.first; i < span.first + span.count; ++i) {
    b.global_src_tokens += s.src[static_cast<std::size_t>(i)];
    b.global_tgt_tokens += s.tgt[static_cast<std::size_t>(i)];
  }
  const std::int64_t r = options_.rank, n = options_.world_size;
  b.first = span.count * r / n;
  const std::int64_t end = span.count * (r + 1) / n;
  b.size = static_cast<std::int32_t>(end - b.first);
  if (b.size == 0) return b;

  const ShardPairs part = corpus_->Read(span.shard, span.first + b.first, b.size);
  b.src_len = part.src_len;
  b.tgt_len = part.tgt_len;
  b.line = part.line;
  b.src_steps = *std::max_element(b.src_len.begin(), b.src_len.end());
  b.tgt_steps = *std::max_element(b.tgt_len.begin(), b.tgt_len.end());
  const std::size_t B = static_cast<std::size_t>(b.size);
  for (int side = 0; side < 2; ++side) {
    const auto& ids = side == 0 ? part.src_ids : part.tgt_ids;
    const auto& len = side == 0 ? b.src_len : b.tgt_len;
    const auto steps = static_cast<std::size_t>(side == 0 ? b.src_steps : b.tgt_steps);
    auto& out = side == 0 ? b.src : b.tgt;
    out.assign(steps * B, 0);  // 0 = <pad>
    std::size_t at = 0;
    for (std::size_t j = 0; j < B; ++j) {
      const auto l = static_cast<std::size_t>(len[j]);
      for (std::size_t t = 0; t < l; ++t) out[t * B + j] = ids[at + t];
      at += l;
    }
  }
  return b;
}

}  // namespace rnnsearch
