#include "launch/mpi_session.h"

#include <mpi.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <limits>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/bf16.h"
#include "common/log.h"

namespace rnnsearch {
namespace {

// Checks the return code of an MPI call made with MPI_ERRORS_RETURN
// (communicators use the aborting handler below, so this is a backstop).
void Check(int rc, const char* what) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, text, &len);
  RNN_LOG(kError) << "MPI error in " << what << ": " << std::string(text, len)
                  << "; aborting the job";
  MPI_Abort(MPI_COMM_WORLD, 3);
}

void AbortOnMpiError(MPI_Comm*, int* code, ...) {
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(*code, text, &len);
  RNN_LOG(kError) << "MPI error: " << std::string(text, len) << "; aborting the job";
  MPI_Abort(MPI_COMM_WORLD, 3);
}

MPI_Op ToMpi(ReduceOp op) {
  switch (op) {
    case ReduceOp::kSum: return MPI_SUM;
    case ReduceOp::kMin: return MPI_MIN;
    case ReduceOp::kMax: return MPI_MAX;
  }
  return MPI_SUM;
}

const char* ThreadLevelName(int level) {
  switch (level) {
    case MPI_THREAD_SINGLE: return "MPI_THREAD_SINGLE";
    case MPI_THREAD_FUNNELED: return "MPI_THREAD_FUNNELED";
    case MPI_THREAD_SERIALIZED: return "MPI_THREAD_SERIALIZED";
    case MPI_THREAD_MULTIPLE: return "MPI_THREAD_MULTIPLE";
  }
  return "unknown";
}

// Collectives take an int count: large buffers go in pieces of 2^30 elements.
constexpr std::size_t kMaxPiece = std::size_t{1} << 30;

// Waits for `req` without spinning: tests it every `poll_us` microseconds
// and sleeps in between (so that a waiting thread or rank leaves its core
// to those still working). Returns the first test's error code that is not
// MPI_SUCCESS, else MPI_SUCCESS once the request is complete.
// Once `*hurry` (may be null) is true it waits in MPI_Wait instead.
int WaitSleeping(MPI_Request* req, int poll_us, const std::atomic<bool>* hurry = nullptr) {
  for (int done = 0;;) {
    if (hurry != nullptr && hurry->load(std::memory_order_acquire)) {
      return MPI_Wait(req, MPI_STATUS_IGNORE);
    }
    const int rc = MPI_Test(req, &done, MPI_STATUS_IGNORE);
    if (rc != MPI_SUCCESS || done != 0) return rc;
    std::this_thread::sleep_for(std::chrono::microseconds(poll_us));
  }
}

// The MPI_Op of the bf16 sum: the reduction step of common/bf16.h.
void AddBf16Op(void* in, void* inout, int* len, MPI_Datatype*) {
  AddBf16(static_cast<const std::uint16_t*>(in), static_cast<std::uint16_t*>(inout),
          static_cast<std::size_t>(*len));
}

class MpiComm final : public Comm {
 public:
  MpiComm() {
    Check(MPI_Comm_dup(MPI_COMM_WORLD, &comm_), "MPI_Comm_dup");
    Check(MPI_Comm_rank(comm_, &rank_), "MPI_Comm_rank");
    Check(MPI_Comm_size(comm_, &size_), "MPI_Comm_size");
    MPI_Comm node;
    Check(MPI_Comm_split_type(comm_, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &node),
          "MPI_Comm_split_type");
    Check(MPI_Comm_rank(node, &local_rank_), "MPI_Comm_rank");
    Check(MPI_Comm_size(node, &local_size_), "MPI_Comm_size");
    MPI_Comm_free(&node);
    Check(MPI_Op_create(&AddBf16Op, /*commute=*/1, &add_bf16_), "MPI_Op_create");
  }
  ~MpiComm() override {
    MPI_Op_free(&add_bf16_);
    MPI_Comm_free(&comm_);
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  int local_rank() const override { return local_rank_; }
  int local_size() const override { return local_size_; }

  void Barrier() override { Check(MPI_Barrier(comm_), "MPI_Barrier"); }

  void Broadcast(void* data, std::size_t bytes, int root) override {
    auto* p = static_cast<char*>(data);
    for (std::size_t off = 0; off < bytes; off += kMaxPiece) {
      const int n = static_cast<int>(std::min(kMaxPiece, bytes - off));
      Check(MPI_Bcast(p + off, n, MPI_BYTE, root, comm_), "MPI_Bcast");
    }
  }
  void Allreduce(double* data, std::size_t count, ReduceOp op) override {
    Reduce(data, count, MPI_DOUBLE, op);
  }
  void Allreduce(float* data, std::size_t count, ReduceOp op) override {
    Reduce(data, count, MPI_FLOAT, op);
  }
  void Allreduce(std::int64_t* data, std::size_t count, ReduceOp op) override {
    Reduce(data, count, MPI_INT64_T, op);
  }
  void AllreducePolled(float* data, std::size_t count, ReduceOp op, int poll_us,
                       const std::atomic<bool>* hurry) override {
    if (poll_us <= 0) return Reduce(data, count, MPI_FLOAT, op);
    for (std::size_t off = 0; off < count; off += kMaxPiece) {
      const int n = static_cast<int>(std::min(kMaxPiece, count - off));
      MPI_Request req = MPI_REQUEST_NULL;
      Check(MPI_Iallreduce(MPI_IN_PLACE, data + off, n, MPI_FLOAT, ToMpi(op), comm_, &req),
            "MPI_Iallreduce");
      Check(WaitSleeping(&req, poll_us, hurry), "MPI_Test/MPI_Wait of an MPI_Iallreduce");
    }
  }
  // Every rank must end with the same bits, whatever algorithm the
  // library picks. MPI_Allreduce does not promise that for an operation
  // that is not associative, as this one is not (the standard only
  // recommends the same result everywhere), and an algorithm that reduces
  // an element on several ranks in different orders (recursive doubling
  // on a rank count that is not a power of 2, say) could give them
  // different bf16 values. So each piece is reduced in two
  // steps: MPI_Reduce_scatter leaves each block of it, summed, on exactly
  // one rank (each element is reduced once, on one rank), then
  // MPI_Allgatherv copies those bits to every rank. The bytes moved are
  // those of a ring allreduce, at 2 bytes an element.
  void AllreduceSumBf16(float* data, std::size_t count, int poll_us,
                        const std::atomic<bool>* hurry) override {
    const std::size_t ranks = static_cast<std::size_t>(size_);
    wire_.resize(std::min(kMaxPiece, count));
    std::vector<int> counts(ranks), displs(ranks);
    for (std::size_t off = 0; off < count; off += kMaxPiece) {
      const std::size_t n = std::min(kMaxPiece, count - off);
      for (std::size_t r = 0, at = 0; r < ranks; ++r) {
        counts[r] = static_cast<int>(n / ranks + (r < n % ranks ? 1 : 0));
        displs[r] = static_cast<int>(at);
        at += static_cast<std::size_t>(counts[r]);
      }
      FloatsToBf16(data + off, n, wire_.data());
      std::uint16_t* mine = wire_.data() + displs[static_cast<std::size_t>(rank_)];
      // In place: the rank's summed block lands at the start of wire_,
      // from where it moves to its own place for the allgather.
      Collective(poll_us, hurry, "MPI_Reduce_scatter", [&](MPI_Request* req) {
        return req == nullptr ? MPI_Reduce_scatter(MPI_IN_PLACE, wire_.data(), counts.data(),
                                                   MPI_UINT16_T, add_bf16_, comm_)
                              : MPI_Ireduce_scatter(MPI_IN_PLACE, wire_.data(), counts.data(),
                                                    MPI_UINT16_T, add_bf16_, comm_, req);
      });
      std::memmove(mine, wire_.data(),
                   static_cast<std::size_t>(counts[static_cast<std::size_t>(rank_)]) *
                       sizeof(std::uint16_t));
      Collective(poll_us, hurry, "MPI_Allgatherv", [&](MPI_Request* req) {
        return req == nullptr
                   ? MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, wire_.data(), counts.data(),
                                    displs.data(), MPI_UINT16_T, comm_)
                   : MPI_Iallgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, wire_.data(),
                                     counts.data(), displs.data(), MPI_UINT16_T, comm_, req);
      });
      Bf16ToFloats(wire_.data(), n, data + off);
    }
  }

  std::vector<std::int32_t> Allgather(const std::vector<std::int32_t>& mine,
                                      std::vector<int>* counts) override {
    if (mine.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
      throw std::invalid_argument("Allgather of " + std::to_string(mine.size()) +
                                  " values: at most 2^31 - 1 per rank");
    }
    std::vector<int> n(static_cast<std::size_t>(size_));
    const int own = static_cast<int>(mine.size());
    Check(MPI_Allgather(&own, 1, MPI_INT, n.data(), 1, MPI_INT, comm_), "MPI_Allgather");
    std::vector<int> displs(n.size());
    std::int64_t total = 0;
    for (std::size_t k = 0; k < n.size(); ++k) {
      displs[k] = static_cast<int>(total);
      total += n[k];
    }
    if (total > std::numeric_limits<int>::max()) {
      throw std::invalid_argument("Allgather of " + std::to_string(total) +
                                  " values in all: at most 2^31 - 1");
    }
    std::vector<std::int32_t> all(static_cast<std::size_t>(total));
    Check(MPI_Allgatherv(mine.data(), own, MPI_INT32_T, all.data(), n.data(), displs.data(),
                         MPI_INT32_T, comm_),
          "MPI_Allgatherv");
    if (counts != nullptr) *counts = std::move(n);
    return all;
  }
  [[noreturn]] void Abort(int code) override {
    MPI_Abort(MPI_COMM_WORLD, code);
    std::_Exit(code);
  }

 private:
  template <class T>
  void Reduce(T* data, std::size_t count, MPI_Datatype type, ReduceOp op) {
    for (std::size_t off = 0; off < count; off += kMaxPiece) {
      const int n = static_cast<int>(std::min(kMaxPiece, count - off));
      Check(MPI_Allreduce(MPI_IN_PLACE, data + off, n, type, ToMpi(op), comm_), "MPI_Allreduce");
    }
  }

  // Runs one collective: start(nullptr) blocking when poll_us <= 0, else
  // start(&request) non-blocking and WaitSleeping on it.
  template <class Start>
  void Collective(int poll_us, const std::atomic<bool>* hurry, const char* what, Start start) {
    if (poll_us <= 0) return Check(start(nullptr), what);
    MPI_Request req = MPI_REQUEST_NULL;
    Check(start(&req), what);
    Check(WaitSleeping(&req, poll_us, hurry), what);
  }

  MPI_Comm comm_ = MPI_COMM_NULL;
  MPI_Op add_bf16_ = MPI_OP_NULL;
  std::vector<std::uint16_t> wire_;  // AllreduceSumBf16's buffer, kept between calls
  int rank_ = 0, size_ = 1, local_rank_ = 0, local_size_ = 1;
};

Comm* g_world = nullptr;

// An exception escaping a thread, or std::terminate for any other reason:
// say which rank and why, then end the whole job.
[[noreturn]] void TerminateHandler() {
  std::string why = "std::terminate called";
  if (auto e = std::current_exception()) {
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      why = std::string("uncaught exception: ") + ex.what();
    } catch (...) {
      why = "uncaught exception of unknown type";
    }
  }
  RNN_LOG(kError) << why << "; aborting the job";
  if (g_world != nullptr) g_world->Abort(1);
  std::_Exit(1);
}

}  // namespace

bool StartedByMpiLauncher() {
  for (const char* var :
       {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE", "MPI_LOCALNRANKS"}) {
    if (std::getenv(var) != nullptr) return true;
  }
  return false;
}

namespace {

// Open MPI's default allreduce between ranks of one node moves about
// 1.6 GB/s for the tens of MB of a gradient on the measured machine; its
// ring algorithm (4) moves 3.4-3.9 GB/s and lifts 2-rank weak scaling from
// 0.94 to 0.97 (docs/performance.md; scripts/bench_dist.sh). Select it
// unless the user chose an allreduce algorithm (OMPI_MCA_* environment
// variables, which is also what `mpirun --mca` sets). Small allreduces
// (under one element per rank) fall back to recursive doubling inside it.
void PreferRingAllreduce() {
  if (std::getenv("OMPI_MCA_coll_tuned_allreduce_algorithm") != nullptr ||
      std::getenv("OMPI_MCA_coll_tuned_use_dynamic_rules") != nullptr) {
    return;
  }
  setenv("OMPI_MCA_coll_tuned_use_dynamic_rules", "1", 0);
  setenv("OMPI_MCA_coll_tuned_allreduce_algorithm", "4", 0);
}

}  // namespace

MpiSession::MpiSession(int* argc, char*** argv) {
  if (StartedByMpiLauncher()) {
    PreferRingAllreduce();
    int provided = 0;
    MPI_Init_thread(argc, argv, MPI_THREAD_SERIALIZED, &provided);
    if (provided < MPI_THREAD_SERIALIZED) {
      // The overlapped gradient sync (trainer/dist/grad_sync_overlap.h) calls
      // MPI from its communication thread while the main thread waits.
      int rank = 0;
      MPI_Comm_rank(MPI_COMM_WORLD, &rank);
      std::fprintf(stderr,
                   "rnnsearch [rank %d]: the MPI library provides thread support level %s; "
                   "rnnsearch needs MPI_THREAD_SERIALIZED (gradients are all-reduced on a "
                   "communication thread); use an MPI built with thread support (Open MPI "
                   "provides it by default)\n",
                   rank, ThreadLevelName(provided));
      MPI_Abort(MPI_COMM_WORLD, 1);
    }
    MPI_Errhandler handler;
    MPI_Comm_create_errhandler(&AbortOnMpiError, &handler);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, handler);
    MPI_Errhandler_free(&handler);
    world_ = std::make_unique<MpiComm>();
    using_mpi_ = true;
  } else {
    world_ = MakeLocalComm();
  }
  g_world = world_.get();
  InitLogging(world_->rank(), world_->size());
  std::set_terminate(&TerminateHandler);
}

MpiSession::~MpiSession() {
  g_world = nullptr;
  world_.reset();
  if (!using_mpi_) return;
  // Every rank meets here before MPI_Finalize, so that a rank that ends
  // normally while another one fails waits in a barrier, which MPI_Abort
  // ends, rather than in MPI_Finalize: an abort racing a finalize sometimes
  // deadlocks Open MPI 4.1.4's mpirun in its PMIx shutdown after every rank
  // is gone (docs/cluster.md, "When something fails"). Polled with a sleep so
  // that a waiting rank leaves the cores to those still working.
  MPI_Request barrier = MPI_REQUEST_NULL;
  MPI_Ibarrier(MPI_COMM_WORLD, &barrier);
  WaitSleeping(&barrier, 1000);
  MPI_Finalize();
}

int ResolveThreadsPerRank(std::int64_t configured, const Comm& comm) {
  if (configured > 0) return static_cast<int>(configured);
  cpu_set_t mask;
  CPU_ZERO(&mask);
  int allowed = 1;
  if (sched_getaffinity(0, sizeof mask, &mask) == 0) allowed = CPU_COUNT(&mask);
  const long online = sysconf(_SC_NPROCESSORS_ONLN);
  if (online > 0 && allowed >= online) {
    // Not bound to a subset: share the node's cores among its ranks.
    allowed = std::max(1, allowed / std::max(1, comm.local_size()));
  }
  return std::max(1, allowed);
}

}  // namespace rnnsearch
