// Naive reference of ops/affine.h in plain loops, templated on the scalar
// type T so tests can run it in double. Same strided layouts: x, W, y are
// row-major with row strides ldx, ldw, ldy.
#pragma once

#include <cmath>
#include <cstdint>

namespace rnnsearch::ops::ref {

struct AffineDims {
  std::int64_t rows, in, out;
  std::int64_t ldx, ldw, ldy;
};

// y: [rows, out] = act(acc * y + x . w^T + b), act = tanh if `tanh`;
// acc is 1 when `accumulate`, else 0; b: [out] or nullptr.
template <class T>
void AffineForward(T* y, const T* x, const T* w, const T* b, const AffineDims& d, bool accumulate,
                   bool tanh) {
  for (std::int64_t r = 0; r < d.rows; ++r) {
    for (std::int64_t o = 0; o < d.out; ++o) {
      T s = accumulate ? y[r * d.ldy + o] : T(0);
      for (std::int64_t k = 0; k < d.in; ++k) s += x[r * d.ldx + k] * w[o * d.ldw + k];
      if (b) s += b[o];
      y[r * d.ldy + o] = tanh ? std::tanh(s) : s;
    }
  }
}

// dx += scale * dy . w (if dx), dw += scale * dy^T . x, db += scale * sum_r dy (if db).
template <class T>
void AffineBackward(T* dx, T* dw, T* db, const T* dy, const T* x, const T* w, const AffineDims& d,
                    T scale) {
  for (std::int64_t o = 0; o < d.out; ++o) {
    T sb = 0;
    for (std::int64_t r = 0; r < d.rows; ++r) sb += dy[r * d.ldy + o];
    if (db) db[o] += scale * sb;
    for (std::int64_t k = 0; k < d.in; ++k) {
      T sw = 0;
      for (std::int64_t r = 0; r < d.rows; ++r) sw += dy[r * d.ldy + o] * x[r * d.ldx + k];
      dw[o * d.ldw + k] += scale * sw;
    }
  }
  if (!dx) return;
  for (std::int64_t r = 0; r < d.rows; ++r) {
    for (std::int64_t k = 0; k < d.in; ++k) {
      T s = 0;
      for (std::int64_t o = 0; o < d.out; ++o) s += dy[r * d.ldy + o] * w[o * d.ldw + k];
      dx[r * d.ldx + k] += scale * s;
    }
  }
}

}  // namespace rnnsearch::ops::ref
