#include "trainer/dist/grad_sync_shm.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <random>
#include <stdexcept>
#include <vector>

#include "common/log.h"
#include "trainer/optim/buffer_loops.h"
#include "trainer/optim/optimizer.h"

namespace rnnsearch {

// One mapping of a node segment: buffers of `floats` floats, `stride`
// apart (a whole number of pages), buffer k at base + k * stride, then
// `extra` doubles.
struct SharedMemoryGradSync::Segment {
  void* base = MAP_FAILED;
  std::size_t bytes = 0;
  std::size_t floats = 0;  // of one gradient buffer
  std::size_t stride = 0;
  std::vector<float*> buffers;
  double* extra = nullptr;  // after the buffers

  ~Segment() {
    if (base != MAP_FAILED) munmap(base, bytes);
  }
};

namespace {

std::string Errno(const std::string& what) { return what + ": " + std::strerror(errno); }

constexpr char kSegmentPrefix[] = "rnnsearch-grad-";

std::string SegmentName() {
  std::random_device rd;
  return "/" + std::string(kSegmentPrefix) + std::to_string(getpid()) + "-" + std::to_string(rd());
}

// A segment keeps its name in /dev/shm only while its job's ranks open it
// (milliseconds): a job killed then leaves it behind, and its memory stays
// taken until a reboot. Rank 0 removes such names before it creates its
// own: this user's, older than a minute, whose creator (the PID in the
// name) is gone. A live job's name, even one from another PID namespace
// sharing /dev/shm, is unlinked long before it is a minute old.
void RemoveStaleSegments() {
  DIR* dir = opendir("/dev/shm");
  if (dir == nullptr) return;
  const std::size_t prefix = std::strlen(kSegmentPrefix);
  while (const dirent* e = readdir(dir)) {
    if (std::strncmp(e->d_name, kSegmentPrefix, prefix) != 0) continue;
    char* end = nullptr;
    const long pid = std::strtol(e->d_name + prefix, &end, 10);
    if (pid <= 0 || *end != '-') continue;
    if (kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH) continue;  // alive, or not ours
    struct stat st {};
    if (fstatat(dirfd(dir), e->d_name, &st, 0) != 0 || st.st_uid != geteuid() ||
        std::time(nullptr) - st.st_mtime < 60) {
      continue;
    }
    const std::string name = std::string("/") + e->d_name;
    if (shm_unlink(name.c_str()) == 0) {
      RNN_LOG(kInfo) << "gradient sync: removed /dev/shm" << name << " (" << (st.st_size >> 20)
                     << " MB), left behind by a job that was killed "
                     << "(its process " << pid << " is gone)";
    }
  }
  closedir(dir);
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

std::shared_ptr<SharedMemoryGradSync::Segment> SharedMemoryGradSync::NewSegment(
    std::size_t floats, std::size_t count, std::size_t extra_doubles, const std::string& what,
    std::string& reason) {
  const int rank = comm_.rank();
  if (comm_.local_size() != comm_.size()) {
    throw std::logic_error(
        "internal error: the shared-memory gradient sync needs every rank on "
        "one node");
  }
  auto seg = std::make_shared<Segment>();
  const std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE)) / sizeof(float);
  seg->floats = floats;
  seg->stride = (floats + page - 1) / page * page;
  seg->bytes = seg->stride * sizeof(float) * count + extra_doubles * sizeof(double);

  std::string name = rank == 0 ? SegmentName() : "";
  std::string error;
  if (rank == 0 && max_segment_bytes_ != 0 && seg->bytes > max_segment_bytes_) {
    error = "a segment of " + std::to_string(seg->bytes) + " bytes for " + what +
            " exceeds the limit of " + std::to_string(max_segment_bytes_) + " bytes";
  } else if (rank == 0) {
    RemoveStaleSegments();
    error = MapSegment(name, true, *seg);
  }
  reason = error;  // rank 0's, or "" when it has the segment
  comm_.BroadcastString(reason, 0);
  comm_.BroadcastString(name, 0);
  if (rank != 0 && reason.empty()) error = MapSegment(name, false, *seg);
  std::int64_t failed = error.empty() ? 0 : 1;
  comm_.Allreduce(&failed, 1, ReduceOp::kSum);  // also: every rank has tried
  if (rank == 0 && reason.empty()) shm_unlink(name.c_str());
  if (failed != 0) {
    if (reason.empty()) reason = std::to_string(failed) + " rank(s) could not map " + name;
    if (!error.empty() || rank == 0) {
      RNN_LOG(kWarn) << "gradient sync: no shared-memory segment for " << what << " ("
                     << (error.empty() ? reason : error)
                     << "); give /dev/shm more room (Docker: --shm-size) or set "
                        "dist.shared_memory: false";
    }
    return nullptr;
  }
  for (std::size_t k = 0; k < count; ++k) {
    seg->buffers.push_back(static_cast<float*>(seg->base) + seg->stride * k);
  }
  seg->extra = reinterpret_cast<double*>(static_cast<float*>(seg->base) + seg->stride * count);
  return seg;
}

void SharedMemoryGradSync::Create(std::size_t floats) {
  const int n = comm_.size();
  grads_ = NewSegment(floats, static_cast<std::size_t>(n), 0,
                      "the " + std::to_string(n) + " gradient buffers", fallback_reason_);
  if (grads_ == nullptr) {
    if (comm_.rank() == 0) {
      RNN_LOG(kWarn) << "gradient sync: all ranks use one blocking MPI allreduce of the whole "
                        "gradient instead";
    }
    fallback_ = MakeAllreduceGradSync(comm_);
    return;
  }
  const std::int64_t chunks = buffer_loops::NumChunks(floats);
  first_chunk_ = chunks * comm_.rank() / n;
  last_chunk_ = chunks * (comm_.rank() + 1) / n;
}

void SharedMemoryGradSync::Adopt(ParamSet& grads) {
  if (grads_ == nullptr && fallback_ == nullptr) Create(grads.size());
  if (fallback_ != nullptr) return;
  float* mine = grads_->buffers[static_cast<std::size_t>(comm_.rank())];
  if (grads.data() == mine) return;
  if (grads.size() != grads_->floats) {
    throw std::logic_error("internal error: the shared-memory gradient sync was set up for " +
                           std::to_string(grads_->floats) + " floats, got a buffer of " +
                           std::to_string(grads.size()));
  }
  grads.MoveTo(mine, grads_);
}

bool SharedMemoryGradSync::ShareState(const std::vector<ParamSet*>& buffers) {
  if (buffers.empty() || state_ != nullptr) return state_ != nullptr;
  const std::size_t floats = buffers.front()->size();
  for (const ParamSet* b : buffers) {
    if (b->size() != floats) {
      throw std::logic_error("internal error: ShareState got buffers of different sizes");
    }
  }
  if (grads_ == nullptr && fallback_ == nullptr) Create(floats);
  if (fallback_ != nullptr) return false;
  std::string reason;
  auto seg =
      NewSegment(floats, buffers.size(), static_cast<std::size_t>(buffer_loops::NumChunks(floats)),
                 "the shared training state", reason);
  if (seg == nullptr) {
    if (comm_.rank() == 0) {
      RNN_LOG(kWarn) << "gradient sync: every rank keeps and updates its own copy of the "
                        "parameters and the optimizer's state instead";
    }
    return false;
  }
  if (comm_.rank() == 0) {
    for (std::size_t k = 0; k < buffers.size(); ++k) buffers[k]->MoveTo(seg->buffers[k], seg);
  }
  std::atomic_thread_fence(std::memory_order_seq_cst);
  comm_.Barrier();
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (comm_.rank() != 0) {
    for (std::size_t k = 0; k < buffers.size(); ++k) {
      buffers[k]->MoveTo(seg->buffers[k], seg, /*copy=*/false);
    }
  }
  state_ = std::move(seg);
  if (comm_.rank() == 0) {
    RNN_LOG(kInfo) << "gradient sync: the parameters and the optimizer's state (" << buffers.size()
                   << " buffers of " << (floats * sizeof(float)) / 1048576.0
                   << " MB) are one copy in shared memory; each of the " << comm_.size()
                   << " ranks sums and updates 1/" << comm_.size() << " of them";
  }
  return true;
}

GradReadyFn SharedMemoryGradSync::BeginLastBackward(ParamSet& grads) {
  Adopt(grads);
  return fallback_ != nullptr ? fallback_->BeginLastBackward(grads) : GradReadyFn{};
}

void SharedMemoryGradSync::ReduceSlice() {
  const std::vector<float*>& b = grads_->buffers;
  const std::size_t n = b.size(), total = grads_->floats;
  float* const own = b[static_cast<std::size_t>(comm_.rank())];
  double* const partial = state_ != nullptr ? state_->extra : nullptr;
#pragma omp parallel
  {
    std::vector<float> tmp(n > 2 ? buffer_loops::kChunk : 0);
#pragma omp for schedule(static)
    for (std::int64_t c = first_chunk_; c < last_chunk_; ++c) {
      const std::size_t begin = static_cast<std::size_t>(c) * buffer_loops::kChunk;
      const std::size_t len = std::min(total, begin + buffer_loops::kChunk) - begin;
      // own[begin, +len) = ((b_0 + b_1) + b_2) + ...: in place for 2 ranks
      // (b_0 + b_1 is b_1 + b_0), through a chunk of scratch for more.
      if (n == 2) {
        const float* __restrict x0 = b[0] + begin;
        const float* __restrict x1 = b[1] + begin;
        float* __restrict y = own + begin;
#pragma omp simd
        for (std::size_t i = 0; i < len; ++i) y[i] = x0[i] + x1[i];
      } else if (n > 2) {
        float* __restrict y = tmp.data();
        std::memcpy(y, b[0] + begin, len * sizeof(float));
        for (std::size_t k = 1; k < n; ++k) {
          const float* __restrict x = b[k] + begin;
#pragma omp simd
          for (std::size_t i = 0; i < len; ++i) y[i] += x[i];
        }
        std::memcpy(own + begin, y, len * sizeof(float));
      }
      if (partial != nullptr) {
        // Only this rank's buffer gets the sum: the update reads it there.
        partial[c] = ChunkSumOfSquares(own, begin, begin + len);
      } else {
        for (float* other : b) {
          if (other != own) std::memcpy(other + begin, own + begin, len * sizeof(float));
        }
      }
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
  if (state_ != nullptr) {
    // SumOfSquares' order: chunk by chunk.
    const std::int64_t chunks = buffer_loops::NumChunks(grads_->floats);
    double s = 0.0;
    for (std::int64_t c = 0; c < chunks; ++c) s += state_->extra[c];
    sum_of_squares_ = s;
  }
}

UpdatePart SharedMemoryGradSync::Part() const {
  if (state_ == nullptr) return {};
  UpdatePart part;
  part.range = {first_chunk_, last_chunk_};
  part.grad_sum_of_squares = sum_of_squares_;
  return part;
}

void SharedMemoryGradSync::EndUpdate() {
  if (state_ == nullptr) return;
  std::atomic_thread_fence(std::memory_order_seq_cst);
  comm_.Barrier();
  std::atomic_thread_fence(std::memory_order_seq_cst);
}

}  // namespace rnnsearch
