// Naive reference of ops/readout_loss.h in plain loops, templated on the
// scalar type T so tests can run it in double against finite differences:
//   t      = tanh(W_o [s ; c ; y] + b_o)       W_o: [O, Hd + 2He + E]
//   t'     = t * mask (dropout multipliers; mask == nullptr: t' = t)
//   logits = W_v t' + b_v                      W_v: [Vt, O]
//   loss   = sum over rows with target != 0 of -sum_k q_k log softmax(logits)_k,
//            q = (1 - eps) onehot(target) + eps / Vt.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace rnnsearch::ops::ref {

struct ReadoutDims {
  std::int64_t rows, dec, ctx, emb, readout, vocab;  // N, Hd, 2He, E, O, Vt
  std::int64_t in() const { return dec + ctx + emb; }
};

template <class T>
struct ReadoutWeights {
  const T* w_o;  // [O, Hd + 2He + E]
  const T* b_o;  // [O]
  const T* w_v;  // [Vt, O]
  const T* b_v;  // [Vt]
};

// t: [rows, O] (before the dropout) and logits: [rows, Vt] of the rows
// s: [rows, Hd], c: [rows, 2He], y: [rows, E]; mask: [rows, O] or nullptr.
template <class T>
void ReadoutLogits(std::vector<T>& t, std::vector<T>& logits, const T* s, const T* c, const T* y,
                   const ReadoutWeights<T>& p, const ReadoutDims& d, const float* mask = nullptr) {
  t.assign(static_cast<std::size_t>(d.rows * d.readout), T(0));
  logits.assign(static_cast<std::size_t>(d.rows * d.vocab), T(0));
  const std::int64_t K = d.in();
  for (std::int64_t n = 0; n < d.rows; ++n) {
    for (std::int64_t o = 0; o < d.readout; ++o) {
      const T* w = p.w_o + o * K;
      T a = p.b_o[o];
      for (std::int64_t k = 0; k < d.dec; ++k) a += w[k] * s[n * d.dec + k];
      for (std::int64_t k = 0; k < d.ctx; ++k) a += w[d.dec + k] * c[n * d.ctx + k];
      for (std::int64_t k = 0; k < d.emb; ++k) a += w[d.dec + d.ctx + k] * y[n * d.emb + k];
      t[n * d.readout + o] = std::tanh(a);
    }
    for (std::int64_t v = 0; v < d.vocab; ++v) {
      T a = p.b_v[v];
      for (std::int64_t o = 0; o < d.readout; ++o) {
        const T m = mask ? T(mask[n * d.readout + o]) : T(1);
        a += p.w_v[v * d.readout + o] * t[n * d.readout + o] * m;
      }
      logits[n * d.vocab + v] = a;
    }
  }
}

// Replaces each row of x: [rows, V] by its log softmax (max subtracted first).
template <class T>
void LogSoftmaxRows(T* x, std::int64_t rows, std::int64_t V) {
  for (std::int64_t n = 0; n < rows; ++n) {
    T* l = x + n * V;
    const T mx = *std::max_element(l, l + V);
    T sum = 0;
    for (std::int64_t k = 0; k < V; ++k) sum += std::exp(l[k] - mx);
    const T lse = mx + std::log(sum);
    for (std::int64_t k = 0; k < V; ++k) l[k] -= lse;
  }
}

// out: [rows, Vt] = log softmax(logits).
template <class T>
void ReadoutLogProbs(T* out, const T* s, const T* c, const T* y, const ReadoutWeights<T>& p,
                     const ReadoutDims& d) {
  std::vector<T> t, logits;
  ReadoutLogits(t, logits, s, c, y, p, d);
  LogSoftmaxRows(logits.data(), d.rows, d.vocab);
  std::copy(logits.begin(), logits.end(), out);
}

// The loss sum; *tokens = the number of rows with target != 0; mask:
// [rows, O] dropout multipliers of t, or nullptr.
template <class T>
T ReadoutLossForward(const T* s, const T* c, const T* y, const std::int32_t* target,
                     const ReadoutWeights<T>& p, const ReadoutDims& d, T eps, std::int64_t* tokens,
                     const float* mask = nullptr) {
  std::vector<T> t, logp;
  ReadoutLogits(t, logp, s, c, y, p, d, mask);
  LogSoftmaxRows(logp.data(), d.rows, d.vocab);
  T loss = 0;
  *tokens = 0;
  for (std::int64_t n = 0; n < d.rows; ++n) {
    if (target[n] == 0) continue;
    ++*tokens;
    for (std::int64_t k = 0; k < d.vocab; ++k) {
      const T q = (k == target[n] ? T(1) - eps : T(0)) + eps / T(d.vocab);
      loss -= q * logp[n * d.vocab + k];
    }
  }
  return loss;
}

// Adds scale * the gradient of the loss sum into dw_o, db_o, dw_v, db_v
// and into ds, dc, dy (each of the last three may be nullptr); mask: as
// in ReadoutLossForward.
template <class T>
void ReadoutLossBackward(T* dw_o, T* db_o, T* dw_v, T* db_v, T* ds, T* dc, T* dy, const T* s,
                         const T* c, const T* y, const std::int32_t* target,
                         const ReadoutWeights<T>& p, const ReadoutDims& d, T eps, T scale,
                         const float* mask = nullptr) {
  std::vector<T> t, g;
  ReadoutLogits(t, g, s, c, y, p, d, mask);
  LogSoftmaxRows(g.data(), d.rows, d.vocab);
  const std::int64_t K = d.in();
  std::vector<T> dt(static_cast<std::size_t>(d.readout));
  for (std::int64_t n = 0; n < d.rows; ++n) {
    if (target[n] == 0) continue;
    std::fill(dt.begin(), dt.end(), T(0));
    for (std::int64_t v = 0; v < d.vocab; ++v) {
      const T q = (v == target[n] ? T(1) - eps : T(0)) + eps / T(d.vocab);
      const T dl = scale * (std::exp(g[n * d.vocab + v]) - q);  // d loss / d logit
      db_v[v] += dl;
      for (std::int64_t o = 0; o < d.readout; ++o) {
        const T m = mask ? T(mask[n * d.readout + o]) : T(1);
        dw_v[v * d.readout + o] += dl * t[n * d.readout + o] * m;
        dt[o] += dl * p.w_v[v * d.readout + o];
      }
    }
    for (std::int64_t o = 0; o < d.readout; ++o) {
      const T tv = t[n * d.readout + o];
      const T m = mask ? T(mask[n * d.readout + o]) : T(1);
      const T da = dt[o] * m * (T(1) - tv * tv);  // through the dropout and the tanh
      db_o[o] += da;
      T* dw = dw_o + o * K;
      const T* w = p.w_o + o * K;
      for (std::int64_t k = 0; k < d.dec; ++k) {
        dw[k] += da * s[n * d.dec + k];
        if (ds) ds[n * d.dec + k] += da * w[k];
      }
      for (std::int64_t k = 0; k < d.ctx; ++k) {
        dw[d.dec + k] += da * c[n * d.ctx + k];
        if (dc) dc[n * d.ctx + k] += da * w[d.dec + k];
      }
      for (std::int64_t k = 0; k < d.emb; ++k) {
        dw[d.dec + d.ctx + k] += da * y[n * d.emb + k];
        if (dy) dy[n * d.emb + k] += da * w[d.dec + d.ctx + k];
      }
    }
  }
}

}  // namespace rnnsearch::ops::ref
