// Gradient synchronisation between the ranks of a data-parallel run: the
// only place where the training step talks to the other ranks.
//
// docs/model.md's data-parallel semantics: one optimizer step consumes one
// global batch (train.accumulate of them with accumulation); each rank
// runs forward and backward on its part with grad_scale = 1 / (the global
// batches' real target tokens), ADDING into its flat gradient buffer, so
// the step's gradient is the SUM of the ranks' buffers. A GradSync turns
// each rank's partial buffer into that sum, on every rank, together with a
// few per-step totals (loss sum, token counts, stop requests), so that all
// ranks apply the same update and agree on every stop.
//
// The step calls, per optimizer step:
//   sync.SetTouchedRows(rows);                // the embedding rows its batches touch
//   hook = sync.BeginLastBackward(grads);     // before the last backward pass
//   model.ForwardBackward(..., hook);         // hook may be empty
//   sync.Finish(grads, totals);               // grads and totals now summed
//   ApplyUpdate(..., sync.Part());            // this rank's part of the update
//   sync.EndUpdate();                         // every rank's part done
// BeginLastBackward exists for an overlapped implementation (buckets of
// the flat buffer reduced as the model reports them final through its
// GradReadyFn, trainer/model/model.h; Finish then waits for what is in flight).
// The implementations:
//   MakeLocalGradSync()      one process: nothing to do;
//   MakeAllreduceGradSync(c) blocking, in Finish: one Comm::Allreduce of the
//                            float buffer but the embedding tables, their
//                            touched rows (trainer/dist/embedding_rows.h),
//                            and the totals;
//   OverlapGradSync          buckets reduced on a communication thread as
//                            the backward pass finishes them
//                            (trainer/dist/grad_sync_overlap.h);
//   SharedMemoryGradSync     every rank on one node: the buffers summed in
//                            node shared memory, the state shared and the
//                            update split between the ranks
//                            (trainer/dist/grad_sync_shm.h).
// None knows about MPI: the communicator is common/comm.h.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/comm.h"
#include "common/config.h"
#include "trainer/dist/wire.h"
#include "trainer/model/model.h"
#include "trainer/model/params.h"
#include "trainer/optim/optimizer.h"

namespace rnnsearch {

// Figures of one optimizer step that are summed over the ranks with the
// gradients. Counts stay exact (they travel as doubles: exact below 2^53).
struct StepTotals {
  double loss = 0;               // sum of the per-token losses (unscaled)
  std::int64_t tgt_tokens = 0;   // real target tokens
  std::int64_t src_tokens = 0;   // real source tokens
  std::int64_t stop_signal = 0;  // ranks that received SIGTERM / SIGINT
  std::int64_t stop_time = 0;    // ranks that reached train.max_time
};

class GradSync {
 public:
  virtual ~GradSync() = default;

  // Optional, once per optimizer step before BeginLastBackward, on every
  // rank alike (each with its own rows): the embedding rows that this
  // rank's batches of the step touch (AddTouchedRows over all of them,
  // trainer/model/model.h); every other row of the tables' gradients stays
  // zero on this rank. A sync that moves the gradient over the network may
  // then sum only the union of the ranks' rows (dist.sparse_embeddings,
  // trainer/dist/embedding_rows.h), which gives the same sums. A step
  // without the call is summed whole. The default ignores the rows.
  virtual void SetTouchedRows(EmbeddingRows rows) { (void)rows; }

  // Called once per optimizer step, before the backward pass of its last
  // batch; the result goes to Model::ForwardBackward as its GradReadyFn
  // (empty: none). `grads` is the buffer Finish will get.
  virtual GradReadyFn BeginLastBackward(ParamSet& grads) = 0;

  // After every backward pass of the step: `grads` and `totals` hold this
  // rank's part; on return both hold the sum over all ranks, the same on
  // every rank (with a shared state, see below: `grads` holds it in the
  // chunks of Part().range only).
  virtual void Finish(ParamSet& grads, StepTotals& totals) = 0;

  // A shared state: once at the start, with the buffers every rank holds
  // and updates alike (the parameters, the optimizer's moments, the moving
  // average; equal on all ranks), a sync may place them in memory that all
  // ranks of the node share, one copy for all, and return true. Then each
  // rank computes only its Part() of every step's update (ApplyUpdate,
  // Ema::Update) and calls EndUpdate, which returns once every rank has
  // done its part. Collective. The default keeps them apart: false.
  virtual bool ShareState(const std::vector<ParamSet*>& buffers) {
    (void)buffers;
    return false;
  }
  // After Finish: the share of the update this rank computes (default: all).
  virtual UpdatePart Part() const { return {}; }
  virtual void EndUpdate() {}
};

std::unique_ptr<GradSync> MakeLocalGradSync();

// Blocking: Allreduce (sum) of the flat buffer, the embedding tables as
// the touched rows when sparse_embeddings (dist.sparse_embeddings), then
// of the totals. With `wire` bf16 (dist.wire_dtype) the gradients are
// summed by Comm::AllreduceSumBf16 (bf16 on the wire, float sums); the
// totals always travel as doubles. `comm` must outlive the result.
std::unique_ptr<GradSync> MakeAllreduceGradSync(Comm& comm, WireDtype wire = WireDtype::kF32,
                                                bool sparse_embeddings = true);

// Whether a job of `ranks` ranks, `ranks_on_this_node` of them on this
// rank's node, uses the overlapped sync under dist.overlap (auto|true|
// false). auto: overlapped when the ranks span more than one node, where
// a network moves the bytes while the cores compute; blocking when they
// all share one node, where the allreduce is copies and sums by the ranks'
// own cores, which (one rank per core) the backward pass needs: run after
// it, the allreduce costs its own time and nothing more, while run beside
// it, it also slows the backward pass down (scripts/bench_dist.sh: blocking
// ahead in 19 of 20 figures on 2 cores; docs/performance.md). Every rank decides alike:
// either all ranks share one node or none has them all.
bool UseOverlappedSync(OverlapMode overlap, int ranks, int ranks_on_this_node);

// The local one for a job of one rank; else the overlapped one with
// buckets of dist.bucket_mb or the blocking one (UseOverlappedSync), the
// gradients on the wire as dist.wire_dtype says (the shared-memory sync
// has no wire and sums in f32 whatever it says).
std::unique_ptr<GradSync> MakeGradSync(Comm& comm, const DistConfig& dist);

// The totals summed over `comm` in one Allreduce (for GradSync
// implementations).
void AllreduceTotals(Comm& comm, StepTotals& totals);

}  // namespace rnnsearch
