// The one place that converts recurrent weights between docs/model.md's
// (PyTorch's) layout and oneDNN's RNN layout, gate order and bias
// convention, for one direction of one layer (L = D = 1).
//
// PyTorch (docs/model.md), G = GateCount(cell):
//   weight_ih [G*H, in], weight_hh [G*H, H], bias_ih, bias_hh [G*H];
//   GRU gates r, z, n; LSTM gates i, f, g, o.
// oneDNN user layout (plain `ldigo` / `ldgo`):
//   weights_layer [in, G, H], weights_iter [H, G, H], bias [Gb, H];
//   lbr_gru gates u(=z), r, o(=n) and Gb = 4 bias rows
//     [b_iz + b_hz, b_ir + b_hr, b_in, b_hn];
//   vanilla_lstm gates i, f, c(=g), o (PyTorch's order) and Gb = 4 bias
//     rows b_ih + b_hh.
// The gradient map is the adjoint of the weight map: weights go back
// through the inverse permutation, and the gradient of a summed bias goes
// to both bias_ih and bias_hh.
#pragma once

#include <cstddef>

#include "ops/rnn_cell.h"

namespace rnnsearch::ops {

// Bias rows in oneDNN's layout: 4 for both cells (lbr_gru: 3 gates plus
// the recurrent candidate bias; vanilla_lstm: one per gate).
constexpr int DnnlBiasGates(CellType /*cell*/) { return 4; }

// The oneDNN gate (0..G-1) that holds PyTorch gate `g`.
constexpr int DnnlGate(CellType cell, int g) {
  return cell == CellType::kGru ? (g == 0 ? 1 : g == 1 ? 0 : 2) : g;
}

// Element counts of the oneDNN user buffers of one direction.
inline std::size_t DnnlWeightsLayerSize(CellType cell, int in, int hidden) {
  return static_cast<std::size_t>(in) * GateCount(cell) * hidden;
}
inline std::size_t DnnlWeightsIterSize(CellType cell, int hidden) {
  return static_cast<std::size_t>(hidden) * GateCount(cell) * hidden;
}
inline std::size_t DnnlBiasSize(CellType cell, int hidden) {
  return static_cast<std::size_t>(DnnlBiasGates(cell)) * hidden;
}

// PyTorch -> oneDNN: overwrites weights_layer: [in, G, H] (ldigo),
// weights_iter: [H, G, H] (ldigo) and bias: [Gb, H] (ldgo).
void PackDnnlWeights(float* weights_layer, float* weights_iter, float* bias, CellType cell,
                     const RnnParams& params, int in, int hidden);

// oneDNN gradients -> PyTorch, ADDING into `grads`: diff_weights_layer:
// [in, G, H], diff_weights_iter: [H, G, H], diff_bias: [Gb, H].
void AddDnnlGradients(const RnnGrads& grads, CellType cell, const float* diff_weights_layer,
                      const float* diff_weights_iter, const float* diff_bias, int in, int hidden);

}  // namespace rnnsearch::ops
