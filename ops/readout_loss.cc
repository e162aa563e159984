#include "ops/readout_loss.h"

#include <omp.h>

#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>
#include <new>

#include "ops/vec_math.h"

namespace rnnsearch::ops {

namespace {

// A 64-byte aligned array of n T's.
template <class T, class Buffer>
Buffer Allocate(std::int64_t n) {
  const std::size_t bytes =
      (static_cast<std::size_t>(std::max<std::int64_t>(n, 1)) * sizeof(T) + 63) / 64 * 64;
  void* q = std::aligned_alloc(64, bytes);
  if (q == nullptr) throw std::bad_alloc();
  return Buffer(static_cast<T*>(q));
}

AffineShape Block(const ReadoutShape& s, std::int64_t in, bool bias, Activation act) {
  return {.in = in,
          .out = s.readout,
          .ldx = in,
          .ldw = s.dec + s.ctx + s.emb,
          .ldy = s.readout,
          .bias = bias,
          .activation = act};
}

}  // namespace

ReadoutLoss::ReadoutLoss(Context& ctx, const ReadoutShape& shape)
    : shape_(shape),
      threads_(ctx.threads()),
      read_s_(ctx, Block(shape, shape.dec, true, Activation::kIdentity)),
      read_c_(ctx, Block(shape, shape.ctx, false, Activation::kIdentity)),
      read_y_(ctx, Block(shape, shape.emb, false, Activation::kTanh)),
      output_(ctx, {.in = shape.readout, .out = shape.vocab}) {
  const ReadoutShape& s = shape_;
  assert(s.max_rows >= 1 && s.dec >= 1 && s.ctx >= 1 && s.emb >= 1 && s.readout >= 1 &&
         s.vocab >= 1);
  t_ = Allocate<float, Buffer<float>>(s.max_rows * s.readout);
  if (s.training) {
    t_drop_ = Allocate<float, Buffer<float>>(s.max_rows * s.readout);
    dt_ = Allocate<float, Buffer<float>>(s.max_rows * s.readout);
    logits_ = Allocate<float, Buffer<float>>(s.max_rows * s.vocab);
    db_v_ = Allocate<float, Buffer<float>>(threads_ * s.vocab);
    row_loss_ = Allocate<double, Buffer<double>>(s.max_rows);
  }
}

void ReadoutLoss::ReadoutForward(const float* s, const float* c, const float* yprev,
                                 const ReadoutParams& p, std::int64_t rows) {
  const ReadoutShape& sh = shape_;
  read_s_.Forward(t_.get(), s, p.w_o, p.b_o, rows);
  read_c_.ForwardAdd(t_.get(), c, p.w_o + sh.dec, nullptr, rows);
  read_y_.ForwardAdd(t_.get(), yprev, p.w_o + sh.dec + sh.ctx, nullptr, rows);
}

TokenLoss ReadoutLoss::Forward(const float* s, const float* c, const float* yprev,
                               const std::int32_t* target, const ReadoutParams& p,
                               float label_smoothing, std::int64_t rows, const float* dropout) {
  assert(shape_.training && rows >= 0 && rows <= shape_.max_rows);
  ReadoutForward(s, c, yprev, p, rows);
  dropped_ = dropout != nullptr;
  if (dropped_) {
    const float* t = t_.get();
    float* td = t_drop_.get();
    const std::int64_t n = rows * shape_.readout;
#pragma omp parallel for simd schedule(static) num_threads(threads_)
    for (std::int64_t i = 0; i < n; ++i) td[i] = t[i] * dropout[i];
  }
  output_.Forward(logits_.get(), dropped_ ? t_drop_.get() : t_.get(), p.w_v, p.b_v, rows);
  SoftmaxGradient(target, label_smoothing, rows);
  rows_ = rows;
  has_state_ = true;
  TokenLoss loss;
  for (std::int64_t r = 0; r < rows; ++r) {  // in row order: deterministic
    loss.sum += row_loss_[r];
    loss.tokens += target[r] != 0;
  }
  return loss;
}

// Per row n with target y != 0, with lse = max + log(sum_e):
//   loss_n = -sum_k q_k (l_k - lse)
//          = log(sum_e) + (1 - eps) (max - l_y) - eps/V sum_k (l_k - max),
// three non-negative terms (no cancellation, even for large logits); then
// l_k <- softmax_k - q_k.
void ReadoutLoss::SoftmaxGradient(const std::int32_t* target, float eps, std::int64_t rows) {
  const std::int64_t V = shape_.vocab;
  const float uniform = eps / static_cast<float>(V);
  const float on_target = 1.0f - eps;
  float* logits = logits_.get();
  float* db_v = db_v_.get();
  double* row_loss = row_loss_.get();
  std::fill(db_v, db_v + threads_ * V, 0.0f);
#pragma omp parallel num_threads(threads_)
  {
    float* part = db_v + omp_get_thread_num() * V;
#pragma omp for schedule(static)
    for (std::int64_t n = 0; n < rows; ++n) {
      float* l = logits + n * V;
      const std::int32_t y = target[n];
      if (y == 0) {
        std::fill(l, l + V, 0.0f);
        row_loss[n] = 0;
        continue;
      }
      assert(y > 0 && y < V);
      float mx = -std::numeric_limits<float>::infinity();
#pragma omp simd reduction(max : mx)
      for (std::int64_t k = 0; k < V; ++k) mx = std::max(mx, l[k]);
      const float gap_y = mx - l[y];
      float sum_e = 0, sum_d = 0;
#pragma omp simd reduction(+ : sum_e, sum_d)
      for (std::int64_t k = 0; k < V; ++k) {
        const float d = l[k] - mx;
        const float e = VecExp(d);
        l[k] = e;
        sum_e += e;
        sum_d += d;
      }
      row_loss[n] = std::log(static_cast<double>(sum_e)) +
                    static_cast<double>(on_target) * static_cast<double>(gap_y) -
                    static_cast<double>(uniform) * static_cast<double>(sum_d);
      const float inv = 1.0f / sum_e;
#pragma omp simd
      for (std::int64_t k = 0; k < V; ++k) {
        const float g = l[k] * inv - uniform;
        l[k] = g;
        part[k] += g;
      }
      l[y] -= on_target;
      part[y] -= on_target;
    }
  }
}

void ReadoutLoss::Backward(const ReadoutGrads& g, float* ds, float* dc, float* dyprev,
                           const float* s, const float* c, const float* yprev,
                           const ReadoutParams& p, float grad_scale, const float* dropout) {
  assert(has_state_);
  assert(dropped_ == (dropout != nullptr));
  const ReadoutShape& sh = shape_;
  const std::int64_t rows = rows_;
  const std::int64_t V = sh.vocab;
  float* dt = dt_.get();
  const float* t = t_.get();
  const std::int64_t nt = rows * sh.readout;
  std::fill(dt, dt + nt, 0.0f);
  // dW_v += scale dlogits^T t'; dt' = scale dlogits W_v.
  output_.Backward(dt, g.w_v, nullptr, logits_.get(), dropped_ ? t_drop_.get() : t, p.w_v, rows,
                   grad_scale);
  // db_v += scale * (sum of the per-thread column sums, in thread order).
  const float* db_v = db_v_.get();
#pragma omp parallel for simd schedule(static) num_threads(threads_)
  for (std::int64_t k = 0; k < V; ++k) {
    float sum = 0;
    for (int th = 0; th < threads_; ++th) sum += db_v[th * V + k];
    g.b_v[k] += grad_scale * sum;
  }
  // Through the dropout and the tanh: dpre = dt' mask (1 - t^2), in place.
  if (dropout != nullptr) {
#pragma omp parallel for simd schedule(static) num_threads(threads_)
    for (std::int64_t i = 0; i < nt; ++i) dt[i] *= dropout[i] * (1.0f - t[i] * t[i]);
  } else {
#pragma omp parallel for simd schedule(static) num_threads(threads_)
    for (std::int64_t i = 0; i < nt; ++i) dt[i] *= 1.0f - t[i] * t[i];
  }
  read_s_.Backward(ds, g.w_o, g.b_o, dt, s, p.w_o, rows);
  read_c_.Backward(dc, g.w_o + sh.dec, nullptr, dt, c, p.w_o + sh.dec, rows);
  read_y_.Backward(dyprev, g.w_o + sh.dec + sh.ctx, nullptr, dt, yprev, p.w_o + sh.dec + sh.ctx,
                   rows);
}

void ReadoutLoss::LogProbs(float* out, const float* s, const float* c, const float* yprev,
                           const ReadoutParams& p, std::int64_t rows) {
  assert(rows >= 0 && rows <= shape_.max_rows);
  const std::int64_t V = shape_.vocab;
  has_state_ = false;
  ReadoutForward(s, c, yprev, p, rows);
  output_.Forward(out, t_.get(), p.w_v, p.b_v, rows);
#pragma omp parallel for schedule(static) num_threads(threads_)
  for (std::int64_t n = 0; n < rows; ++n) {
    float* l = out + n * V;
    float mx = -std::numeric_limits<float>::infinity();
#pragma omp simd reduction(max : mx)
    for (std::int64_t k = 0; k < V; ++k) mx = std::max(mx, l[k]);
    float sum_e = 0;
#pragma omp simd reduction(+ : sum_e)
    for (std::int64_t k = 0; k < V; ++k) sum_e += VecExp(l[k] - mx);
    const float lse = mx + std::log(sum_e);
#pragma omp simd
    for (std::int64_t k = 0; k < V; ++k) l[k] -= lse;
  }
}

}  // namespace rnnsearch::ops
