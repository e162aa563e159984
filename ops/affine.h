// Affine: y[rows, out] = x[rows, in] . W^T + b, with W in PyTorch's layout
// [out, in], on oneDNN matmul (reference twin: ops/affine_ref.h).
//
// Every operand may be a strided view: x, W and y are row-major with row
// strides ldx, ldw and ldy (>= their widths), so a column block of a bigger
// weight (e.g. the y~ or the c columns of decoder.cell.weight_ih
// [3Hd, E + 2He]) or of a bigger activation is used in place, never copied.
// Gradients have the layout of what they are the gradient of (dx like x, dW
// like W, dy like y).
//
// The row count is a run-time argument (oneDNN runtime dims): one Affine
// serves every batch shape; its primitives are created once, in the
// constructor.
//
//   Forward    y  = act(x . W^T + b)
//   ForwardAdd y  = act(y + x . W^T + b)   (a sum of several products)
//   Backward   dx += scale * dy . W        (if dx)
//              dW += scale * dy^T . x
//              db += scale * sum over rows of dy   (if db)
// `b` is used iff shape.bias. `act` is the identity or tanh
// (shape.activation); Backward takes the gradient of the pre-activation
// (for tanh: dy_pre = dy * (1 - y^2), which the caller forms).
#pragma once

#include <cstdint>
#include <dnnl.hpp>

#include "ops/context.h"

namespace rnnsearch::ops {

enum class Activation { kIdentity, kTanh };

struct AffineShape {
  std::int64_t in = 0;                            // columns of x and of W
  std::int64_t out = 0;                           // rows of W, columns of y
  std::int64_t ldx = 0;                           // row stride of x and dx; 0 means `in`
  std::int64_t ldw = 0;                           // row stride of W and dW; 0 means `in`
  std::int64_t ldy = 0;                           // row stride of y and dy; 0 means `out`
  bool bias = true;                               // y gets + b, b: [out]
  Activation activation = Activation::kIdentity;  // forward only
};

class Affine {
 public:
  Affine(Context& ctx, const AffineShape& shape);

  const AffineShape& shape() const { return shape_; }

  // y: [rows, out] (stride ldy) = act(x: [rows, in] (stride ldx) . w^T + b);
  // w: [out, in] (stride ldw); b: [out] or nullptr when !shape.bias.
  void Forward(float* y, const float* x, const float* w, const float* b, std::int64_t rows);

  // y: [rows, out] = act(y + x . w^T + b): accumulates into y.
  void ForwardAdd(float* y, const float* x, const float* w, const float* b, std::int64_t rows);

  // Adds the gradients for dy: [rows, out] (stride ldy), times `scale`:
  // dx: [rows, in] (stride ldx) or nullptr; dw: [out, in] (stride ldw);
  // db: [out] or nullptr. x and w are the forward inputs.
  void Backward(float* dx, float* dw, float* db, const float* dy, const float* x, const float* w,
                std::int64_t rows, float scale = 1.0f);

 private:
  void RunForward(dnnl::matmul& prim, float* y, const float* x, const float* w, const float* b,
                  std::int64_t rows);

  Context& ctx_;
  AffineShape shape_;
  dnnl::matmul fwd_;      // y = act(x W^T + b)
  dnnl::matmul fwd_add_;  // y = act(y + x W^T + b)
  dnnl::matmul bwd_x_;    // dx += scale dy W
  dnnl::matmul bwd_w_;    // dW += scale dy^T x
};

// db: [cols] += scale * sum over rows of a: [rows, cols] (row stride lda),
// parallel over columns; each column is summed in row order, so the result
// does not depend on the thread count.
void AddColumnSums(float* db, const float* a, std::int64_t rows, std::int64_t cols,
                   std::int64_t lda, float scale);

}  // namespace rnnsearch::ops
