// The recurrent cell of the RNNsearch decoder (docs/model.md, "Forward" step 5
// and "The GRU"): s_{i+1} = cell([y~_i ; c_i], s_i), a linear-before-reset
// GRU (gates r, z, n) or PyTorch's LSTM (gates i, f, g, o; its memory cell
// starts at 0), with decoder.cell.weight_ih [G*Hd, E + 2He] (columns y~
// then c), weight_hh [G*Hd, Hd], bias_ih, bias_hh [G*Hd], G = 3 or 4.
// Step i (from 0) reads the target-input embedding y~_i (of <s>, y_1, ...),
// the context c_i and the state s_i.
//
// Training (class DecoderCell), with the time-major sequence buffers of
// the decoder: y_emb [Ty, B, E], contexts [Ty, B, 2He] (block i = c_i),
// states [Ty+1, B, Hd] (block 0 = s_0 from decoder.init):
//   ForwardBatch         once per batch: the y~ part of the gate inputs of
//                        ALL steps in one product, Gy = Y~ W_ih[:, :E]^T +
//                        b_ih ([Ty*B, G*Hd]; the column block of weight_ih
//                        is a strided view, not a copy);
//   ForwardStep(i)       i = 0..Ty-1: only c_i W_ih[:, E:]^T and
//                        s_i W_hh^T are multiplied; writes states block i+1
//                        and keeps the gates for backward;
//   BackwardStep(i)      i = Ty-1 down to 0: reads d_states block i+1
//                        (complete: the readout's share and step i+1's),
//                        adds into d_states block i and d_contexts block i;
//                        keeps the gate gradients;
//   BackwardBatch        once, after the steps: every weight and bias
//                        gradient and dY~ as products over all Ty*B rows.
// Buffers are allocated once, in the constructor. Backward adds into every
// gradient buffer. The LSTM memory cell and its gradient stay inside.
//
// Decoding (class DecoderCellDecode): one step for n <= max rows (beam
// hypotheses), nothing stored; the LSTM memory cell is passed in and out.
#pragma once

#include <vector>

#include "ops/context.h"
#include "ops/matmul_view.h"
#include "ops/rnn_cell.h"

namespace rnnsearch::ops {

struct DecoderCellDims {
  int steps = 0;    // Ty (training only)
  int batch = 0;    // B (the maximum rows, for DecoderCellDecode)
  int emb_dim = 0;  // E
  int ctx_dim = 0;  // 2He
  int dec_dim = 0;  // Hd
};

class DecoderCell {
 public:
  DecoderCell(Context& ctx, CellType cell, const DecoderCellDims& dims);

  // y_emb: [Ty, B, E]; p: decoder.cell.* (weight_ih and bias_ih used here).
  void ForwardBatch(const float* y_emb, const RnnParams& p);

  // states: [Ty+1, B, Hd] (reads block i, writes block i+1);
  // contexts: [Ty, B, 2He] (reads block i).
  void ForwardStep(int i, float* states, const float* contexts, const RnnParams& p);

  // d_states: [Ty+1, B, Hd] (reads block i+1, adds into block i);
  // d_contexts: [Ty, B, 2He] (adds into block i); states: the forward's.
  void BackwardStep(int i, float* d_states, float* d_contexts, const float* states,
                    const RnnParams& p);

  // d_y_emb: [Ty, B, E] (added into); g: decoder.cell.* gradients (added
  // into); y_emb, states, contexts: the forward's.
  void BackwardBatch(float* d_y_emb, const RnnGrads& g, const float* y_emb, const float* states,
                     const float* contexts, const RnnParams& p);

  // Floating-point operations of one batch's Forward + Backward: the
  // products only, 3 x the forward's 2 Ty B G*Hd (E + 2He + Hd) (the
  // backward's data and weight gradients are twice the forward), as
  // ../shared/peers/pytorch_rnnsearch.py counts them.
  static double ForwardBackwardFlops(CellType cell, const DecoderCellDims& dims);

 private:
  CellType cell_;
  DecoderCellDims d_;
  int gates_;                      // G * Hd
  std::vector<float> gx_;          // [Ty, B, G*Hd] input pre-activations, then activations
  std::vector<float> gh_;          // GRU: [Ty, B, 3Hd] W_hh s + b_hh
  std::vector<float> mem_;         // LSTM: [Ty+1, B, Hd] memory cells, block 0 = 0
  std::vector<float> d_gx_;        // [Ty, B, G*Hd] gradient of the input pre-activations
  std::vector<float> d_gh_;        // GRU: [Ty, B, 3Hd] of W_hh s + b_hh (LSTM: = d_gx_)
  std::vector<float> d_mem_;       // LSTM: [B, Hd] gradient of the memory cell, carried
  MatmulView y_mm_, c_mm_, h_mm_;  // forward products
  MatmulView d_h_mm_, d_c_mm_;     // per-step data gradients
  MatmulView d_wy_mm_, d_wc_mm_, d_whh_mm_, d_y_mm_;  // once per batch
};

class DecoderCellDecode {
 public:
  // dims.batch: the most rows a Step gets; dims.steps is unused.
  DecoderCellDecode(Context& ctx, CellType cell, const DecoderCellDims& dims);

  // s_out: [n, Hd] (may alias s_prev); mem_out: [n, Hd] LSTM memory cell
  // (may alias mem_prev; null for the GRU); y_emb: [n, E]; ctx: [n, 2He];
  // s_prev: [n, Hd]; mem_prev: [n, Hd] (LSTM: zeros at the first step;
  // null for the GRU); 1 <= n <= dims.batch.
  void Step(float* s_out, float* mem_out, const float* y_emb, const float* ctx, const float* s_prev,
            const float* mem_prev, int n, const RnnParams& p);

 private:
  CellType cell_;
  DecoderCellDims d_;
  int gates_;
  std::vector<float> gx_, gh_;  // [max rows, G*Hd] scratch
  MatmulView y_mm_, c_mm_, h_mm_;
};

}  // namespace rnnsearch::ops
