// Embedding: the row lookup out[n] = table[ids[n]] (docs/model.md, Forward 1)
// and its gradient, a scatter-add into the table's gradient in which rows
// whose id is <pad> (= 0) get no gradient. Reference twin:
// ops/embedding_ref.h.
//
// oneDNN 2.6 has no gather primitive, so both directions are plain OpenMP
// loops (memory-bound copies; no oneDNN call is needed). The gradient is
// parallel over embedding columns: every thread owns a column range and
// walks all n in order, so each element is accumulated in the same order
// as the serial loop. The result is bit-identical run to run and for any
// thread count, with no atomics.
#pragma once

#include <cstdint>

#include "ops/context.h"

namespace rnnsearch::ops {

class Embedding {
 public:
  // vocab rows of dim columns: table [vocab, dim].
  Embedding(Context& ctx, std::int64_t vocab, std::int64_t dim);

  std::int64_t vocab() const { return vocab_; }
  std::int64_t dim() const { return dim_; }

  // out: [n, dim] = table[ids[i]]; ids: [n], each in [0, vocab);
  // table: [vocab, dim]. <pad> rows get table[0] like any other id.
  void Forward(float* out, const std::int32_t* ids, const float* table, std::int64_t n) const;

  // dtable: [vocab, dim]: dtable[ids[i]] += dout[i] for every i with
  // ids[i] != 0; dout: [n, dim].
  void Backward(float* dtable, const float* dout, const std::int32_t* ids, std::int64_t n) const;

 private:
  int threads_;
  std::int64_t vocab_;
  std::int64_t dim_;
};

}  // namespace rnnsearch::ops
