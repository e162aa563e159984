// The per-sentence loops of ops/attention.{h,cc} and attention_decode.cc,
// shared by training and decoding: one query row against the keys of one
// source sentence. Keys of sentence b in a time-major [Tx, B, D] buffer are
// at keys + b * D with a row stride of B * D. Inner loops run over the
// feature dimension and are vectorised (`#pragma omp simd`, ops/vec_math.h).
// Internal to ops/.
#pragma once

#include <cstdint>

#include "ops/vec_math.h"

namespace rnnsearch::ops::attention_kernels {

// e[j] = v . tanh(q + keys_j) for j < len; q, v, keys_j: [A].
inline void AdditiveEnergies(float* e, const float* q, const float* keys, std::int64_t stride,
                             int len, const float* v, int A) {
  for (int j = 0; j < len; ++j) {
    const float* k = keys + j * stride;
    float acc = 0.0f;
#pragma omp simd reduction(+ : acc)
    for (int a = 0; a < A; ++a) acc += v[a] * VecTanh(q[a] + k[a]);
    e[j] = acc;
  }
}

// e[j] = s . keys_j for j < len; s, keys_j: [D].
inline void DotEnergies(float* e, const float* s, const float* keys, std::int64_t stride, int len,
                        int D) {
  for (int j = 0; j < len; ++j) {
    const float* k = keys + j * stride;
    float acc = 0.0f;
#pragma omp simd reduction(+ : acc)
    for (int d = 0; d < D; ++d) acc += s[d] * k[d];
    e[j] = acc;
  }
}

// In place: e[0..len) -> softmax(e[0..len)) (max subtracted first, so no
// overflow), e[len..Tx) -> exactly 0.
inline void MaskedSoftmax(float* e, int len, int Tx) {
  float mx = e[0];
  for (int j = 1; j < len; ++j) mx = e[j] > mx ? e[j] : mx;
  float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
  for (int j = 0; j < len; ++j) {
    e[j] = VecExp(e[j] - mx);
    sum += e[j];
  }
  const float inv = 1.0f / sum;
  for (int j = 0; j < len; ++j) e[j] *= inv;
  for (int j = len; j < Tx; ++j) e[j] = 0.0f;
}

// out = sum_{j < len} w[j] * rows_j; out, rows_j: [C].
inline void WeightedSum(float* out, const float* w, const float* rows, std::int64_t stride, int len,
                        int C) {
  for (int c = 0; c < C; ++c) out[c] = 0.0f;
  for (int j = 0; j < len; ++j) {
    const float* r = rows + j * stride;
    const float wj = w[j];
#pragma omp simd
    for (int c = 0; c < C; ++c) out[c] += wj * r[c];
  }
}

// Backward of the context c = sum_j alpha_j h_j and of the softmax, for
// one sentence: d_h_j += alpha_j * d_ctx, and
// de[j] = alpha_j * (d_alpha_j - sum_k alpha_k d_alpha_k) with
// d_alpha_j = d_ctx . h_j, for j < len.
inline void ContextSoftmaxBackward(float* de, float* dH, const float* alpha, const float* d_ctx,
                                   const float* H, std::int64_t stride, int len, int C) {
  float weighted = 0.0f;
  for (int j = 0; j < len; ++j) {
    const float* h = H + j * stride;
    float* dh = dH + j * stride;
    const float aj = alpha[j];
    float da = 0.0f;
#pragma omp simd reduction(+ : da)
    for (int c = 0; c < C; ++c) {
      da += d_ctx[c] * h[c];
      dh[c] += aj * d_ctx[c];
    }
    de[j] = da;
    weighted += aj * da;
  }
  for (int j = 0; j < len; ++j) de[j] = alpha[j] * (de[j] - weighted);
}

// Backward of e_j = v . tanh(q + keys_j) for one sentence, recomputing the
// tanh: dq = sum_j u_j (written, not added), d_keys_j += u_j,
// dv += sum_j de_j t_j, with t_j = tanh(q + keys_j) and
// u_j = de_j * v * (1 - t_j^2).
inline void AdditiveBackward(float* dq, float* d_keys, float* dv, const float* q, const float* keys,
                             std::int64_t stride, const float* v, const float* de, int len, int A) {
  for (int a = 0; a < A; ++a) dq[a] = 0.0f;
  for (int j = 0; j < len; ++j) {
    const float* k = keys + j * stride;
    float* dk = d_keys + j * stride;
    const float dej = de[j];
#pragma omp simd
    for (int a = 0; a < A; ++a) {
      const float t = VecTanh(q[a] + k[a]);
      const float u = dej * v[a] * (1.0f - t * t);
      dk[a] += u;
      dq[a] += u;
      dv[a] += dej * t;
    }
  }
}

// Backward of e_j = s . keys_j: ds += sum_j de_j keys_j, d_keys_j += de_j s.
inline void DotBackward(float* ds, float* d_keys, const float* s, const float* keys,
                        std::int64_t stride, const float* de, int len, int D) {
  for (int j = 0; j < len; ++j) {
    const float* k = keys + j * stride;
    float* dk = d_keys + j * stride;
    const float dej = de[j];
#pragma omp simd
    for (int d = 0; d < D; ++d) {
      ds[d] += dej * k[d];
      dk[d] += dej * s[d];
    }
  }
}

}  // namespace rnnsearch::ops::attention_kernels
