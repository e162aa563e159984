#include "ops/matmul_view.h"

#include <cassert>

namespace rnnsearch::ops {
namespace {

using dnnl::memory;

memory::desc ViewDesc(std::int64_t rows, std::int64_t cols, Strides s) {
  return memory::desc({rows, cols}, memory::data_type::f32, memory::dims{s.row, s.col});
}

}  // namespace

MatmulView::MatmulView(Context& ctx, std::int64_t m, std::int64_t k, std::int64_t n, Strides src,
                       Strides wei, Strides dst, bool bias, bool accumulate, bool runtime_rows)
    : ctx_(&ctx), runtime_rows_(runtime_rows), m_(m), k_(k), n_(n), src_(src), dst_(dst) {
  assert(m >= 1 && k >= 1 && n >= 1);
  const std::int64_t rows = runtime_rows ? DNNL_RUNTIME_DIM_VAL : m;
  const memory::desc src_md = ViewDesc(rows, k, src);
  wei_md_ = ViewDesc(k, n, wei);
  const memory::desc dst_md = ViewDesc(rows, n, dst);
  const memory::desc bias_md =
      bias ? memory::desc({1, n}, memory::data_type::f32, memory::format_tag::ab) : memory::desc();
  dnnl::primitive_attr attr;
  if (accumulate) {
    dnnl::post_ops po;
    po.append_sum(1.0f);
    attr.set_post_ops(po);
  }
  const dnnl::matmul::desc desc(src_md, wei_md_, bias_md, dst_md);
  prim_ = dnnl::matmul(dnnl::matmul::primitive_desc(desc, attr, ctx.engine()));

  auto& eng = ctx.engine();
  wei_mem_ = memory(wei_md_, eng, DNNL_MEMORY_NONE);
  args_[DNNL_ARG_WEIGHTS] = wei_mem_;
  if (bias) {
    bias_mem_ = memory(bias_md, eng, DNNL_MEMORY_NONE);
    args_[DNNL_ARG_BIAS] = bias_mem_;
  }
  if (!runtime_rows) {
    src_mem_ = memory(src_md, eng, DNNL_MEMORY_NONE);
    dst_mem_ = memory(dst_md, eng, DNNL_MEMORY_NONE);
    args_[DNNL_ARG_SRC] = src_mem_;
    args_[DNNL_ARG_DST] = dst_mem_;
  }
}

void MatmulView::Run(float* dst, const float* src, const float* wei, const float* bias,
                     std::int64_t rows) {
  assert(ctx_ != nullptr);
  assert((bias != nullptr) == static_cast<bool>(bias_mem_));
  wei_mem_.set_data_handle(const_cast<float*>(wei));
  if (bias_mem_) bias_mem_.set_data_handle(const_cast<float*>(bias));
  if (runtime_rows_) {
    // The actual row count is part of the memory descriptors, so the two
    // row-dependent memories are made per call (a small handle, no data).
    assert(rows >= 1 && rows <= m_);
    auto& eng = ctx_->engine();
    args_[DNNL_ARG_SRC] = memory(ViewDesc(rows, k_, src_), eng, const_cast<float*>(src));
    args_[DNNL_ARG_DST] = memory(ViewDesc(rows, n_, dst_), eng, dst);
  } else {
    src_mem_.set_data_handle(const_cast<float*>(src));
    dst_mem_.set_data_handle(dst);
  }
  prim_.execute(ctx_->stream(), args_);
  ctx_->stream().wait();
}

}  // namespace rnnsearch::ops
