#include "ops/encoder.h"

#include <algorithm>
#include <cassert>
#include <cstring>

#include "ops/rnn_weights.h"

namespace rnnsearch::ops {
namespace {

using dnnl::memory;
using Tag = memory::format_tag;
constexpr auto kF32 = memory::data_type::f32;
constexpr auto kL2R = dnnl::rnn_direction::unidirectional_left2right;

// The primitives of one cell type and the layouts they chose for `any`.
struct RnnPrimitives {
  dnnl::primitive fwd, bwd;
  memory::desc fwd_weights_layer, fwd_weights_iter, bwd_weights_layer, bwd_weights_iter;
  memory::desc diff_weights_layer, diff_weights_iter, workspace, fwd_scratchpad, bwd_scratchpad;
};

// The plain-layout descriptors the primitives are created from. The initial
// states (`state`: [1, 1, B, He]) are passed explicitly as zeros: with
// src_iter omitted, oneDNN 2.6's LSTM backward adds garbage into
// diff_weights_iter for the first step (seen with a T = 1 batch), while
// with src_iter given it is right.
struct RnnDescs {
  memory::desc src_layer, dst_layer, weights_layer_any, weights_iter_any, bias, state, none;
};

template <class FwdPd, class BwdPd>
RnnPrimitives Collect(const FwdPd& f, const BwdPd& b) {
  RnnPrimitives p;
  p.fwd = dnnl::primitive(f);
  p.bwd = dnnl::primitive(b);
  p.fwd_weights_layer = f.weights_layer_desc();
  p.fwd_weights_iter = f.weights_iter_desc();
  p.bwd_weights_layer = b.weights_layer_desc();
  p.bwd_weights_iter = b.weights_iter_desc();
  p.diff_weights_layer = b.diff_weights_layer_desc();
  p.diff_weights_iter = b.diff_weights_iter_desc();
  p.workspace = f.workspace_desc();
  p.fwd_scratchpad = f.scratchpad_desc();
  p.bwd_scratchpad = b.scratchpad_desc();
  return p;
}

RnnPrimitives MakeGru(dnnl::engine& eng, const RnnDescs& d, const dnnl::primitive_attr& attr) {
  using dnnl::lbr_gru_backward;
  using dnnl::lbr_gru_forward;
  const lbr_gru_forward::desc fd(dnnl::prop_kind::forward_training, kL2R, d.src_layer, d.state,
                                 d.weights_layer_any, d.weights_iter_any, d.bias, d.dst_layer,
                                 d.none);
  const lbr_gru_forward::primitive_desc fpd(fd, attr, eng);
  const lbr_gru_backward::desc bd(dnnl::prop_kind::backward, kL2R, d.src_layer, d.state,
                                  d.weights_layer_any, d.weights_iter_any, d.bias, d.dst_layer,
                                  d.none, d.src_layer, d.state, d.weights_layer_any,
                                  d.weights_iter_any, d.bias, d.dst_layer, d.none);
  const lbr_gru_backward::primitive_desc bpd(bd, attr, eng, fpd);
  return Collect(fpd, bpd);
}

RnnPrimitives MakeLstm(dnnl::engine& eng, const RnnDescs& d, const dnnl::primitive_attr& attr) {
  using dnnl::lstm_backward;
  using dnnl::lstm_forward;
  const lstm_forward::desc fd(dnnl::prop_kind::forward_training, kL2R, d.src_layer, d.state,
                              d.state, d.weights_layer_any, d.weights_iter_any, d.bias, d.dst_layer,
                              d.none, d.none);
  const lstm_forward::primitive_desc fpd(fd, attr, eng);
  const lstm_backward::desc bd(dnnl::prop_kind::backward, kL2R, d.src_layer, d.state, d.state,
                               d.weights_layer_any, d.weights_iter_any, d.bias, d.dst_layer, d.none,
                               d.none, d.src_layer, d.state, d.state, d.weights_layer_any,
                               d.weights_iter_any, d.bias, d.dst_layer, d.none, d.none);
  const lstm_backward::primitive_desc bpd(bd, attr, eng, fpd);
  return Collect(fpd, bpd);
}

float* Data(const memory& m) { return static_cast<float*>(m.get_data_handle()); }

}  // namespace

void EncoderLayer::Exec::Run(dnnl::stream& stream) const {
  const dnnl_status_t status =
      dnnl_primitive_execute(prim.get(), stream.get(), static_cast<int>(args.size()), args.data());
  dnnl::error::wrap_c_api(status, "EncoderLayer: could not execute a primitive");
}

void EncoderLayer::Exec::Add(int arg, const dnnl::memory& mem) {
  mems.push_back(mem);
  args.push_back({arg, mem.get()});
}

// Returns `user` if the primitive wants its layout, else a new memory in the
// wanted layout and a reorder (user -> it, or it -> user with to_user).
dnnl::memory EncoderLayer::InLayout(const dnnl::memory& user, const dnnl::memory::desc& want,
                                    std::vector<Exec>& reorders, bool to_user) {
  if (user.get_desc() == want) return user;
  memory mine(want, ctx_.engine());
  Exec e;
  const memory& from = to_user ? mine : user;
  const memory& to = to_user ? user : mine;
  e.prim = dnnl::reorder(from, to);
  e.Add(DNNL_ARG_FROM, from);
  e.Add(DNNL_ARG_TO, to);
  reorders.push_back(std::move(e));
  return mine;
}

EncoderLayer::EncoderLayer(Context& ctx, CellType cell, int batch, int max_len, int input,
                           int hidden)
    : ctx_(ctx), cell_(cell), B_(batch), T_(max_len), in_(input), H_(hidden) {
  assert(batch >= 1 && max_len >= 1 && input >= 1 && hidden >= 1);
  const memory::dim T = T_, B = B_, I = in_, H = H_, G = GateCount(cell_);
  RnnDescs d;
  d.src_layer = memory::desc({T, B, I}, kF32, Tag::tnc);
  d.dst_layer = memory::desc({T, B, H}, kF32, Tag::tnc);
  d.weights_layer_any = memory::desc({1, 1, I, G, H}, kF32, Tag::any);
  d.weights_iter_any = memory::desc({1, 1, H, G, H}, kF32, Tag::any);
  d.bias = memory::desc({1, 1, DnnlBiasGates(cell_), H}, kF32, Tag::ldgo);
  d.state = memory::desc({1, 1, B, H}, kF32, Tag::ldnc);
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  dnnl::engine& eng = ctx_.engine();
  const RnnPrimitives p = cell_ == CellType::kGru ? MakeGru(eng, d, attr) : MakeLstm(eng, d, attr);

  const memory::desc user_wl({1, 1, I, G, H}, kF32, Tag::ldigo);
  const memory::desc user_wi({1, 1, H, G, H}, kF32, Tag::ldigo);
  scratchpad_ =
      memory(p.fwd_scratchpad.get_size() >= p.bwd_scratchpad.get_size() ? p.fwd_scratchpad
                                                                        : p.bwd_scratchpad,
             eng);
  diff_src_layer_ = memory(d.src_layer, eng);
  diff_dst_layer_ = memory(d.dst_layer, eng);
  diff_bias_ = memory(d.bias, eng);
  zero_state_ = memory(d.state, eng);
  std::memset(Data(zero_state_), 0, d.state.get_size());
  diff_src_iter_ = memory(d.state, eng);
  diff_src_iter_c_ = memory(d.state, eng);
  const bool lstm = cell_ == CellType::kLstm;
  user_diff_weights_layer_ = memory(user_wl, eng);
  user_diff_weights_iter_ = memory(user_wi, eng);
  diff_weights_layer_ = InLayout(user_diff_weights_layer_, p.diff_weights_layer, diff_reorders_,
                                 /*to_user=*/true);
  diff_weights_iter_ = InLayout(user_diff_weights_iter_, p.diff_weights_iter, diff_reorders_,
                                /*to_user=*/true);

  for (int k = 0; k < 2; ++k) {
    Direction& dir = dir_[k];
    // Direction 0 reads the caller's x in place (its handle is set per call).
    dir.src_layer = k == 0 ? memory(d.src_layer, eng, nullptr) : memory(d.src_layer, eng);
    dir.dst_layer = memory(d.dst_layer, eng);
    dir.workspace = memory(p.workspace, eng);
    dir.weights_layer = memory(user_wl, eng);
    dir.weights_iter = memory(user_wi, eng);
    dir.bias = memory(d.bias, eng);
    const memory fwd_wl = InLayout(dir.weights_layer, p.fwd_weights_layer, fwd_reorders_, false);
    const memory fwd_wi = InLayout(dir.weights_iter, p.fwd_weights_iter, fwd_reorders_, false);
    const memory bwd_wl = InLayout(dir.weights_layer, p.bwd_weights_layer, bwd_reorders_, false);
    const memory bwd_wi = InLayout(dir.weights_iter, p.bwd_weights_iter, bwd_reorders_, false);

    dir.fwd.prim = p.fwd;
    dir.fwd.Add(DNNL_ARG_SRC_LAYER, dir.src_layer);
    dir.fwd.Add(DNNL_ARG_SRC_ITER, zero_state_);
    if (lstm) dir.fwd.Add(DNNL_ARG_SRC_ITER_C, zero_state_);
    dir.fwd.Add(DNNL_ARG_WEIGHTS_LAYER, fwd_wl);
    dir.fwd.Add(DNNL_ARG_WEIGHTS_ITER, fwd_wi);
    dir.fwd.Add(DNNL_ARG_BIAS, dir.bias);
    dir.fwd.Add(DNNL_ARG_DST_LAYER, dir.dst_layer);
    dir.fwd.Add(DNNL_ARG_WORKSPACE, dir.workspace);
    dir.fwd.Add(DNNL_ARG_SCRATCHPAD, scratchpad_);

    dir.bwd.prim = p.bwd;
    dir.bwd.Add(DNNL_ARG_SRC_LAYER, dir.src_layer);
    dir.bwd.Add(DNNL_ARG_SRC_ITER, zero_state_);
    if (lstm) dir.bwd.Add(DNNL_ARG_SRC_ITER_C, zero_state_);
    dir.bwd.Add(DNNL_ARG_DIFF_SRC_ITER, diff_src_iter_);
    if (lstm) dir.bwd.Add(DNNL_ARG_DIFF_SRC_ITER_C, diff_src_iter_c_);
    dir.bwd.Add(DNNL_ARG_WEIGHTS_LAYER, bwd_wl);
    dir.bwd.Add(DNNL_ARG_WEIGHTS_ITER, bwd_wi);
    dir.bwd.Add(DNNL_ARG_BIAS, dir.bias);
    dir.bwd.Add(DNNL_ARG_DST_LAYER, dir.dst_layer);
    dir.bwd.Add(DNNL_ARG_WORKSPACE, dir.workspace);
    dir.bwd.Add(DNNL_ARG_DIFF_DST_LAYER, diff_dst_layer_);
    dir.bwd.Add(DNNL_ARG_DIFF_SRC_LAYER, diff_src_layer_);
    dir.bwd.Add(DNNL_ARG_DIFF_WEIGHTS_LAYER, diff_weights_layer_);
    dir.bwd.Add(DNNL_ARG_DIFF_WEIGHTS_ITER, diff_weights_iter_);
    dir.bwd.Add(DNNL_ARG_DIFF_BIAS, diff_bias_);
    dir.bwd.Add(DNNL_ARG_SCRATCHPAD, scratchpad_);
  }
}

void EncoderLayer::Forward(float* h, const float* x, const std::int32_t* lengths,
                           const RnnParams& fwd, const RnnParams& bwd) {
  const int T = T_, B = B_, I = in_, H = H_;
  for (int k = 0; k < 2; ++k) {
    const Direction& dir = dir_[k];
    PackDnnlWeights(Data(dir.weights_layer), Data(dir.weights_iter), Data(dir.bias), cell_,
                    k == 0 ? fwd : bwd, I, H);
  }
  dnnl::stream& stream = ctx_.stream();
  for (const Exec& e : fwd_reorders_) e.Run(stream);

  // The backward direction's input: each sentence's real steps reversed.
  dir_[0].src_layer.set_data_handle(const_cast<float*>(x));
  float* x_rev = Data(dir_[1].src_layer);
#pragma omp parallel for collapse(2) schedule(static)
  for (int t = 0; t < T; ++t) {
    for (int b = 0; b < B; ++b) {
      const int len = lengths[b];
      assert(len >= 1 && len <= T);
      float* dst = x_rev + (static_cast<std::size_t>(t) * B + b) * I;
      if (t < len) {
        std::memcpy(dst, x + (static_cast<std::size_t>(len - 1 - t) * B + b) * I,
                    sizeof(float) * I);
      } else {
        std::memset(dst, 0, sizeof(float) * I);
      }
    }
  }
  dir_[0].fwd.Run(stream);
  dir_[1].fwd.Run(stream);
  stream.wait();

  const float* out_f = Data(dir_[0].dst_layer);
  const float* out_b = Data(dir_[1].dst_layer);
#pragma omp parallel for collapse(2) schedule(static)
  for (int t = 0; t < T; ++t) {
    for (int b = 0; b < B; ++b) {
      const int len = lengths[b];
      float* row = h + (static_cast<std::size_t>(t) * B + b) * 2 * H;
      if (t < len) {
        std::memcpy(row, out_f + (static_cast<std::size_t>(t) * B + b) * H, sizeof(float) * H);
        std::memcpy(row + H, out_b + (static_cast<std::size_t>(len - 1 - t) * B + b) * H,
                    sizeof(float) * H);
      } else {
        std::memset(row, 0, sizeof(float) * 2 * H);
      }
    }
  }
}

void EncoderLayer::Backward(float* dx, const RnnGrads& dfwd, const RnnGrads& dbwd, const float* dh,
                            const float* x, const std::int32_t* lengths) {
  const int T = T_, B = B_, I = in_, H = H_;
  dnnl::stream& stream = ctx_.stream();
  for (const Exec& e : bwd_reorders_) e.Run(stream);
  dir_[0].src_layer.set_data_handle(const_cast<float*>(x));
  float* diff_dst = Data(diff_dst_layer_);
  const float* diff_src = Data(diff_src_layer_);

  for (int k = 0; k < 2; ++k) {
    // Step s of sentence b in direction k is source position t(s) = s
    // (k = 0) or len_b - 1 - s (k = 1).
#pragma omp parallel for collapse(2) schedule(static)
    for (int s = 0; s < T; ++s) {
      for (int b = 0; b < B; ++b) {
        const int len = lengths[b];
        float* dst = diff_dst + (static_cast<std::size_t>(s) * B + b) * H;
        if (s < len) {
          const int t = k == 0 ? s : len - 1 - s;
          std::memcpy(dst, dh + (static_cast<std::size_t>(t) * B + b) * 2 * H + k * H,
                      sizeof(float) * H);
        } else {
          std::memset(dst, 0, sizeof(float) * H);
        }
      }
    }
    // oneDNN adds into its weight gradients, so they start from zero.
    std::memset(Data(diff_weights_layer_), 0, diff_weights_layer_.get_desc().get_size());
    std::memset(Data(diff_weights_iter_), 0, diff_weights_iter_.get_desc().get_size());
    std::memset(Data(diff_bias_), 0, diff_bias_.get_desc().get_size());
    dir_[k].bwd.Run(stream);
    for (const Exec& e : diff_reorders_) e.Run(stream);
    stream.wait();

    if (dx != nullptr) {
#pragma omp parallel for collapse(2) schedule(static)
      for (int s = 0; s < T; ++s) {
        for (int b = 0; b < B; ++b) {
          const int len = lengths[b];
          if (s >= len) continue;
          const int t = k == 0 ? s : len - 1 - s;
          float* to = dx + (static_cast<std::size_t>(t) * B + b) * I;
          const float* from = diff_src + (static_cast<std::size_t>(s) * B + b) * I;
          for (int i = 0; i < I; ++i) to[i] += from[i];
        }
      }
    }
    AddDnnlGradients(k == 0 ? dfwd : dbwd, cell_, Data(user_diff_weights_layer_),
                     Data(user_diff_weights_iter_), Data(diff_bias_), I, H);
  }
}

double EncoderLayer::ForwardBackwardFlops(CellType cell, int batch, int max_len, int input,
                                          int hidden) {
  const double per_direction_forward =
      2.0 * max_len * batch * GateCount(cell) * hidden * (static_cast<double>(input) + hidden);
  return 2 /*directions*/ * 3 /*forward, data and weight gradients*/ * per_direction_forward;
}

}  // namespace rnnsearch::ops
