// The one clock of the program for durations: seconds of the steady
// (monotonic) clock, unaffected by changes of the wall-clock time.
#pragma once

#include <chrono>

namespace rnnsearch {

// Seconds since a fixed, unspecified point: only differences mean anything.
inline double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace rnnsearch
