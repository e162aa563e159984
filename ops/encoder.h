// One bidirectional encoder layer (docs/model.md, Forward 2) on oneDNN's RNN
// primitive: lbr_gru for CellType::kGru, vanilla_lstm for kLstm.
//
//   h: [Tx, B, 2He] = [fwd ; bwd] over x: [Tx, B, in] with lengths: [B].
//
// - lengths[b] is in 1..Tx; positions t >= lengths[b] are padding.
// - The forward direction reads x[0..len_b-1, b]; the backward direction
//   starts at the sentence's own last real token x[len_b-1, b] and reads
//   right to left. Both start from a zero state (and zero LSTM cell state).
// - h is exactly 0 at padded positions; gradients given there are ignored;
//   x at padded positions does not influence anything, and dx receives
//   nothing there.
// - Parameters of each direction are in docs/model.md's layout
//   (encoder.L.fwd.* and encoder.L.bwd.*; see ops/rnn_cell.h). They are
//   converted to oneDNN's layout once per Forward (ops/rnn_weights.h).
//
// How: oneDNN runs left to right twice with one forward_training
// primitive: on x, and on a copy of x in which the first len_b steps of
// every sentence are reversed (padding stays at the end); the second
// output is reversed back into the bwd half of h. Each run keeps its
// workspace for the backward primitive (created with the forward
// descriptor as hint). Every primitive and buffer is created in the
// constructor for one (B, Tx, in, He) (callers keep one object per batch
// shape); Forward and Backward allocate no buffers.
#pragma once

#include <cstdint>
#include <dnnl.hpp>
#include <vector>

#include "ops/context.h"
#include "ops/rnn_cell.h"

namespace rnnsearch::ops {

class EncoderLayer {
 public:
  EncoderLayer(Context& ctx, CellType cell, int batch, int max_len, int input, int hidden);
  // Copies would share oneDNN buffers; moving is fine.
  EncoderLayer(const EncoderLayer&) = delete;
  EncoderLayer& operator=(const EncoderLayer&) = delete;
  EncoderLayer(EncoderLayer&&) = default;

  // h: [Tx, B, 2He]; x: [Tx, B, in]; lengths: [B].
  void Forward(float* h, const float* x, const std::int32_t* lengths, const RnnParams& fwd,
               const RnnParams& bwd);

  // Must follow the Forward of the same x, lengths and parameters (x must be
  // unchanged since). ADDS into dx: [Tx, B, in] (may be nullptr) and the
  // gradients of both directions' parameters; dh: [Tx, B, 2He].
  void Backward(float* dx, const RnnGrads& dfwd, const RnnGrads& dbwd, const float* dh,
                const float* x, const std::int32_t* lengths);

  // Floating-point operations of one Forward + Backward, counting the
  // matrix products only (what oneDNN computes, padding included):
  // per direction, the forward does 2 * Tx * B * G*He * (in + He) (input
  // and recurrent products), the backward twice that (data gradients, and
  // weight gradients); G = GateCount(cell), two directions.
  static double ForwardBackwardFlops(CellType cell, int batch, int max_len, int input, int hidden);

 private:
  // A primitive with its arguments bound once, run through oneDNN's C API
  // so that a call builds no argument map. It co-owns its memories; those
  // whose data changes per call (x) get a new data handle, not a new object.
  struct Exec {
    dnnl::primitive prim;
    std::vector<dnnl::memory> mems;
    std::vector<dnnl_exec_arg_t> args;
    void Add(int arg, const dnnl::memory& mem);
    void Run(dnnl::stream& stream) const;
  };

  struct Direction {
    dnnl::memory src_layer;      // [Tx, B, in]: x (fwd) or its per-sentence reversal (bwd)
    dnnl::memory dst_layer;      // [Tx, B, He], kept for the backward primitive
    dnnl::memory workspace;      // kept from forward_training for backward
    dnnl::memory weights_layer;  // user layout ldigo [in, G, He], packed by Forward
    dnnl::memory weights_iter;   // user layout ldigo [He, G, He]
    dnnl::memory bias;           // ldgo [Gb, He]
    Exec fwd, bwd;
  };

  dnnl::memory InLayout(const dnnl::memory& user, const dnnl::memory::desc& want,
                        std::vector<Exec>& reorders, bool to_user);

  Context& ctx_;
  CellType cell_;
  int B_, T_, in_, H_;
  Direction dir_[2];
  std::vector<Exec> fwd_reorders_;   // user weights -> forward primitive's layout
  std::vector<Exec> bwd_reorders_;   // user weights -> backward primitive's layout
  std::vector<Exec> diff_reorders_;  // backward's weight gradients -> user layout
  dnnl::memory scratchpad_;          // shared by both primitives (run one at a time)
  dnnl::memory diff_src_layer_;      // [Tx, B, in], shared by both directions
  dnnl::memory diff_dst_layer_;      // [Tx, B, He], shared
  dnnl::memory diff_weights_layer_, diff_weights_iter_;  // the backward primitive's layout
  dnnl::memory user_diff_weights_layer_, user_diff_weights_iter_;  // ldigo
  dnnl::memory diff_bias_;                                         // ldgo [Gb, He]
  dnnl::memory zero_state_;                       // [1, 1, B, He] zeros: h_0 (and c_0)
  dnnl::memory diff_src_iter_, diff_src_iter_c_;  // [1, 1, B, He], unused outputs
};

}  // namespace rnnsearch::ops
