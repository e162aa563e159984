// Feeds one rank its part of every global batch, read ahead by a
// background thread.
//
// The global batches of each epoch come from PlanEpoch (batch_plan.h), so
// their sequence depends only on (seed, epoch) and the shards, not on the
// number of ranks. Rank r of N gets the contiguous part
//   sentences [B*r/N, B*(r+1)/N) of a global batch of B sentences
// (possibly empty when N > B), plus the global batch's totals, so that the
// trainer can divide its gradient by the global number of target tokens
// (docs/model.md, data-parallel semantics).
//
// The position in the data is a DataPosition (epoch, batch index):
// Batch::next is what a checkpoint stores; a reader constructed with it
// continues with exactly the batch after, without reading or replaying the
// batches before it.
//
//   BatchReader reader(Corpus::Open(dir), ReaderOptionsFromConfig(config, comm), saved);
//   while (auto batch = reader.Next()) { ...; saved = batch->next; }
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "common/comm.h"
#include "common/config.h"
#include "io/batch_plan.h"
#include "io/corpus.h"

namespace rnnsearch {

struct DataPosition {
  std::int64_t epoch = 0;  // from 0
  std::int64_t batch = 0;  // index of the global batch within the epoch
  bool operator==(const DataPosition&) const = default;
};

// One rank's part of one global batch. Token arrays are time-major:
// element (t, b) of a [T, B] array is at t * B + b.
struct Batch {
  DataPosition position;  // this global batch
  DataPosition next;      // the batch after it (what a checkpoint stores)

  // The whole global batch, over all ranks.
  std::int64_t global_sentences = 0;
  std::int64_t global_src_tokens = 0;  // real tokens, </s> included
  std::int64_t global_tgt_tokens = 0;  // real target tokens: the loss normaliser

  // This rank's part: sentences [first, first + size) of the global batch.
  std::int64_t first = 0;
  std::int32_t size = 0;              // B (0: this rank has no sentences in this batch)
  std::int32_t src_steps = 0;         // Tx, the longest source here (0 when B = 0)
  std::int32_t tgt_steps = 0;         // Ty, the longest target here
  std::vector<std::int32_t> src;      // [Tx, B], <pad> = 0 after each sentence's </s>
  std::vector<std::int32_t> src_len;  // [B], </s> included
  std::vector<std::int32_t> tgt;      // [Ty, B], y_1..y_T with y_T = </s>, then 0
  std::vector<std::int32_t> tgt_len;  // [B]
  std::vector<std::int64_t> line;     // [B] 0-based input line of each pair

  std::int64_t src_tokens() const;  // real tokens of this part
  std::int64_t tgt_tokens() const;
};

struct BatchReaderOptions {
  BatchingOptions batching;
  std::int64_t epochs = 0;  // Next() ends after this many epochs (0: never)
  int prefetch = 16;        // batches read ahead
  int rank = 0, world_size = 1;
};

// data.batch_tokens, data.batch_sentences, data.prefetch, train.seed and
// train.max_epochs, this rank and the job size; shuffled.
BatchReaderOptions ReaderOptionsFromConfig(const Config& config, const Comm& comm);

class BatchReader {
 public:
  // Starts reading ahead from `start`. A start at the end of an epoch is
  // the start of the next; a start beyond it throws UserError (the saved
  // position belongs to another corpus or batching).
  BatchReader(std::shared_ptr<const Corpus> corpus, const BatchReaderOptions& options,
              DataPosition start = {});
  ~BatchReader();
  BatchReader(const BatchReader&) = delete;
  BatchReader& operator=(const BatchReader&) = delete;

  // This rank's part of the next global batch, waiting for the reading
  // thread if it is behind; nullopt after options.epochs epochs. Rethrows
  // an error of the reading thread.
  std::optional<Batch> Next();

  // The position of the batch the next call to Next() returns.
  DataPosition position() const { return position_; }

  // Global batches in `epoch` (plans it: linear in the corpus size).
  std::int64_t BatchesInEpoch(std::int64_t epoch) const;

  const Corpus& corpus() const { return *corpus_; }

 private:
  struct Item {
    std::optional<Batch> batch;  // nullopt: the end
    std::exception_ptr error;
  };
  void Produce(DataPosition pos);
  Batch Assemble(const BatchSpan& span, DataPosition pos, DataPosition next) const;

  std::shared_ptr<const Corpus> corpus_;
  std::vector<ShardLengths> lengths_;
  BatchReaderOptions options_;
  DataPosition position_;
  bool finished_ = false;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Item> queue_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace rnnsearch
