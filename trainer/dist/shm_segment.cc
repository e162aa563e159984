// POSIX shared-memory segments for the ranks of one node
// (trainer/dist/shm_segment.h).
#include "trainer/dist/shm_segment.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <random>
#include <stdexcept>

#include "common/log.h"

namespace rnnsearch {

ShmSegment::~ShmSegment() {
  if (base != MAP_FAILED) munmap(base, bytes);
}

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
std::string MapSegment(const std::string& name, bool create, ShmSegment& seg) {
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

std::shared_ptr<ShmSegment> ShmSegment::Create(Comm& comm, std::size_t floats, std::size_t count,
                                               std::size_t extra_doubles, std::size_t max_bytes,
                                               const std::string& what, std::string& reason) {
  const int rank = comm.rank();
  if (comm.local_size() != comm.size()) {
    throw std::logic_error("internal error: a shared-memory segment needs every rank on one node");
  }
  auto seg = std::make_shared<ShmSegment>();
  const std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE)) / sizeof(float);
  seg->floats = floats;
  seg->stride = (floats + page - 1) / page * page;
  seg->bytes = seg->stride * sizeof(float) * count + extra_doubles * sizeof(double);

  std::string name = rank == 0 ? SegmentName() : "";
  std::string error;
  if (rank == 0 && max_bytes != 0 && seg->bytes > max_bytes) {
    error = "a segment of " + std::to_string(seg->bytes) + " bytes for " + what +
            " exceeds the limit of " + std::to_string(max_bytes) + " bytes";
  } else if (rank == 0) {
    RemoveStaleSegments();
    error = MapSegment(name, true, *seg);
  }
  reason = error;  // rank 0's, or "" when it has the segment
  comm.BroadcastString(reason, 0);
  comm.BroadcastString(name, 0);
  if (rank != 0 && reason.empty()) error = MapSegment(name, false, *seg);
  std::int64_t failed = error.empty() ? 0 : 1;
  comm.Allreduce(&failed, 1, ReduceOp::kSum);  // also: every rank has tried
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

}  // namespace rnnsearch
