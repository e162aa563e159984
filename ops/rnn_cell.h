// The recurrent cell kinds of MODEL.md ("The GRU"): `model.cell: gru` is
// the linear-before-reset GRU (PyTorch nn.GRU, oneDNN lbr_gru, gates
// r, z, n) and `model.cell: lstm` is PyTorch's nn.LSTM (oneDNN
// vanilla_lstm, gates i, f, g, o).
#pragma once

namespace rnnsearch::ops {

enum class CellType { kGru, kLstm };

// Rows of weight_ih / weight_hh per hidden unit: 3 for the GRU, 4 for the LSTM.
constexpr int GateCount(CellType cell) { return cell == CellType::kGru ? 3 : 4; }

}  // namespace rnnsearch::ops
