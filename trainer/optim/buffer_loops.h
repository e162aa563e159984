// Element-wise loops over a whole flat buffer, split into fixed chunks
// that OpenMP threads take in a static schedule. The chunk boundaries do
// not depend on the number of threads, so a loop whose chunks are
// independent (every element-wise update, the per-chunk partial sums of
// SumOfSquares) gives the same bits for any thread count.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>

namespace rnnsearch::buffer_loops {

// Floats per chunk: 64 KiB, large enough to amortise the scheduling and
// small enough to balance two or more threads on small models.
inline constexpr std::size_t kChunk = 16384;

inline std::int64_t NumChunks(std::size_t n) {
  return static_cast<std::int64_t>((n + kChunk - 1) / kChunk);
}

// A run of whole chunks [first, last) of a buffer (last < 0: to the end):
// the share of an element-wise update one rank computes when the ranks of
// a node share the buffers (trainer/dist/grad_sync_shm.h).
struct ChunkRange {
  std::int64_t first = 0, last = -1;
  bool whole() const { return first == 0 && last < 0; }
};

// Calls fn(begin, end) once per chunk of [0, n) in `range`, chunks spread
// over threads.
template <typename Fn>
void ForChunks(std::size_t n, ChunkRange range, const Fn& fn) {
  const std::int64_t chunks = NumChunks(n);
  const std::int64_t last = range.last < 0 ? chunks : std::min(chunks, range.last);
#pragma omp parallel for schedule(static)
  for (std::int64_t c = range.first; c < last; ++c) {
    const std::size_t begin = static_cast<std::size_t>(c) * kChunk;
    fn(begin, std::min(n, begin + kChunk));
  }
}

// Calls fn(begin, end) once per chunk of [0, n), chunks spread over threads.
template <typename Fn>
void ForChunks(std::size_t n, const Fn& fn) {
  ForChunks(n, ChunkRange{}, fn);
}

}  // namespace rnnsearch::buffer_loops
