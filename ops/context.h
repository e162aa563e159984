// The compute context every op runs in: one oneDNN CPU engine and stream,
// and the number of threads, set once from the config
// (dist.threads_per_rank), never taken from the environment.
//
// Conventions for every op in ops/ (see docs/architecture.md):
// - buffers are plain row-major float arrays owned by the caller; shapes
//   are written beside each argument, e.g. `// src: [B, Tx, E]`;
// - `Forward(outputs..., inputs..., dims)`; `Backward(...)` *adds* into
//   gradient buffers (callers zero them once per step);
// - oneDNN primitives are created once per shape (in an op object's
//   constructor or a per-shape cache), never inside a time loop;
// - each op has a naive reference twin in plain loops (`*_ref.h`,
//   templated on the scalar type so tests can run it in double).
// Nothing in ops/ includes MPI, HDF5, YAML or Boost.
#pragma once

#include <dnnl.hpp>

namespace rnnsearch::ops {

class Context {
 public:
  // threads >= 1: the number of compute threads of this process.
  explicit Context(int threads);

  dnnl::engine& engine() { return engine_; }
  dnnl::stream& stream() { return stream_; }
  int threads() const { return threads_; }

 private:
  int threads_;
  dnnl::engine engine_;
  dnnl::stream stream_;
};

// Sets the number of threads oneDNN and the ops' own parallel loops use.
void SetComputeThreads(int threads);

// Wraps a caller-owned buffer as oneDNN memory (no copy).
dnnl::memory WrapMemory(Context& ctx, const float* data, const dnnl::memory::dims& dims,
                        dnnl::memory::format_tag tag);

}  // namespace rnnsearch::ops
