// Overlapped, bucketed gradient synchronisation (the GradSync of a job
// whose ranks span several nodes, or of dist.overlap: true;
// trainer/dist/grad_sync.h states the contract and UseOverlappedSync the choice).
//
// The flat gradient buffer is cut into buckets: contiguous ranges of it
// made of the ranges the model reports final during its backward pass
// (Model::ForwardBackward's GradReadyFn, in the fixed order of
// GradientReadyStages: readout and output first, src_embed last). Walking
// those ranges in that order, a range joins the open bucket when it
// touches it in the buffer and the bucket stays within the size cap
// (dist.bucket_mb); otherwise the bucket is closed and the range opens the
// next. A range larger than the cap is a bucket of its own. The plan
// depends only on the model's dims, so every rank has the same buckets in
// the same order, and no gradient is copied (each bucket is reduced in
// place, like Horovod's fusion buffer but without the copy, since the
// buffer is already flat).
//
// During the last backward pass of a step the hook counts the reported
// ranges; when a bucket's last range arrives, the bucket is handed to a
// communication thread owned by this object, which runs one blocking
// in-place allreduce (sum) per bucket, strictly in plan order. So
// the output layer's gradients travel while the decoder and the encoder
// are still being differentiated. Finish hands over whatever the hook has
// not (all of it, if there was no hook), waits until the thread has
// reduced every bucket, then reduces the step totals on the calling
// thread. The embedding tables are the exception: their gradients are
// final only at the very end of the backward pass and, with
// dist.sparse_embeddings, travel as the rows the step touched
// (trainer/dist/embedding_rows.h); they are left out of the buckets and
// summed by Finish on the calling thread after the buckets (whole in a
// step without SetTouchedRows). Results are deterministic: the same buckets in the same order
// with the same sizes on the same ranks give the same sums every run (on
// 2 ranks a sum is a single float addition, so they equal the blocking
// implementation's bit for bit; on more ranks the MPI library may add in
// another order for another message size).
//
// The communication thread waits for each allreduce without spinning
// (Comm::AllreducePolled: a non-blocking allreduce tested every
// dist.comm_poll_us microseconds, sleeping in between): a blocking MPI
// collective busy-polls while the other ranks catch up, and with one core
// per rank that polling takes the core from the backward pass it is meant
// to overlap. Once Finish waits (the backward pass is over and the core is
// the thread's), the allreduce in flight and the buckets after it are
// waited for blocking, which completes them sooner. poll_us 0 selects the
// blocking Comm::Allreduce throughout.
//
// Threads and MPI: between BeginLastBackward and the end of Finish the
// communication thread is the only one that calls the communicator; the
// caller must make no Comm call in that window. Outside it the thread
// sleeps. So MPI_THREAD_SERIALIZED suffices (launch/mpi_session.cc checks
// that the library provides it).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "trainer/dist/embedding_rows.h"
#include "trainer/dist/grad_sync.h"

namespace rnnsearch {

// A bucket: [offset, offset + count) of the flat buffer, complete once the
// plan's range number `last_range` has been reported.
struct GradBucket {
  std::int64_t offset = 0;
  std::int64_t count = 0;
  int last_range = 0;
  bool operator==(const GradBucket&) const = default;
};

struct BucketPlan {
  std::vector<std::pair<std::int64_t, std::int64_t>> ranges;  // (offset, count), report order
  std::vector<GradBucket> buckets;                            // reduction order
};

// The plan above for `stages` (GradientReadyStages) with buckets of at
// most `cap` floats (0: every range is a bucket).
BucketPlan PlanBuckets(
    const std::vector<std::vector<std::pair<std::int64_t, std::int64_t>>>& stages,
    std::int64_t cap);

// Bucket size in floats of dist.bucket_mb (MB = 2^20 bytes).
std::int64_t BucketFloats(double bucket_mb);

// Figures summed over the steps since construction (benchmarks).
struct OverlapSyncStats {
  std::int64_t steps = 0;
  std::int64_t buckets = 0;    // allreduces of buckets
  double bytes = 0;            // bytes of the buckets reduced, in the wire dtype
  double comm_seconds = 0;     // communication thread inside Allreduce
  double wait_seconds = 0;     // Finish waiting for buckets still in flight
  double totals_seconds = 0;   // Finish reducing the embedding tables and the step totals
  double backward_posted = 0;  // buckets handed over by the hook (not by Finish)
};

class OverlapGradSync final : public GradSync {
 public:
  // `comm` must outlive this object. bucket_floats: the cap of PlanBuckets;
  // poll_us: how the thread waits for an allreduce (above; 0: blocking);
  // wire: the gradients' type on the wire (dist.wire_dtype,
  // AllreduceGradients); sparse_embeddings: dist.sparse_embeddings.
  OverlapGradSync(Comm& comm, std::int64_t bucket_floats, int poll_us = kDefaultPollUs,
                  WireDtype wire = WireDtype::kF32, bool sparse_embeddings = true);

  static constexpr int kDefaultPollUs = 200;
  // Waits for the buckets already handed over (every rank hands over the
  // same ones, so they complete), then ends the thread.
  ~OverlapGradSync() override;
  OverlapGradSync(const OverlapGradSync&) = delete;
  OverlapGradSync& operator=(const OverlapGradSync&) = delete;

  void SetTouchedRows(EmbeddingRows rows) override { rows_.SetRows(std::move(rows)); }
  GradReadyFn BeginLastBackward(ParamSet& grads) override;
  void Finish(ParamSet& grads, StepTotals& totals) override;

  // The plan (empty before the first BeginLastBackward or Finish).
  const BucketPlan& plan() const { return plan_; }
  OverlapSyncStats stats() const;

 private:
  void EnsurePlan(ParamSet& grads);
  void OnReady(std::int64_t offset, std::int64_t count);
  void Post(int buckets);  // hands buckets [0, buckets) over (monotone)
  void Loop();

  Comm& comm_;
  const std::int64_t bucket_floats_;
  const int poll_us_;
  const WireDtype wire_;
  EmbeddingRowSync rows_;  // the ranges it sums are not in plan_
  BucketPlan plan_;
  float* data_ = nullptr;  // the step's gradient buffer
  std::size_t size_ = 0;
  int next_range_ = 0;   // ranges reported in this step (main thread)
  int next_bucket_ = 0;  // buckets handed over in this step (main thread)

  mutable std::mutex mu_;
  std::condition_variable cv_;
  int posted_ = 0;  // guarded: buckets handed over
  int done_ = 0;    // guarded: buckets reduced
  bool stop_ = false;
  std::atomic<bool> hurry_{false};  // set by Finish while it waits (Comm::AllreducePolled)
  std::exception_ptr error_;
  OverlapSyncStats stats_;  // guarded
  std::thread thread_;
};

}  // namespace rnnsearch
