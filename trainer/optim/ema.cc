#include "trainer/optim/ema.h"

#include <cassert>

#include "trainer/optim/buffer_loops.h"

namespace rnnsearch {

Ema::Ema(double decay, const ParamSet& params) : decay_(decay), ema_(params) {
  assert(decay > 0.0 && decay < 1.0);
}

void Ema::Update(const ParamSet& params, buffer_loops::ChunkRange range) {
  assert(params.size() == ema_.size());
  const float d = static_cast<float>(decay_);
  const float c = static_cast<float>(1.0 - decay_);
  buffer_loops::ForChunks(ema_.size(), range, [&](std::size_t begin, std::size_t end) {
    float* __restrict e = ema_.data();
    const float* __restrict p = params.data();
#pragma omp simd
    for (std::size_t i = begin; i < end; ++i) e[i] = d * e[i] + c * p[i];
  });
}

StateRefs Ema::State() {
  StateRefs s;
  s.buffers.push_back({"ema", &ema_});
  return s;
}

}  // namespace rnnsearch
