// A oneDNN f32 matmul over strided 2-D views of caller memory:
//
//   dst[M, N] (+)= src[M, K] · wei[K, N] (+ bias[N])
//
// Every operand is a view given by its row and column strides (in
// elements), so a column block of a weight (e.g. decoder.cell.weight_ih's
// c columns) or a transposed operand (W^T for y = x W^T, dY^T for dW) is
// passed without a copy. With `accumulate` the product is added to what
// dst holds (oneDNN's sum post-op), which is how backward passes add into
// gradient buffers. The primitive is created once in the constructor;
// `Run` only swaps data pointers. With `runtime_rows` M is given at each
// Run (at most the M of the constructor) by one primitive created with
// DNNL_RUNTIME_DIM_VAL, for beam search whose batch shrinks step by step.
#pragma once

#include <cstdint>
#include <dnnl.hpp>
#include <unordered_map>

#include "ops/context.h"

namespace rnnsearch::ops {

// Strides of a 2-D view, in elements: element (r, c) is at r * row + c * col.
struct Strides {
  std::int64_t row;
  std::int64_t col;
};
// A row-major [rows, cols] block with leading dimension ld (>= cols).
inline Strides RowMajor(std::int64_t ld) { return {ld, 1}; }
// The transpose of a row-major block with leading dimension ld: the
// [rows, cols] view of a stored [cols, rows] matrix (e.g. W^T of W [N, K]).
inline Strides Transposed(std::int64_t ld) { return {1, ld}; }

class MatmulView {
 public:
  MatmulView() = default;
  // m, k, n: the product's dimensions (m is the maximum with runtime_rows).
  MatmulView(Context& ctx, std::int64_t m, std::int64_t k, std::int64_t n, Strides src, Strides wei,
             Strides dst, bool bias, bool accumulate, bool runtime_rows = false);

  // dst: [m, n] view; src: [m, k] view; wei: [k, n] view; bias: [n] or
  // null when constructed without bias. rows: the actual M with
  // runtime_rows (1 <= rows <= m), ignored otherwise.
  void Run(float* dst, const float* src, const float* wei, const float* bias = nullptr,
           std::int64_t rows = -1);

 private:
  Context* ctx_ = nullptr;
  bool runtime_rows_ = false;
  std::int64_t m_ = 0, k_ = 0, n_ = 0;
  Strides src_{}, dst_{};
  dnnl::memory::desc wei_md_;
  dnnl::matmul prim_;
  dnnl::memory src_mem_, wei_mem_, dst_mem_, bias_mem_;
  std::unordered_map<int, dnnl::memory> args_;
};

}  // namespace rnnsearch::ops
