// The gradient sync of ranks that all share one node: their gradient
// buffers live side by side in one POSIX shared-memory segment, and each
// rank sums its slice of the buffers over all ranks. No bytes are copied
// through MPI: where an MPI_Allreduce moves every byte through the
// library's own shared-memory channel (a copy in, the sum, a copy out),
// this reads every buffer once, spread over all the node's cores (about
// 3.5 ms instead of 10-12 ms for a 55 MB gradient on 2 ranks,
// docs/performance.md).
//
// The shared state (the default of `rnnsearch train`): the parameters,
// Adam's moments and the moving average are the same on every rank, and
// so is their update. ShareState (trainer.cc, at the start) moves them
// into a second segment, one copy for the node; from then on each rank
// sums its slice of the gradients into its own buffer only, with the
// slice's sums of squares for the clipping norm, and updates only that
// slice of the state (Part, ApplyUpdate, Ema::Update); EndUpdate waits
// until every rank has. Per rank and step that reads and writes each
// state buffer 1/N times instead of once and drops the norm's own pass;
// the node holds one copy of the state instead of N. Rank 0 writes
// checkpoints from the shared copy between EndUpdate and its next step's
// Finish, and no rank writes the state before rank 0 has reached that
// Finish. Without the shared state (no room for it), each rank writes its
// slice's sums into every rank's buffer and every rank updates its own
// copy of the state.
//
// Per step (GradSync): BeginLastBackward moves the rank's buffer into the
// segment the first time (ParamSet::MoveTo; the segment is created then,
// collectively, when the buffer's size is known); Finish waits in a
// barrier until every rank's backward pass is done, sums this rank's slice
// and then sums the step totals with one Allreduce, which no rank leaves
// before every rank has entered it, so every slice is summed on return.
// The next step's backward pass may overwrite the buffers from then on.
//
// Exactness: element i is summed in rank order, ((g_0 + g_1) + g_2) + ...,
// by one rank, so every rank uses the same bits, the same ones for any
// number of threads; the norm adds the chunks' sums of squares in
// SumOfSquares' order, so the update is bit for bit the one a single
// process applies to the same summed gradient.
//
// The segments are created by rank 0 in /dev/shm, opened by the others
// and unlinked as soon as all have them mapped, so nothing stays behind
// when the job ends or is killed, except for a job killed in those few
// milliseconds: rank 0 removes such leftovers (a minute old, their
// creator's PID gone) before it creates a segment. Their memory is
// reserved up front (posix_fallocate): if /dev/shm is too small
// (containers often give it 64 MB) or any rank cannot map a segment, every
// rank logs why and the sync falls back: to the blocking MPI allreduce
// (MakeAllreduceGradSync) without the gradient segment, to a state per
// rank without the other.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "trainer/dist/grad_sync.h"
#include "trainer/dist/shm_segment.h"

namespace rnnsearch {

class SharedMemoryGradSync final : public GradSync {
 public:
  // Every rank of `comm` must run on this node. `comm` must outlive this.
  // A segment larger than `max_segment_bytes` (0: no limit but /dev/shm's
  // room) is not created: the sync falls back as if /dev/shm were full.
  explicit SharedMemoryGradSync(Comm& comm, std::size_t max_segment_bytes = 0);
  ~SharedMemoryGradSync() override;

  GradReadyFn BeginLastBackward(ParamSet& grads) override;
  void Finish(ParamSet& grads, StepTotals& totals) override;
  bool ShareState(const std::vector<ParamSet*>& buffers) override;
  UpdatePart Part() const override;
  void EndUpdate() override;

  // Whether the gradient segment is in use (false before the first step
  // and with the MPI allreduce fallback), and why not.
  bool active() const { return fallback_ == nullptr && grads_ != nullptr; }
  const std::string& fallback_reason() const { return fallback_reason_; }
  // Whether ShareState placed the state in shared memory.
  bool shared_state() const { return state_ != nullptr; }

 private:
  // Collective at the first step: the gradient segment, or the fallback.
  void Create(std::size_t floats);
  // Moves `grads` into this rank's part of the segment (first step).
  void Adopt(ParamSet& grads);
  // Sums this rank's chunks of the ranks' buffers: into every buffer, or
  // (shared state) into this rank's with the chunks' sums of squares.
  void ReduceSlice();

  Comm& comm_;
  std::size_t max_segment_bytes_;
  std::shared_ptr<ShmSegment> grads_;  // one gradient buffer per rank
  std::shared_ptr<ShmSegment> state_;  // the shared buffers; extra: chunk sums of squares
  std::unique_ptr<GradSync> fallback_;
  std::string fallback_reason_;
  std::int64_t first_chunk_ = 0, last_chunk_ = 0;  // this rank's slice
  double sum_of_squares_ = 0;                      // of the step's summed gradient
};

}  // namespace rnnsearch
