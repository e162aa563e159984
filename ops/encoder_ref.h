// Naive reference of one bidirectional encoder layer (ops/encoder.h), in
// plain loops over ops/rnn_cell_ref.h, templated on T so tests can run it
// in double for finite differences. Same contract as EncoderLayer:
//
//   h: [Tx, B, 2He] = [fwd ; bwd], x: [Tx, B, in], lengths: [B] (1..Tx).
//   The forward direction reads x[0..len_b-1, b] left to right, the
//   backward direction reads x[len_b-1..0, b] right to left (it starts at
//   the sentence's own last real token); both start from a zero state (and
//   a zero cell state for the LSTM). h is 0 at padded positions
//   (t >= len_b), and the gradient given there is ignored.
//
// Backward must follow the Forward of the same inputs; it ADDS into dx and
// the parameter gradients of both directions (dx may be nullptr).
#pragma once

#include <cassert>
#include <cstdint>
#include <vector>

#include "ops/rnn_cell.h"
#include "ops/rnn_cell_ref.h"

namespace rnnsearch::ops::ref {

template <class T>
class EncoderRef {
 public:
  EncoderRef(CellType cell, int batch, int max_len, int input, int hidden)
      : cell_(cell), B_(batch), T_(max_len), in_(input), H_(hidden) {}

  void Forward(T* h, const T* x, const std::int32_t* lengths, const RnnParamsOf<T>& fwd,
               const RnnParamsOf<T>& bwd) {
    const int H2 = 2 * H_;
    for (std::size_t i = 0; i < static_cast<std::size_t>(T_) * B_ * H2; ++i) h[i] = T(0);
    steps_.assign(2, std::vector<std::vector<Step>>(B_));
    for (int d = 0; d < 2; ++d) {
      const RnnParamsOf<T>& p = d == 0 ? fwd : bwd;
      for (int b = 0; b < B_; ++b) {
        const int len = lengths[b];
        assert(len >= 1 && len <= T_);
        std::vector<T> state(H_, T(0)), cell(H_, T(0));
        auto& steps = steps_[d][b];
        steps.resize(len);
        for (int s = 0; s < len; ++s) {
          const int t = Position(d, len, s);
          Step& st = steps[s];
          st.h_prev = state;
          st.c_prev = cell;
          const T* xt = x + (static_cast<std::size_t>(t) * B_ + b) * in_;
          if (cell_ == CellType::kGru) {
            GruStepForward(state.data(), st.gru, xt, st.h_prev.data(), p.weight_ih, p.weight_hh,
                           p.bias_ih, p.bias_hh, 1, in_, H_);
          } else {
            LstmStepForward(state.data(), cell.data(), st.lstm, xt, st.h_prev.data(),
                            st.c_prev.data(), p.weight_ih, p.weight_hh, p.bias_ih, p.bias_hh, 1,
                            in_, H_);
          }
          T* ht = h + (static_cast<std::size_t>(t) * B_ + b) * H2 + d * H_;
          for (int j = 0; j < H_; ++j) ht[j] = state[j];
        }
      }
    }
  }

  void Backward(T* dx, const RnnGradsOf<T>& dfwd, const RnnGradsOf<T>& dbwd, const T* dh,
                const T* x, const std::int32_t* lengths, const RnnParamsOf<T>& fwd,
                const RnnParamsOf<T>& bwd) {
    const int H2 = 2 * H_;
    for (int d = 0; d < 2; ++d) {
      const RnnParamsOf<T>& p = d == 0 ? fwd : bwd;
      const RnnGradsOf<T>& g = d == 0 ? dfwd : dbwd;
      for (int b = 0; b < B_; ++b) {
        const int len = lengths[b];
        assert(static_cast<int>(steps_[d][b].size()) == len);
        std::vector<T> dstate(H_, T(0)), dcell(H_, T(0)), dout(H_), dh_prev(H_), dc_prev(H_);
        for (int s = len - 1; s >= 0; --s) {
          const int t = Position(d, len, s);
          const Step& st = steps_[d][b][s];
          const T* dht = dh + (static_cast<std::size_t>(t) * B_ + b) * H2 + d * H_;
          for (int j = 0; j < H_; ++j) {
            dout[j] = dstate[j] + dht[j];
            dh_prev[j] = T(0);
            dc_prev[j] = T(0);
          }
          const std::size_t row = static_cast<std::size_t>(t) * B_ + b;
          T* dxt = dx ? dx + row * in_ : nullptr;
          if (cell_ == CellType::kGru) {
            GruStepBackward(dxt, dh_prev.data(), g.weight_ih, g.weight_hh, g.bias_ih, g.bias_hh,
                            dout.data(), st.gru, x + row * in_, st.h_prev.data(), p.weight_ih,
                            p.weight_hh, 1, in_, H_);
          } else {
            LstmStepBackward(dxt, dh_prev.data(), dc_prev.data(), g.weight_ih, g.weight_hh,
                             g.bias_ih, g.bias_hh, dout.data(), dcell.data(), st.lstm,
                             x + row * in_, st.h_prev.data(), st.c_prev.data(), p.weight_ih,
                             p.weight_hh, 1, in_, H_);
          }
          dstate = dh_prev;
          dcell = dc_prev;
        }
      }
    }
  }

 private:
  struct Step {
    std::vector<T> h_prev, c_prev;  // [H]: the state this step started from
    GruStepCache<T> gru;
    LstmStepCache<T> lstm;
  };

  // The source position of step s of direction d in a sentence of length len.
  static int Position(int d, int len, int s) { return d == 0 ? s : len - 1 - s; }

  CellType cell_;
  int B_, T_, in_, H_;
  std::vector<std::vector<std::vector<Step>>> steps_;  // [direction][b][step]
};

}  // namespace rnnsearch::ops::ref
