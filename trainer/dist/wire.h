// How gradients travel between ranks through the communicator
// (dist.wire_dtype), for the GradSync implementations that use MPI.
#pragma once

#include <atomic>
#include <cstddef>

#include "common/comm.h"
#include "common/config.h"

namespace rnnsearch {

// Sums `count` floats at `data` over `comm` in place as dist.wire_dtype
// says: Comm::AllreducePolled in f32, Comm::AllreduceSumBf16 in bf16
// (poll_us and hurry as for AllreducePolled).
inline void AllreduceGradients(Comm& comm, WireDtype wire, float* data, std::size_t count,
                               int poll_us = 0, const std::atomic<bool>* hurry = nullptr) {
  if (wire == WireDtype::kBf16) return comm.AllreduceSumBf16(data, count, poll_us, hurry);
  comm.AllreducePolled(data, count, ReduceOp::kSum, poll_us, hurry);
}

}  // namespace rnnsearch
