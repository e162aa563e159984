#include "ops/affine.h"

#include <algorithm>
#include <cassert>
#include <unordered_map>

namespace rnnsearch::ops {

namespace {

using dnnl::memory;
using Dims = memory::dims;

constexpr memory::dim kRuntime = DNNL_RUNTIME_DIM_VAL;

memory::desc F32(const Dims& dims, const Dims& strides) {
  return memory::desc(dims, memory::data_type::f32, strides);
}

memory Wrap(Context& ctx, const float* data, const Dims& dims, const Dims& strides) {
  return memory(F32(dims, strides), ctx.engine(), const_cast<float*>(data));
}

dnnl::matmul MakeMatmul(Context& ctx, const memory::desc& src, const memory::desc& wei,
                        const memory::desc* bias, const memory::desc& dst,
                        const dnnl::primitive_attr& attr) {
  const dnnl::matmul::desc desc =
      bias ? dnnl::matmul::desc(src, wei, *bias, dst) : dnnl::matmul::desc(src, wei, dst);
  return dnnl::matmul(dnnl::matmul::primitive_desc(desc, attr, ctx.engine()));
}

// Runtime output scale (the gradient scale) and accumulation into dst.
dnnl::primitive_attr ScaledSumAttr() {
  dnnl::primitive_attr attr;
  attr.set_output_scales(0, {DNNL_RUNTIME_F32_VAL});
  dnnl::post_ops ops;
  ops.append_sum(1.0f);
  attr.set_post_ops(ops);
  return attr;
}

dnnl::primitive_attr ForwardAttr(bool accumulate, Activation act) {
  dnnl::post_ops ops;
  if (accumulate) ops.append_sum(1.0f);
  if (act == Activation::kTanh) ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_tanh, 0.f, 0.f);
  dnnl::primitive_attr attr;
  attr.set_post_ops(ops);
  return attr;
}

AffineShape Resolved(AffineShape s) {
  if (s.ldx == 0) s.ldx = s.in;
  if (s.ldw == 0) s.ldw = s.in;
  if (s.ldy == 0) s.ldy = s.out;
  assert(s.in >= 1 && s.out >= 1);
  assert(s.ldx >= s.in && s.ldw >= s.in && s.ldy >= s.out);
  return s;
}

}  // namespace

void AddColumnSums(float* db, const float* a, std::int64_t rows, std::int64_t cols,
                   std::int64_t lda, float scale) {
  constexpr std::int64_t kBlock = 64;
  const std::int64_t blocks = (cols + kBlock - 1) / kBlock;
#pragma omp parallel for schedule(static)
  for (std::int64_t blk = 0; blk < blocks; ++blk) {
    const std::int64_t j0 = blk * kBlock;
    const std::int64_t n = std::min(kBlock, cols - j0);
    float acc[kBlock] = {};
    for (std::int64_t r = 0; r < rows; ++r) {
      const float* row = a + r * lda + j0;
#pragma omp simd
      for (std::int64_t j = 0; j < n; ++j) acc[j] += row[j];
    }
    for (std::int64_t j = 0; j < n; ++j) db[j0 + j] += scale * acc[j];
  }
}

Affine::Affine(Context& ctx, const AffineShape& shape) : ctx_(ctx), shape_(Resolved(shape)) {
  const AffineShape& s = shape_;
  const memory::desc x_md = F32({kRuntime, s.in}, {s.ldx, 1});    // x, dx: [rows, in]
  const memory::desc wt_md = F32({s.in, s.out}, {1, s.ldw});      // W^T: [in, out]
  const memory::desc w_md = F32({s.out, s.in}, {s.ldw, 1});       // W, dW: [out, in]
  const memory::desc y_md = F32({kRuntime, s.out}, {s.ldy, 1});   // y, dy: [rows, out]
  const memory::desc yt_md = F32({s.out, kRuntime}, {1, s.ldy});  // dy^T: [out, rows]
  const memory::desc b_md = F32({1, s.out}, {s.out, 1});          // b: [1, out]
  const memory::desc* bias = s.bias ? &b_md : nullptr;

  fwd_ = MakeMatmul(ctx, x_md, wt_md, bias, y_md, ForwardAttr(false, s.activation));
  fwd_add_ = MakeMatmul(ctx, x_md, wt_md, bias, y_md, ForwardAttr(true, s.activation));
  bwd_x_ = MakeMatmul(ctx, y_md, w_md, nullptr, x_md, ScaledSumAttr());
  bwd_w_ = MakeMatmul(ctx, yt_md, x_md, nullptr, w_md, ScaledSumAttr());
}

void Affine::RunForward(dnnl::matmul& prim, float* y, const float* x, const float* w,
                        const float* b, std::int64_t rows) {
  const AffineShape& s = shape_;
  assert((b != nullptr) == s.bias);
  if (rows == 0) return;
  std::unordered_map<int, memory> args = {
      {DNNL_ARG_SRC, Wrap(ctx_, x, {rows, s.in}, {s.ldx, 1})},
      {DNNL_ARG_WEIGHTS, Wrap(ctx_, w, {s.in, s.out}, {1, s.ldw})},
      {DNNL_ARG_DST, Wrap(ctx_, y, {rows, s.out}, {s.ldy, 1})},
  };
  if (s.bias) args.emplace(DNNL_ARG_BIAS, Wrap(ctx_, b, {1, s.out}, {s.out, 1}));
  prim.execute(ctx_.stream(), args);
  ctx_.stream().wait();
}

void Affine::Forward(float* y, const float* x, const float* w, const float* b, std::int64_t rows) {
  RunForward(fwd_, y, x, w, b, rows);
}

void Affine::ForwardAdd(float* y, const float* x, const float* w, const float* b,
                        std::int64_t rows) {
  RunForward(fwd_add_, y, x, w, b, rows);
}

void Affine::Backward(float* dx, float* dw, float* db, const float* dy, const float* x,
                      const float* w, std::int64_t rows, float scale) {
  const AffineShape& s = shape_;
  if (rows == 0) return;
  memory scale_mem({{1}, memory::data_type::f32, memory::format_tag::x}, ctx_.engine(), &scale);
  if (dx != nullptr) {
    bwd_x_.execute(ctx_.stream(), {{DNNL_ARG_SRC, Wrap(ctx_, dy, {rows, s.out}, {s.ldy, 1})},
                                   {DNNL_ARG_WEIGHTS, Wrap(ctx_, w, {s.out, s.in}, {s.ldw, 1})},
                                   {DNNL_ARG_DST, Wrap(ctx_, dx, {rows, s.in}, {s.ldx, 1})},
                                   {DNNL_ARG_ATTR_OUTPUT_SCALES, scale_mem}});
  }
  bwd_w_.execute(ctx_.stream(), {{DNNL_ARG_SRC, Wrap(ctx_, dy, {s.out, rows}, {1, s.ldy})},
                                 {DNNL_ARG_WEIGHTS, Wrap(ctx_, x, {rows, s.in}, {s.ldx, 1})},
                                 {DNNL_ARG_DST, Wrap(ctx_, dw, {s.out, s.in}, {s.ldw, 1})},
                                 {DNNL_ARG_ATTR_OUTPUT_SCALES, scale_mem}});
  ctx_.stream().wait();
  if (db != nullptr) AddColumnSums(db, dy, rows, s.out, s.ldy, scale);
}

}  // namespace rnnsearch::ops
