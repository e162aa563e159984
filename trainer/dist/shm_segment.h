// A POSIX shared-memory segment that every rank of one node maps: rank 0
// creates it in /dev/shm (with a unique name, its memory reserved at once),
// the others open it, and its name is unlinked as soon as all have mapped
// it, so nothing is left behind when the job ends. A job killed in those
// milliseconds leaves its name behind; rank 0 removes such names (this
// user's, older than a minute, their creator's PID gone) before it
// creates one. The gradient syncs of trainer/dist/ keep their buffers here.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "common/comm.h"

namespace rnnsearch {

// One mapping: `count` buffers of `floats` floats, `stride` floats apart (a
// whole number of pages), buffer k at base + k * stride, then `extra`
// doubles.
struct ShmSegment {
  void* base = reinterpret_cast<void*>(-1);  // MAP_FAILED until mapped
  std::size_t bytes = 0;
  std::size_t floats = 0;  // of one buffer
  std::size_t stride = 0;
  std::vector<float*> buffers;
  double* extra = nullptr;  // after the buffers

  ShmSegment() = default;
  ShmSegment(const ShmSegment&) = delete;
  ShmSegment& operator=(const ShmSegment&) = delete;
  ~ShmSegment();

  // Collective over `comm`, whose ranks must all run on this node: a
  // segment of `count` buffers of `floats` floats and `extra_doubles`
  // doubles after them. Null on every rank, with `reason`, when it is
  // larger than `max_bytes` (0: no limit but /dev/shm's room) or some rank
  // could not map it (each such rank logs why, naming `what`).
  static std::shared_ptr<ShmSegment> Create(Comm& comm, std::size_t floats, std::size_t count,
                                            std::size_t extra_doubles, std::size_t max_bytes,
                                            const std::string& what, std::string& reason);
};

}  // namespace rnnsearch
