#include "ops/context.h"

#include <omp.h>

#include <cassert>

namespace rnnsearch::ops {

void SetComputeThreads(int threads) {
  assert(threads >= 1);
  omp_set_dynamic(0);
  omp_set_num_threads(threads);
}

Context::Context(int threads)
    : threads_(threads), engine_(dnnl::engine::kind::cpu, 0), stream_(engine_) {
  SetComputeThreads(threads);
}

dnnl::memory WrapMemory(Context& ctx, const float* data, const dnnl::memory::dims& dims,
                        dnnl::memory::format_tag tag) {
  return dnnl::memory({dims, dnnl::memory::data_type::f32, tag}, ctx.engine(),
                      const_cast<float*>(data));
}

}  // namespace rnnsearch::ops
