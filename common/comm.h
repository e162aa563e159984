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
