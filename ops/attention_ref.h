// Naive reference of one attention step (ops/attention.h, docs/model.md), in
// plain loops, templated on the scalar type T so that tests can run it in
// double against finite differences. It is the oracle for Attention and
// AttentionDecode, and deliberately shares nothing with them: it projects
// U_a h_j (or W_g h_j) inside the step instead of using precomputed keys,
// and uses std::tanh / std::exp.
//
// One step for B query rows s: [B, Hd] against H: [Tx, B, 2He] (row of
// (j, b) at (j * B + b) * 2He) with lengths: [B]:
//   additive: e_bj = v_a . tanh(W_a s_b + b_a + U_a h_jb)
//   general:  e_bj = s_b . (W_g h_jb)
//   dot:      e_bj = s_b . h_jb
//   alpha_b = softmax of e_b over j < len_b, 0 elsewhere;
//   ctx_b = sum_j alpha_bj h_jb.
// AttentionStepBackward recomputes the forward from the same inputs and
// ADDS into ds: [B, Hd], dH: [Tx, B, 2He] and the parameter gradients of
// the kind (the others are not touched).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

#include "ops/attention.h"

namespace rnnsearch::ops::ref {

// e: [B, Tx] energies (0 at padding) and alpha: [B, Tx].
template <class T>
void AttentionScores(std::vector<T>& e, std::vector<T>& alpha, AttentionKind kind, const T* s,
                     const T* H, const int* lengths, const AttentionParamsOf<T>& p,
                     const AttentionDims& d) {
  const int Tx = d.src_len, B = d.batch, C = d.ctx_dim, Hd = d.dec_dim, A = d.att_dim;
  e.assign(static_cast<std::size_t>(B) * Tx, T(0));
  alpha = e;
  for (int b = 0; b < B; ++b) {
    const T* sb = s + b * Hd;
    for (int j = 0; j < lengths[b]; ++j) {
      const T* h = H + (static_cast<std::size_t>(j) * B + b) * C;
      T acc = 0;
      if (kind == AttentionKind::kAdditive) {
        for (int a = 0; a < A; ++a) {
          T pre = p.b_a[a];
          for (int k = 0; k < Hd; ++k) pre += p.W_a[a * Hd + k] * sb[k];
          for (int c = 0; c < C; ++c) pre += p.U_a[a * C + c] * h[c];
          acc += p.v_a[a] * std::tanh(pre);
        }
      } else if (kind == AttentionKind::kGeneral) {
        for (int k = 0; k < Hd; ++k) {
          T wh = 0;
          for (int c = 0; c < C; ++c) wh += p.W_g[k * C + c] * h[c];
          acc += sb[k] * wh;
        }
      } else {
        for (int c = 0; c < C; ++c) acc += sb[c] * h[c];
      }
      e[b * Tx + j] = acc;
    }
    T mx = e[b * Tx];
    for (int j = 1; j < lengths[b]; ++j) mx = std::max(mx, e[b * Tx + j]);
    T sum = 0;
    for (int j = 0; j < lengths[b]; ++j) sum += std::exp(e[b * Tx + j] - mx);
    for (int j = 0; j < lengths[b]; ++j) alpha[b * Tx + j] = std::exp(e[b * Tx + j] - mx) / sum;
  }
}

// ctx: [B, 2He], alpha: [B, Tx] (written).
template <class T>
void AttentionStepForward(T* ctx, T* alpha, AttentionKind kind, const T* s, const T* H,
                          const int* lengths, const AttentionParamsOf<T>& p,
                          const AttentionDims& d) {
  const int Tx = d.src_len, B = d.batch, C = d.ctx_dim;
  std::vector<T> e, a;
  AttentionScores(e, a, kind, s, H, lengths, p, d);
  std::copy(a.begin(), a.end(), alpha);
  for (int b = 0; b < B; ++b) {
    for (int c = 0; c < C; ++c) {
      T acc = 0;
      for (int j = 0; j < lengths[b]; ++j) {
        acc += a[b * Tx + j] * H[(static_cast<std::size_t>(j) * B + b) * C + c];
      }
      ctx[b * C + c] = acc;
    }
  }
}

// d_ctx: [B, 2He], the gradient of ctx. Adds into ds, dH and g.
template <class T>
void AttentionStepBackward(T* ds, T* dH, const AttentionGradsOf<T>& g, const T* d_ctx,
                           AttentionKind kind, const T* s, const T* H, const int* lengths,
                           const AttentionParamsOf<T>& p, const AttentionDims& d) {
  const int Tx = d.src_len, B = d.batch, C = d.ctx_dim, Hd = d.dec_dim, A = d.att_dim;
  std::vector<T> e, alpha;
  AttentionScores(e, alpha, kind, s, H, lengths, p, d);
  for (int b = 0; b < B; ++b) {
    const int len = lengths[b];
    const T* sb = s + b * Hd;
    T* dsb = ds + b * Hd;
    const T* dc = d_ctx + b * C;
    std::vector<T> da(static_cast<std::size_t>(len));
    T weighted = 0;
    for (int j = 0; j < len; ++j) {
      const std::size_t row = (static_cast<std::size_t>(j) * B + b) * C;
      da[j] = 0;
      for (int c = 0; c < C; ++c) {
        da[j] += dc[c] * H[row + c];
        dH[row + c] += alpha[b * Tx + j] * dc[c];
      }
      weighted += alpha[b * Tx + j] * da[j];
    }
    for (int j = 0; j < len; ++j) {
      const T de = alpha[b * Tx + j] * (da[j] - weighted);
      const std::size_t row = (static_cast<std::size_t>(j) * B + b) * C;
      const T* h = H + row;
      T* dh = dH + row;
      if (kind == AttentionKind::kAdditive) {
        for (int a = 0; a < A; ++a) {
          T pre = p.b_a[a];
          for (int k = 0; k < Hd; ++k) pre += p.W_a[a * Hd + k] * sb[k];
          for (int c = 0; c < C; ++c) pre += p.U_a[a * C + c] * h[c];
          const T t = std::tanh(pre);
          g.v_a[a] += de * t;
          const T dpre = de * p.v_a[a] * (T(1) - t * t);
          g.b_a[a] += dpre;
          for (int k = 0; k < Hd; ++k) {
            g.W_a[a * Hd + k] += dpre * sb[k];
            dsb[k] += dpre * p.W_a[a * Hd + k];
          }
          for (int c = 0; c < C; ++c) {
            g.U_a[a * C + c] += dpre * h[c];
            dh[c] += dpre * p.U_a[a * C + c];
          }
        }
      } else if (kind == AttentionKind::kGeneral) {
        for (int k = 0; k < Hd; ++k) {
          T wh = 0;
          for (int c = 0; c < C; ++c) {
            wh += p.W_g[k * C + c] * h[c];
            g.W_g[k * C + c] += de * sb[k] * h[c];
            dh[c] += de * sb[k] * p.W_g[k * C + c];
          }
          dsb[k] += de * wh;
        }
      } else {
        for (int c = 0; c < C; ++c) {
          dsb[c] += de * h[c];
          dh[c] += de * sb[c];
        }
      }
    }
  }
}

}  // namespace rnnsearch::ops::ref
