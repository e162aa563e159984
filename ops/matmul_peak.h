// The machine's f32 matmul rate as oneDNN reaches it: the baseline that
// benchmarks divide their achieved GFLOP/s by (a ratio is stable on a
// shared, noisy machine where absolute figures drift).
#pragma once

#include <cstdint>

#include "ops/context.h"

namespace rnnsearch::ops {

struct MatmulRate {
  double gflops = 0;   // best of the timed repetitions
  double seconds = 0;  // time of that repetition
  std::int64_t n = 0;  // square size
};

// Times C = A B for n x n f32 matrices with oneDNN on the context's
// threads, repeating for at least `min_seconds` after one warm-up; FLOPs
// counted as 2 n^3 per product.
MatmulRate MeasureSquareMatmul(Context& ctx, std::int64_t n, double min_seconds);

}  // namespace rnnsearch::ops
