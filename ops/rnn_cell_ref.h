// Naive reference of one time step of the recurrent cells of docs/model.md, in
// plain loops, templated on the scalar type T so that tests can run it in
// double against finite differences. It is the oracle for the encoder
// (ops/encoder.h) and the decoder cell; it is not meant to be fast.
//
// Weights are in PyTorch's layout, exactly as docs/model.md stores them:
//   GRU  (linear-before-reset, gates r, z, n):
//     w_ih: [3H, in], w_hh: [3H, H], b_ih, b_hh: [3H]
//     r  = sigmoid(W_ir x + b_ir + W_hr h + b_hr)
//     z  = sigmoid(W_iz x + b_iz + W_hz h + b_hz)
//     n  = tanh(W_in x + b_in + r * (W_hn h + b_hn))
//     h' = (1 - z) * n + z * h
//   LSTM (PyTorch nn.LSTM, gates i, f, g, o):
//     w_ih: [4H, in], w_hh: [4H, H], b_ih, b_hh: [4H]
//     a  = W_ih x + b_ih + W_hh h + b_hh
//     i, f, o = sigmoid(a_i), sigmoid(a_f), sigmoid(a_o); g = tanh(a_g)
//     c' = f * c + i * g;  h' = o * tanh(c')
//
// Every function works on a batch of B rows (x: [B, in], h: [B, H]).
// *StepForward writes the new state and fills a cache; *StepBackward takes
// the gradient of the new state, and ADDS into every gradient buffer (any of
// dx, dh, dc may be nullptr to skip it; weight and bias gradients are
// required). The cache must come from the forward call with the same inputs.
#pragma once

#include <cmath>
#include <vector>

namespace rnnsearch::ops::ref {

template <class T>
T Sigmoid(T a) {
  return T(1) / (T(1) + std::exp(-a));
}

// y: [B, R] += x: [B, K] . w^T, with w: [R, K] (row-major, PyTorch layout).
template <class T>
void AddMatTransposed(T* y, const T* x, const T* w, int B, int R, int K) {
  for (int b = 0; b < B; ++b) {
    for (int r = 0; r < R; ++r) {
      T s = 0;
      for (int k = 0; k < K; ++k) s += x[b * K + k] * w[r * K + k];
      y[b * R + r] += s;
    }
  }
}

// The backward of y = x . w^T + bias for a gate gradient g: [B, R]:
// dx: [B, K] += g . w (if dx), dw: [R, K] += g^T . x, db: [R] += sum_b g.
template <class T>
void AddLinearBackward(T* dx, T* dw, T* db, const T* g, const T* x, const T* w, int B, int R,
                       int K) {
  for (int b = 0; b < B; ++b) {
    for (int r = 0; r < R; ++r) {
      const T gr = g[b * R + r];
      db[r] += gr;
      for (int k = 0; k < K; ++k) {
        dw[r * K + k] += gr * x[b * K + k];
        if (dx) dx[b * K + k] += gr * w[r * K + k];
      }
    }
  }
}

// ---------------------------------------------------------------- GRU

template <class T>
struct GruStepCache {
  std::vector<T> r, z, n;  // [B, H] each: the gate activations
  std::vector<T> hn;       // [B, H]: W_hn h + b_hn
};

// h_out: [B, H] (may not alias h); x: [B, in]; h: [B, H].
template <class T>
void GruStepForward(T* h_out, GruStepCache<T>& cache, const T* x, const T* h, const T* w_ih,
                    const T* w_hh, const T* b_ih, const T* b_hh, int B, int in, int H) {
  const int G = 3 * H;
  std::vector<T> gi(static_cast<std::size_t>(B) * G, T(0));  // W_ih x + b_ih
  std::vector<T> gh(static_cast<std::size_t>(B) * G, T(0));  // W_hh h + b_hh
  AddMatTransposed(gi.data(), x, w_ih, B, G, in);
  AddMatTransposed(gh.data(), h, w_hh, B, G, H);
  cache.r.assign(static_cast<std::size_t>(B) * H, T(0));
  cache.z = cache.r;
  cache.n = cache.r;
  cache.hn = cache.r;
  for (int b = 0; b < B; ++b) {
    for (int j = 0; j < H; ++j) {
      const int k = b * H + j;
      const T* xi = &gi[static_cast<std::size_t>(b) * G];
      const T* hh = &gh[static_cast<std::size_t>(b) * G];
      const T r = Sigmoid(xi[j] + b_ih[j] + hh[j] + b_hh[j]);
      const T z = Sigmoid(xi[H + j] + b_ih[H + j] + hh[H + j] + b_hh[H + j]);
      const T hn = hh[2 * H + j] + b_hh[2 * H + j];
      const T n = std::tanh(xi[2 * H + j] + b_ih[2 * H + j] + r * hn);
      cache.r[k] = r;
      cache.z[k] = z;
      cache.n[k] = n;
      cache.hn[k] = hn;
      h_out[k] = (T(1) - z) * n + z * h[k];
    }
  }
}

// dh_out: [B, H], the gradient of h_out. Adds into dx: [B, in], dh: [B, H],
// dw_ih: [3H, in], dw_hh: [3H, H], db_ih, db_hh: [3H].
template <class T>
void GruStepBackward(T* dx, T* dh, T* dw_ih, T* dw_hh, T* db_ih, T* db_hh, const T* dh_out,
                     const GruStepCache<T>& cache, const T* x, const T* h, const T* w_ih,
                     const T* w_hh, int B, int in, int H) {
  const int G = 3 * H;
  std::vector<T> gi(static_cast<std::size_t>(B) * G);  // d(W_ih x + b_ih)
  std::vector<T> gh(static_cast<std::size_t>(B) * G);  // d(W_hh h + b_hh)
  for (int b = 0; b < B; ++b) {
    for (int j = 0; j < H; ++j) {
      const int k = b * H + j;
      const T g = dh_out[k];
      const T r = cache.r[k], z = cache.z[k], n = cache.n[k], hn = cache.hn[k];
      const T dn = g * (T(1) - z);
      const T dz = g * (h[k] - n);
      const T dan = dn * (T(1) - n * n);
      const T dar = dan * hn * r * (T(1) - r);
      const T daz = dz * z * (T(1) - z);
      T* gib = &gi[static_cast<std::size_t>(b) * G];
      T* ghb = &gh[static_cast<std::size_t>(b) * G];
      gib[j] = dar;
      gib[H + j] = daz;
      gib[2 * H + j] = dan;
      ghb[j] = dar;
      ghb[H + j] = daz;
      ghb[2 * H + j] = dan * r;
      if (dh) dh[k] += g * z;
    }
  }
  AddLinearBackward(dx, dw_ih, db_ih, gi.data(), x, w_ih, B, G, in);
  AddLinearBackward(dh, dw_hh, db_hh, gh.data(), h, w_hh, B, G, H);
}

// ---------------------------------------------------------------- LSTM

template <class T>
struct LstmStepCache {
  std::vector<T> i, f, g, o;  // [B, H] each: the gate activations
  std::vector<T> tc;          // [B, H]: tanh(c')
};

// h_out, c_out: [B, H] (may not alias h, c); x: [B, in]; h, c: [B, H].
template <class T>
void LstmStepForward(T* h_out, T* c_out, LstmStepCache<T>& cache, const T* x, const T* h,
                     const T* c, const T* w_ih, const T* w_hh, const T* b_ih, const T* b_hh, int B,
                     int in, int H) {
  const int G = 4 * H;
  std::vector<T> a(static_cast<std::size_t>(B) * G, T(0));
  AddMatTransposed(a.data(), x, w_ih, B, G, in);
  AddMatTransposed(a.data(), h, w_hh, B, G, H);
  cache.i.assign(static_cast<std::size_t>(B) * H, T(0));
  cache.f = cache.i;
  cache.g = cache.i;
  cache.o = cache.i;
  cache.tc = cache.i;
  for (int b = 0; b < B; ++b) {
    const T* ab = &a[static_cast<std::size_t>(b) * G];
    for (int j = 0; j < H; ++j) {
      const int k = b * H + j;
      const T gi = Sigmoid(ab[j] + b_ih[j] + b_hh[j]);
      const T gf = Sigmoid(ab[H + j] + b_ih[H + j] + b_hh[H + j]);
      const T gg = std::tanh(ab[2 * H + j] + b_ih[2 * H + j] + b_hh[2 * H + j]);
      const T go = Sigmoid(ab[3 * H + j] + b_ih[3 * H + j] + b_hh[3 * H + j]);
      const T cn = gf * c[k] + gi * gg;
      const T tc = std::tanh(cn);
      cache.i[k] = gi;
      cache.f[k] = gf;
      cache.g[k] = gg;
      cache.o[k] = go;
      cache.tc[k] = tc;
      c_out[k] = cn;
      h_out[k] = go * tc;
    }
  }
}

// dh_out, dc_out: [B, H], the gradients of h_out and c_out (dc_out may be
// nullptr: zero). Adds into dx: [B, in], dh, dc: [B, H], dw_ih: [4H, in],
// dw_hh: [4H, H], db_ih, db_hh: [4H].
template <class T>
void LstmStepBackward(T* dx, T* dh, T* dc, T* dw_ih, T* dw_hh, T* db_ih, T* db_hh, const T* dh_out,
                      const T* dc_out, const LstmStepCache<T>& cache, const T* x, const T* h,
                      const T* c, const T* w_ih, const T* w_hh, int B, int in, int H) {
  const int G = 4 * H;
  std::vector<T> ga(static_cast<std::size_t>(B) * G);  // d(pre-activations a)
  for (int b = 0; b < B; ++b) {
    T* gb = &ga[static_cast<std::size_t>(b) * G];
    for (int j = 0; j < H; ++j) {
      const int k = b * H + j;
      const T gi = cache.i[k], gf = cache.f[k], gg = cache.g[k], go = cache.o[k];
      const T tc = cache.tc[k];
      const T dct = (dc_out ? dc_out[k] : T(0)) + dh_out[k] * go * (T(1) - tc * tc);
      gb[j] = dct * gg * gi * (T(1) - gi);
      gb[H + j] = dct * c[k] * gf * (T(1) - gf);
      gb[2 * H + j] = dct * gi * (T(1) - gg * gg);
      gb[3 * H + j] = dh_out[k] * tc * go * (T(1) - go);
      if (dc) dc[k] += dct * gf;
    }
  }
  AddLinearBackward(dx, dw_ih, db_ih, ga.data(), x, w_ih, B, G, in);
  AddLinearBackward(dh, dw_hh, db_hh, ga.data(), h, w_hh, B, G, H);
}

}  // namespace rnnsearch::ops::ref
