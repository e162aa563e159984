// The peak memory of this process, for progress lines and benchmarks.
#pragma once

namespace rnnsearch {

// This process's peak resident memory in MB (2^20 bytes): the high-water
// mark VmHWM of /proc/self/status; -1 where that is not available.
double PeakRssMb();

}  // namespace rnnsearch
