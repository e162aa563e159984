#include "trainer/grad_sync_shm.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <random>
#include <stdexcept>
#include <vector>

#include "common/log.h"
#include "trainer/buffer_loops.h"

namespace rnnsearch {

// One mapping of the node's segment: `ranks` buffers of `stride` floats
// (a whole number of pages), rank k's at base + k * stride.
struct SharedMemoryGradSync::Segment {
  void* base = MAP_FAILED;
  std::size_t bytes = 0;
  std::size_t floats = 0;  // of one gradient buffer
  std::size_t stride = 0;
  std::vector<float*> buffers;

  ~Segment() {
    if (base != MAP_FAILED) munmap(base, bytes);
  }
};

namespace {

std::string Errno(const std::string& what) { return what + ": " + std::strerror(errno); }

std::string SegmentName() {
  std::random_device rd;
  return "/rnnsearch-grad-" + std::to_string(getpid()) + "-" + std::to_string(rd());
}

// Creates (rank 0) or opens the segment `name` of `bytes` bytes and maps it
// into `seg`; "" on success, else why not.
std::string MapSegment(const std::string& name, bool create, SharedMemoryGradSync::Segment& seg) {
  const int fd = create ? shm_open(name.c_str(), O_CREAT | O_EXCL | O_RDWR, 0600)
                        : shm_open(name.c_str(), O_RDWR, 0600);
  if (fd < 0) return Errno("shm_open " + name);
  std::string error;
  if (create) {
    // Reserves the memory now: a /dev/shm too small for it fails here
    // instead of killing the job with SIGBUS at the first touch.
    const int rc = posix_fallocate(fd, 0, static_cast<off_t>(seg.bytes));
    if (rc != 0) {
      error = "reserving " + std::to_string(seg.bytes >> 20) + " MB in /dev/shm (" + name +
              "): " + std::strerror(rc);
    }
  }
  if (error.empty()) {
    seg.base = mmap(nullptr, seg.bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (seg.base == MAP_FAILED) error = Errno("mmap of " + name);
  }
  close(fd);
  if (create && !error.empty()) shm_unlink(name.c_str());
  return error;
}

}  // namespace

SharedMemoryGradSync::SharedMemoryGradSync(Comm& comm, std::size_t max_segment_bytes)
    : comm_(comm), max_segment_bytes_(max_segment_bytes) {}

SharedMemoryGradSync::~SharedMemoryGradSync() = default;

void SharedMemoryGradSync::Create(std::size_t floats) {
  const int n = comm_.size(), rank = comm_.rank();
  if (comm_.local_size() != n) {
    throw std::logic_error("internal error: the shared-memory gradient sync needs every rank on "
                           "one node");
  }
  auto seg = std::make_shared<Segment>();
  const std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE)) / sizeof(float);
  seg->floats = floats;
  seg->stride = (floats + page - 1) / page * page;
  seg->bytes = seg->stride * sizeof(float) * static_cast<std::size_t>(n);

  std::string name = rank == 0 ? SegmentName() : "";
  std::string error;
  if (rank == 0 && max_segment_bytes_ != 0 && seg->bytes > max_segment_bytes_) {
    error = "a segment of " + std::to_string(seg->bytes) + " bytes for " + std::to_string(n) +
            " gradient buffers exceeds the limit of " + std::to_string(max_segment_bytes_) +
            " bytes";
  } else if (rank == 0) {
    error = MapSegment(name, true, *seg);
  }
  std::string reason = error;  // rank 0's, or "" when it has the segment
  comm_.BroadcastString(reason, 0);
  comm_.BroadcastString(name, 0);
  if (rank != 0 && reason.empty()) error = MapSegment(name, false, *seg);
  std::int64_t failed = error.empty() ? 0 : 1;
  comm_.Allreduce(&failed, 1, ReduceOp::kSum);  // also: every rank has tried
  if (rank == 0 && reason.empty()) shm_unlink(name.c_str());
  if (failed != 0) {
    fallback_reason_ = reason.empty() ? std::to_string(failed) + " rank(s) could not map " + name
                                      : reason;
    if (!error.empty() || rank == 0) {
      RNN_LOG(kWarn) << "gradient sync: no shared-memory segment ("
                     << (error.empty() ? fallback_reason_ : error)
                     << "); all ranks use one blocking MPI allreduce of the whole gradient instead";
    }
    fallback_ = MakeAllreduceGradSync(comm_);
    return;
  }
  for (int k = 0; k < n; ++k) {
    seg->buffers.push_back(static_cast<float*>(seg->base) + seg->stride * static_cast<std::size_t>(k));
  }
  segment_ = std::move(seg);
}

void SharedMemoryGradSync::Adopt(ParamSet& grads) {
  if (segment_ == nullptr && fallback_ == nullptr) Create(grads.size());
  if (fallback_ != nullptr) return;
  float* mine = segment_->buffers[static_cast<std::size_t>(comm_.rank())];
  if (grads.data() == mine) return;
  if (grads.size() != segment_->floats) {
    throw std::logic_error("internal error: the shared-memory gradient sync was set up for " +
                           std::to_string(segment_->floats) + " floats, got a buffer of " +
                           std::to_string(grads.size()));
  }
  grads.MoveTo(mine, segment_);
}

GradReadyFn SharedMemoryGradSync::BeginLastBackward(ParamSet& grads) {
  Adopt(grads);
  return fallback_ != nullptr ? fallback_->BeginLastBackward(grads) : GradReadyFn{};
}

void SharedMemoryGradSync::ReduceSlice() {
  const std::vector<float*>& b = segment_->buffers;
  const std::size_t n = b.size(), rank = static_cast<std::size_t>(comm_.rank());
  // Whole chunks per rank, so that the split does not depend on threads.
  const std::int64_t chunks = buffer_loops::NumChunks(segment_->floats);
  const std::int64_t first = chunks * static_cast<std::int64_t>(rank) / static_cast<std::int64_t>(n);
  const std::int64_t last = chunks * static_cast<std::int64_t>(rank + 1) / static_cast<std::int64_t>(n);
  const std::size_t total = segment_->floats;
#pragma omp parallel for schedule(static)
  for (std::int64_t c = first; c < last; ++c) {
    const std::size_t begin = static_cast<std::size_t>(c) * buffer_loops::kChunk;
    const std::size_t end = std::min(total, begin + buffer_loops::kChunk);
    float* __restrict sum = b[0];
    for (std::size_t k = 1; k < n; ++k) {
      const float* __restrict x = b[k];
#pragma omp simd
      for (std::size_t i = begin; i < end; ++i) sum[i] += x[i];
    }
    for (std::size_t k = 1; k < n; ++k) {
      std::memcpy(b[k] + begin, sum + begin, (end - begin) * sizeof(float));
    }
  }
}

void SharedMemoryGradSync::Finish(ParamSet& grads, StepTotals& totals) {
  Adopt(grads);
  if (fallback_ != nullptr) return fallback_->Finish(grads, totals);
  // Every rank's backward pass has ended: its buffer is final.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  comm_.Barrier();
  std::atomic_thread_fence(std::memory_order_seq_cst);
  ReduceSlice();
  std::atomic_thread_fence(std::memory_order_seq_cst);
  // No rank leaves this before every rank has entered it, that is, has
  // summed its slice.
  AllreduceTotals(comm_, totals);
  std::atomic_thread_fence(std::memory_order_seq_cst);
}

}  // namespace rnnsearch
