// Communicator: the small interface through which the rest of the code
// talks to the other ranks of a job. The MPI implementation is MpiComm in
// launch/mpi_session.cc; LocalComm is the single-process stand-in, so code
// below the entry point runs (and is tested) the same way alone.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace rnnsearch {

enum class ReduceOp { kSum, kMin, kMax };

class Comm {
 public:
  virtual ~Comm() = default;

  virtual int rank() const = 0;
  virtual int size() const = 0;
  // Ranks on this node and this rank's index among them (for thread and
  // core placement).
  virtual int local_rank() const = 0;
  virtual int local_size() const = 0;

  virtual void Barrier() = 0;
  // Broadcasts `bytes` bytes at `data` from `root` to every rank.
  virtual void Broadcast(void* data, std::size_t bytes, int root) = 0;
  // In-place element-wise reduction over all ranks; every rank gets the result.
  virtual void Allreduce(double* data, std::size_t count, ReduceOp op) = 0;
  virtual void Allreduce(float* data, std::size_t count, ReduceOp op) = 0;
  virtual void Allreduce(std::int64_t* data, std::size_t count, ReduceOp op) = 0;
  // The same sum as Allreduce(float*), but the caller waits without
  // spinning: the reduction is started non-blocking and its completion
  // tested every `poll_us` microseconds, the thread sleeping in between
  // (and the library progressing it on each test). For a communication
  // thread that shares its core with the computation: a blocking MPI
  // collective busy-polls and takes the core's time while it waits for the
  // other ranks. Once `*hurry` is true (the computation the thread was
  // sharing the core with has ended; may be null) it waits blocking, which
  // completes the reduction sooner. poll_us <= 0, or a communicator without
  // non-blocking collectives: Allreduce.
  virtual void AllreducePolled(float* data, std::size_t count, ReduceOp op, int poll_us,
                               const std::atomic<bool>* hurry) {
    (void)poll_us;
    (void)hurry;
    Allreduce(data, count, op);
  }

  // The sum over all ranks of `count` floats, in place, with bf16 on the
  // wire (common/bf16.h; dist.wire_dtype: bf16): each rank rounds its
  // values to bf16; the ranks add them in float, rounding each partial sum
  // to bf16 where it is sent on; every rank gets the same bf16 sums, as
  // floats. For 2 ranks each result is bf16(float(bf16(a)) +
  // float(bf16(b))); for n ranks it is the bf16 inputs added in some order
  // with n - 1 roundings to float and then to bf16 (each at most 2^-8 +
  // 2^-23 of the partial sum), so, away from overflow and subnormals,
  // |result - exact sum| <= ((1 + 2^-7)^n - 1) * (sum of |inputs|).
  // poll_us and hurry as for AllreducePolled. One rank: the values rounded
  // to bf16.
  virtual void AllreduceSumBf16(float* data, std::size_t count, int poll_us,
                                const std::atomic<bool>* hurry) = 0;
  // Gathers every rank's `mine` (any length, also empty) on every rank:
  // the result is rank 0's values, then rank 1's, and so on; `counts`
  // (may be null) gets each rank's length.
  virtual std::vector<std::int32_t> Allgather(const std::vector<std::int32_t>& mine,
                                              std::vector<int>* counts) = 0;

  // Ends the whole job at once with the given exit status (MPI_Abort under
  // MPI); used when one rank fails and the others could otherwise hang.
  [[noreturn]] virtual void Abort(int code) = 0;

  // Broadcasts a string of any length from `root` (its length, then bytes).
  void BroadcastString(std::string& s, int root);
};

// The single-process communicator: rank 0 of 1; collectives are no-ops.
std::unique_ptr<Comm> MakeLocalComm();

}  // namespace rnnsearch
