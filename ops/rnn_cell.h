// The recurrent cell kinds of docs/model.md ("The GRU"): `model.cell: gru` is
// the linear-before-reset GRU (PyTorch nn.GRU, oneDNN lbr_gru, gates
// r, z, n) and `model.cell: lstm` is PyTorch's nn.LSTM (oneDNN
// vanilla_lstm, gates i, f, g, o).
//
// RnnParamsOf / RnnGradsOf point at one direction's parameters (or their
// gradients) in docs/model.md's (PyTorch's) layout, G = GateCount(cell):
//   weight_ih: [G*H, in], weight_hh: [G*H, H], bias_ih, bias_hh: [G*H].
#pragma once

namespace rnnsearch::ops {

enum class CellType { kGru, kLstm };

// Rows of weight_ih / weight_hh per hidden unit: 3 for the GRU, 4 for the LSTM.
constexpr int GateCount(CellType cell) { return cell == CellType::kGru ? 3 : 4; }

template <class T>
struct RnnParamsOf {
  const T* weight_ih;  // [G*H, in]
  const T* weight_hh;  // [G*H, H]
  const T* bias_ih;    // [G*H]
  const T* bias_hh;    // [G*H]
};

template <class T>
struct RnnGradsOf {
  T* weight_ih;  // [G*H, in]
  T* weight_hh;  // [G*H, H]
  T* bias_ih;    // [G*H]
  T* bias_hh;    // [G*H]
};

using RnnParams = RnnParamsOf<float>;
using RnnGrads = RnnGradsOf<float>;

}  // namespace rnnsearch::ops
