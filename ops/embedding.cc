#include "ops/embedding.h"

#include <omp.h>

#include <algorithm>
#include <cassert>
#include <cstring>

namespace rnnsearch::ops {

Embedding::Embedding(Context& ctx, std::int64_t vocab, std::int64_t dim)
    : threads_(ctx.threads()), vocab_(vocab), dim_(dim) {
  assert(vocab >= 1 && dim >= 1);
}

void Embedding::Forward(float* out, const std::int32_t* ids, const float* table,
                        std::int64_t n) const {
  const std::size_t row_bytes = static_cast<std::size_t>(dim_) * sizeof(float);
#pragma omp parallel for schedule(static) num_threads(threads_)
  for (std::int64_t i = 0; i < n; ++i) {
    assert(ids[i] >= 0 && ids[i] < vocab_);
    std::memcpy(out + i * dim_, table + static_cast<std::int64_t>(ids[i]) * dim_, row_bytes);
  }
}

void Embedding::Backward(float* dtable, const float* dout, const std::int32_t* ids,
                         std::int64_t n) const {
  // Column ranges in whole 64-byte cache lines, so threads never share one
  // (when dtable is 64-byte aligned and dim a multiple of 16).
  constexpr std::int64_t kLine = 16;
  const std::int64_t lines = (dim_ + kLine - 1) / kLine;
  const int threads = static_cast<int>(std::min<std::int64_t>(threads_, lines));
#pragma omp parallel num_threads(threads)
  {
    const std::int64_t t = omp_get_thread_num();
    const std::int64_t nt = omp_get_num_threads();
    const std::int64_t j0 = std::min(dim_, lines * t / nt * kLine);
    const std::int64_t j1 = std::min(dim_, lines * (t + 1) / nt * kLine);
    for (std::int64_t i = 0; i < n; ++i) {
      const std::int32_t id = ids[i];
      assert(id >= 0 && id < vocab_);
      if (id == 0) continue;
      float* dst = dtable + static_cast<std::int64_t>(id) * dim_;
      const float* src = dout + i * dim_;
#pragma omp simd
      for (std::int64_t j = j0; j < j1; ++j) dst[j] += src[j];
    }
  }
}

}  // namespace rnnsearch::ops
