// The elementwise part of one decoder cell step for one row (ops/
// decoder_cell.h), shared by training and decoding. Gate blocks follow
// docs/model.md: GRU r, z, n; LSTM i, f, g, o; each block is H wide. Loops are
// vectorised (`#pragma omp simd`, ops/vec_math.h). Internal to ops/.
#pragma once

#include "ops/vec_math.h"

namespace rnnsearch::ops::cell_kernels {

// GRU. gx: [3H] W_ih x + b_ih in, the activations r, z, n out;
// gh: [3H] W_hh s + b_hh; s_prev, s: [H] (s may alias s_prev).
inline void GruForward(float* s, float* gx, const float* gh, const float* s_prev, int H) {
#pragma omp simd
  for (int j = 0; j < H; ++j) {
    const float r = VecSigmoid(gx[j] + gh[j]);
    const float z = VecSigmoid(gx[H + j] + gh[H + j]);
    const float n = VecTanh(gx[2 * H + j] + r * gh[2 * H + j]);
    gx[j] = r;
    gx[H + j] = z;
    gx[2 * H + j] = n;
    s[j] = (1.0f - z) * n + z * s_prev[j];
  }
}

// GRU backward. ds: [H] gradient of s; act: [3H] r, z, n; gh: [3H] as in
// the forward; d_gx, d_gh: [3H] gradients of the input and hidden
// pre-activations (written); ds_prev: [H] += the direct share dh * z.
inline void GruBackward(float* d_gx, float* d_gh, float* ds_prev, const float* ds, const float* act,
                        const float* gh, const float* s_prev, int H) {
#pragma omp simd
  for (int j = 0; j < H; ++j) {
    const float r = act[j], z = act[H + j], n = act[2 * H + j];
    const float g = ds[j];
    const float dan = g * (1.0f - z) * (1.0f - n * n);
    const float daz = g * (s_prev[j] - n) * z * (1.0f - z);
    const float dar = dan * gh[2 * H + j] * r * (1.0f - r);
    d_gx[j] = dar;
    d_gx[H + j] = daz;
    d_gx[2 * H + j] = dan;
    d_gh[j] = dar;
    d_gh[H + j] = daz;
    d_gh[2 * H + j] = dan * r;
    ds_prev[j] += g * z;
  }
}

// LSTM. ga: [4H] W_ih x + b_ih + W_hh h + b_hh in, the activations
// i, f, g, o out; mem_prev, mem: [H] memory cells; h: [H] (h and mem may
// alias the previous ones).
inline void LstmForward(float* h, float* mem, float* ga, const float* mem_prev, int H) {
#pragma omp simd
  for (int j = 0; j < H; ++j) {
    const float i = VecSigmoid(ga[j]);
    const float f = VecSigmoid(ga[H + j]);
    const float g = VecTanh(ga[2 * H + j]);
    const float o = VecSigmoid(ga[3 * H + j]);
    const float c = f * mem_prev[j] + i * g;
    ga[j] = i;
    ga[H + j] = f;
    ga[2 * H + j] = g;
    ga[3 * H + j] = o;
    mem[j] = c;
    h[j] = o * VecTanh(c);
  }
}

// LSTM backward. dh: [H] gradient of h; d_mem: [H] gradient of mem in, of
// mem_prev out; act: [4H] i, f, g, o; d_ga: [4H] gradient of the
// pre-activations (written).
inline void LstmBackward(float* d_ga, float* d_mem, const float* dh, const float* act,
                         const float* mem, const float* mem_prev, int H) {
#pragma omp simd
  for (int j = 0; j < H; ++j) {
    const float i = act[j], f = act[H + j], g = act[2 * H + j], o = act[3 * H + j];
    const float tc = VecTanh(mem[j]);
    const float dc = d_mem[j] + dh[j] * o * (1.0f - tc * tc);
    d_ga[j] = dc * g * i * (1.0f - i);
    d_ga[H + j] = dc * mem_prev[j] * f * (1.0f - f);
    d_ga[2 * H + j] = dc * i * (1.0f - g * g);
    d_ga[3 * H + j] = dh[j] * tc * o * (1.0f - o);
    d_mem[j] = dc * f;
  }
}

}  // namespace rnnsearch::ops::cell_kernels
