// Naive reference of one decoder cell step (ops/decoder_cell.h), templated
// on the scalar type T: the single-step GRU / LSTM of ops/rnn_cell_ref.h
// applied to the concatenated input x = [y~ ; c] ([B, E + 2He]), so the
// decoder's cell math is written once. Unlike the optimised op it makes no
// batched input product, keeps no gates between calls and takes the LSTM
// memory cell as an explicit input and output.
#pragma once

#include <cstddef>
#include <vector>

#include "ops/decoder_cell.h"
#include "ops/rnn_cell.h"
#include "ops/rnn_cell_ref.h"

namespace rnnsearch::ops::ref {

template <class T>
struct DecoderCellCache {
  std::vector<T> x;  // [B, E + 2He]
  GruStepCache<T> gru;
  LstmStepCache<T> lstm;
};

// x: [B, E + C] = [y | c] row by row.
template <class T>
std::vector<T> ConcatInput(const T* y, const T* c, const DecoderCellDims& d) {
  const int E = d.emb_dim, C = d.ctx_dim;
  std::vector<T> x(static_cast<std::size_t>(d.batch) * (E + C));
  for (int b = 0; b < d.batch; ++b) {
    for (int e = 0; e < E; ++e) x[b * (E + C) + e] = y[b * E + e];
    for (int e = 0; e < C; ++e) x[b * (E + C) + E + e] = c[b * C + e];
  }
  return x;
}

// s: [B, Hd]; mem: [B, Hd] (LSTM; unused for the GRU); y: [B, E];
// c: [B, 2He]; s_prev, mem_prev: [B, Hd]; B = d.batch.
template <class T>
void DecoderCellStepForward(CellType cell, T* s, T* mem, DecoderCellCache<T>& cache, const T* y,
                            const T* c, const T* s_prev, const T* mem_prev, const RnnParamsOf<T>& p,
                            const DecoderCellDims& d) {
  cache.x = ConcatInput(y, c, d);
  const int in = d.emb_dim + d.ctx_dim;
  if (cell == CellType::kGru) {
    GruStepForward(s, cache.gru, cache.x.data(), s_prev, p.weight_ih, p.weight_hh, p.bias_ih,
                   p.bias_hh, d.batch, in, d.dec_dim);
  } else {
    LstmStepForward(s, mem, cache.lstm, cache.x.data(), s_prev, mem_prev, p.weight_ih, p.weight_hh,
                    p.bias_ih, p.bias_hh, d.batch, in, d.dec_dim);
  }
}

// ds, d_mem: gradients of s and mem (d_mem: LSTM only, may be null for
// 0). Adds into dy: [B, E], dc: [B, 2He], ds_prev: [B, Hd],
// d_mem_prev: [B, Hd] (LSTM; may be null) and g.
template <class T>
void DecoderCellStepBackward(CellType cell, T* dy, T* dc, T* ds_prev, T* d_mem_prev,
                             const RnnGradsOf<T>& g, const T* ds, const T* d_mem,
                             const DecoderCellCache<T>& cache, const T* s_prev, const T* mem_prev,
                             const RnnParamsOf<T>& p, const DecoderCellDims& d) {
  const int E = d.emb_dim, C = d.ctx_dim, in = E + C;
  std::vector<T> dx(static_cast<std::size_t>(d.batch) * in, T(0));
  if (cell == CellType::kGru) {
    GruStepBackward(dx.data(), ds_prev, g.weight_ih, g.weight_hh, g.bias_ih, g.bias_hh, ds,
                    cache.gru, cache.x.data(), s_prev, p.weight_ih, p.weight_hh, d.batch, in,
                    d.dec_dim);
  } else {
    LstmStepBackward(dx.data(), ds_prev, d_mem_prev, g.weight_ih, g.weight_hh, g.bias_ih, g.bias_hh,
                     ds, d_mem, cache.lstm, cache.x.data(), s_prev, mem_prev, p.weight_ih,
                     p.weight_hh, d.batch, in, d.dec_dim);
  }
  for (int b = 0; b < d.batch; ++b) {
    for (int e = 0; e < E; ++e) dy[b * E + e] += dx[b * in + e];
    for (int e = 0; e < C; ++e) dc[b * C + e] += dx[b * in + E + e];
  }
}

}  // namespace rnnsearch::ops::ref
