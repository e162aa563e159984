// Naive reference of ops/embedding.h, templated on the scalar type T.
#pragma once

#include <cstdint>

namespace rnnsearch::ops::ref {

// out: [n, dim] = table[ids[i]]; table: [vocab, dim].
template <class T>
void EmbeddingForward(T* out, const std::int32_t* ids, const T* table, std::int64_t n,
                      std::int64_t dim) {
  for (std::int64_t i = 0; i < n; ++i) {
    for (std::int64_t j = 0; j < dim; ++j) out[i * dim + j] = table[ids[i] * dim + j];
  }
}

// dtable[ids[i]] += dout[i] for ids[i] != 0 (<pad> gets no gradient).
template <class T>
void EmbeddingBackward(T* dtable, const T* dout, const std::int32_t* ids, std::int64_t n,
                       std::int64_t dim) {
  for (std::int64_t i = 0; i < n; ++i) {
    if (ids[i] == 0) continue;
    for (std::int64_t j = 0; j < dim; ++j) dtable[ids[i] * dim + j] += dout[i * dim + j];
  }
}

}  // namespace rnnsearch::ops::ref
