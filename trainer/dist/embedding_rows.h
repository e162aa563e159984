// The embedding tables' gradients as the rows a step touched
// (dist.sparse_embeddings), for the syncs that move the gradient through
// the communicator (MakeAllreduceGradSync, OverlapGradSync; the shared
// memory sync of one node moves no bytes over a wire and stays whole).
//
// A batch gives src_embed.weight [Vs, E] and tgt_embed.weight [Vt, E] a
// gradient only in the rows of the ids it looks up (AddTouchedRows,
// trainer/model/model.h): a few hundred to a few thousand of Vs, Vt rows.
// Per step every rank sends its sorted row ids (one Comm::Allgather of
// small int arrays), takes the union U of all ranks' ids per table, packs
// its gradient rows of U into one [|U|, E] buffer per table (both tables
// in one buffer), all-reduces (sums) that buffer and writes the sums back
// into the rows of U. A row outside U is zero on every rank, so its sum
// is zero: it stays as it is. Adding an exact zero changes no float, so
// the result is bit for bit the whole tables' allreduce whenever the
// library adds each element's terms in the same order for both message
// sizes (always on 2 ranks, where a sum is one addition; on more ranks it
// depends on the allreduce algorithm: Open MPI's ring splits the message
// into per-rank chunks, each summed starting at another rank).
//
// A table whose gradient can be non-zero outside the looked-up rows stays
// whole: tgt_embed.weight under model.tie_target_embeddings (it is the
// output layer too, which gives every row a gradient). Plan() logs the
// choice once. Nothing else writes into these gradients before the sync
// (the optimizer has no weight decay; train.clip_norm scales the summed
// gradient after it).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/comm.h"
#include "common/config.h"
#include "trainer/dist/wire.h"
#include "trainer/model/model.h"
#include "trainer/model/params.h"

namespace rnnsearch {

// Figures summed over the steps that sent rows (not whole tables).
struct EmbeddingRowStats {
  std::int64_t steps = 0;
  std::int64_t rows = 0;        // rows all-reduced
  std::int64_t table_rows = 0;  // rows of the same tables whole
};

class EmbeddingRowSync {
 public:
  // `comm` must outlive this object. enabled: dist.sparse_embeddings;
  // wire: dist.wire_dtype (the rows and tables are gradients too).
  EmbeddingRowSync(Comm& comm, bool enabled, WireDtype wire = WireDtype::kF32)
      : comm_(comm), enabled_(enabled), wire_(wire) {}
  // Rank 0 logs the rows sent per step on average, if any step sent rows.
  ~EmbeddingRowSync();
  EmbeddingRowSync(const EmbeddingRowSync&) = delete;
  EmbeddingRowSync& operator=(const EmbeddingRowSync&) = delete;

  // Once, with the first gradient buffer (later calls do nothing): which
  // tables travel as rows; logs it. The same on every rank.
  void Plan(const ParamSet& grads);

  // After Plan: the ranges (offset, count) of the flat buffer that Reduce
  // sums (each table with the padding after it), in buffer order. A sync
  // all-reduces the rest of the buffer itself.
  const std::vector<std::pair<std::int64_t, std::int64_t>>& ranges() const { return ranges_; }

  // This step's touched rows (GradSync::SetTouchedRows).
  void SetRows(EmbeddingRows rows) { rows_ = std::move(rows); }

  // Collective, after the backward passes: sums ranges() over the ranks,
  // as rows when SetRows was called in this step, else whole; forgets the
  // rows. Every rank must have called SetRows alike.
  void Reduce(ParamSet& grads);

  EmbeddingRowStats stats() const { return stats_; }

 private:
  struct Table {
    std::string name;
    bool src = false;  // src_embed (else tgt_embed)
    std::int64_t offset = 0, rows = 0, width = 0;
  };

  Comm& comm_;
  const bool enabled_;
  WireDtype wire_;
  bool planned_ = false;
  std::vector<Table> tables_;
  std::vector<std::pair<std::int64_t, std::int64_t>> ranges_;
  std::optional<EmbeddingRows> rows_;
  std::vector<float> packed_;  // reused between steps
  EmbeddingRowStats stats_;
};

}  // namespace rnnsearch
