// The whole model of trainer/model/model.h composed from the ops' naive
// reference twins (ops/*_ref.h), templated on the scalar type T so that
// tests can run it in double: against the oneDNN model, and its gradients
// against central finite differences. It shares nothing with the optimised
// path but the parameter mapping (trainer/model/model_params.h) and, when
// dropout is tested, the masks (given as inputs, e.g. from
// FillDropoutMask). Header-only, for tests; not fast.
#pragma once

#include <cassert>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "io/batch_reader.h"
#include "ops/affine_ref.h"
#include "ops/attention_ref.h"
#include "ops/decoder_cell_ref.h"
#include "ops/embedding_ref.h"
#include "ops/encoder_ref.h"
#include "ops/readout_loss_ref.h"
#include "trainer/model/model_params.h"
#include "trainer/model/params.h"

namespace rnnsearch {

// A ParamSet's layout (names, offsets) over a buffer of T.
template <class T>
class RefParams {
 public:
  explicit RefParams(const ParamSet& layout)
      : layout_(&layout), data_(layout.data(), layout.data() + layout.size()) {}

  const ParamSet& layout() const { return *layout_; }
  std::vector<T>& data() { return data_; }
  const std::vector<T>& data() const { return data_; }
  void Zero() { data_.assign(data_.size(), T(0)); }

  T* Find(const std::string& name) {
    const std::int64_t off = layout_->Offset(name);
    return off < 0 ? nullptr : data_.data() + off;
  }
  const T* Find(const std::string& name) const { return const_cast<RefParams*>(this)->Find(name); }
  T* Get(const std::string& name) {
    T* p = Find(name);
    if (p == nullptr) {
      std::fprintf(stderr, "internal error: no parameter named '%s'\n", name.c_str());
      std::abort();
    }
    return p;
  }
  const T* Get(const std::string& name) const { return const_cast<RefParams*>(this)->Get(name); }

 private:
  const ParamSet* layout_;
  std::vector<T> data_;
};

// Dropout multipliers (nullptr: none): src [Tx, B, E], tgt [Ty, B, E],
// readout [Ty, B, O].
struct RefMasks {
  const float* src = nullptr;
  const float* tgt = nullptr;
  const float* readout = nullptr;
};

template <class T>
class ModelRef {
 public:
  ModelRef(const ModelDims& dims, double label_smoothing) : d_(dims), eps_(label_smoothing) {}

  // The loss sum of the batch (B >= 1); keeps what Backward needs.
  T Forward(const RefParams<T>& p, const Batch& batch, const RefMasks& masks = {}) {
    Setup(batch);
    const std::int64_t E = d_.E, C = 2 * d_.He, Hd = d_.Hd;
    const std::int64_t xr = std::int64_t{Tx_} * B_, yr = std::int64_t{Ty_} * B_;
    x_.assign(static_cast<std::size_t>(xr * E), T(0));
    ops::ref::EmbeddingForward(x_.data(), batch.src.data(), p.Get("src_embed.weight"), xr, E);
    Mask(x_, masks.src);
    encoders_.clear();
    h_.assign(static_cast<std::size_t>(d_.enc_layers), std::vector<T>(xr * C));
    for (int l = 0; l < d_.enc_layers; ++l) {
      const int in = static_cast<int>(l == 0 ? E : C);
      encoders_.emplace_back(CellOf(d_), B_, Tx_, in, static_cast<int>(d_.He));
      encoders_[l].Forward(h_[l].data(), l == 0 ? x_.data() : h_[l - 1].data(), len_.data(),
                           EncoderParams<T>(p, l, 0), EncoderParams<T>(p, l, 1));
    }
    const std::vector<T>& H = h_.back();
    mean_.assign(static_cast<std::size_t>(B_ * C), T(0));
    for (int b = 0; b < B_; ++b) {
      for (int j = 0; j < len_[b]; ++j) {
        for (std::int64_t c = 0; c < C; ++c) mean_[b * C + c] += H[(j * B_ + b) * C + c];
      }
      for (std::int64_t c = 0; c < C; ++c) mean_[b * C + c] /= T(len_[b]);
    }
    states_.assign(static_cast<std::size_t>((Ty_ + 1) * B_ * Hd), T(0));
    mems_ = states_;
    ops::ref::AffineForward(states_.data(), mean_.data(), p.Get("decoder.init.weight"),
                            p.Get("decoder.init.bias"), InitDims(), false, true);
    y_ids_.assign(static_cast<std::size_t>(yr), 2);
    for (std::int64_t r = B_; r < yr; ++r) y_ids_[r] = batch.tgt[r - B_];
    y_.assign(static_cast<std::size_t>(yr * E), T(0));
    ops::ref::EmbeddingForward(y_.data(), y_ids_.data(), p.Get("tgt_embed.weight"), yr, E);
    Mask(y_, masks.tgt);
    contexts_.assign(static_cast<std::size_t>(yr * C), T(0));
    alphas_.assign(static_cast<std::size_t>(yr * Tx_), T(0));
    caches_.assign(static_cast<std::size_t>(Ty_), {});
    const auto ap = AttentionParams<T>(p);
    const auto cp = DecoderCellParams<T>(p);
    for (int i = 0; i < Ty_; ++i) {
      ops::ref::AttentionStepForward(&contexts_[i * B_ * C], &alphas_[i * B_ * Tx_],
                                     AttentionOf(d_), &states_[i * B_ * Hd], H.data(), len_.data(),
                                     ap, AttDims());
      ops::ref::DecoderCellStepForward(CellOf(d_), &states_[(i + 1) * B_ * Hd],
                                       &mems_[(i + 1) * B_ * Hd], caches_[i], &y_[i * B_ * E],
                                       &contexts_[i * B_ * C], &states_[i * B_ * Hd],
                                       &mems_[i * B_ * Hd], cp, CellDims());
    }
    readout_mask_ = masks.readout;
    std::int64_t tokens = 0;
    return ops::ref::ReadoutLossForward(&states_[B_ * Hd], contexts_.data(), y_.data(),
                                        batch.tgt.data(), Readout(p), ReadoutDims(), T(eps_),
                                        &tokens, readout_mask_);
  }

  // After Forward with the same arguments: adds scale x the gradient of
  // the loss sum into g.
  void Backward(RefParams<T>& g, const RefParams<T>& p, const Batch& batch, const RefMasks& masks,
                T scale) {
    const std::int64_t E = d_.E, C = 2 * d_.He, Hd = d_.Hd;
    const std::int64_t xr = std::int64_t{Tx_} * B_, yr = std::int64_t{Ty_} * B_;
    std::vector<T> ds(states_.size(), T(0)), dc(contexts_.size(), T(0)), dy(y_.size(), T(0));
    ops::ref::ReadoutLossBackward(g.Get("readout.weight"), g.Get("readout.bias"), OutputWeight(g),
                                  g.Get("output.bias"), &ds[B_ * Hd], dc.data(), dy.data(),
                                  &states_[B_ * Hd], contexts_.data(), y_.data(), batch.tgt.data(),
                                  Readout(p), ReadoutDims(), T(eps_), scale, masks.readout);
    const std::vector<T>& H = h_.back();
    std::vector<T> dH(H.size(), T(0)), d_mem(static_cast<std::size_t>(B_ * Hd), T(0));
    std::vector<T> d_mem_prev(d_mem.size());
    const auto ap = AttentionParams<T>(p);
    const auto cp = DecoderCellParams<T>(p);
    const auto ag = AttentionGrads<T>(g);
    const auto cg = DecoderCellGrads<T>(g);
    for (int i = Ty_ - 1; i >= 0; --i) {
      std::fill(d_mem_prev.begin(), d_mem_prev.end(), T(0));
      ops::ref::DecoderCellStepBackward(CellOf(d_), &dy[i * B_ * E], &dc[i * B_ * C],
                                        &ds[i * B_ * Hd], d_mem_prev.data(), cg,
                                        &ds[(i + 1) * B_ * Hd], d_mem.data(), caches_[i],
                                        &states_[i * B_ * Hd], &mems_[i * B_ * Hd], cp, CellDims());
      d_mem.swap(d_mem_prev);
      ops::ref::AttentionStepBackward(&ds[i * B_ * Hd], dH.data(), ag, &dc[i * B_ * C],
                                      AttentionOf(d_), &states_[i * B_ * Hd], H.data(), len_.data(),
                                      ap, AttDims());
    }
    // s0 = tanh(W_init mean + b_init).
    std::vector<T> d_pre(static_cast<std::size_t>(B_ * Hd)), d_mean(mean_.size(), T(0));
    for (std::size_t k = 0; k < d_pre.size(); ++k)
      d_pre[k] = ds[k] * (T(1) - states_[k] * states_[k]);
    ops::ref::AffineBackward(d_mean.data(), g.Get("decoder.init.weight"),
                             g.Get("decoder.init.bias"), d_pre.data(), mean_.data(),
                             p.Get("decoder.init.weight"), InitDims(), T(1));
    for (int b = 0; b < B_; ++b) {
      for (int j = 0; j < len_[b]; ++j) {
        for (std::int64_t c = 0; c < C; ++c)
          dH[(j * B_ + b) * C + c] += d_mean[b * C + c] / T(len_[b]);
      }
    }
    Mask(dy, masks.tgt);
    ops::ref::EmbeddingBackward(g.Get("tgt_embed.weight"), dy.data(), y_ids_.data(), yr, E);
    std::vector<T> d_out = dH;
    for (int l = static_cast<int>(d_.enc_layers) - 1; l >= 0; --l) {
      std::vector<T> d_in(static_cast<std::size_t>(xr * (l == 0 ? E : C)), T(0));
      encoders_[l].Backward(d_in.data(), EncoderGrads<T>(g, l, 0), EncoderGrads<T>(g, l, 1),
                            d_out.data(), l == 0 ? x_.data() : h_[l - 1].data(), len_.data(),
                            EncoderParams<T>(p, l, 0), EncoderParams<T>(p, l, 1));
      d_out.swap(d_in);
    }
    Mask(d_out, masks.src);
    ops::ref::EmbeddingBackward(g.Get("src_embed.weight"), d_out.data(), batch.src.data(), xr, E);
  }

  // Of the last Forward: H [Tx, B, 2He] and s0 [B, Hd].
  const std::vector<T>& H() const { return h_.back(); }
  std::vector<T> s0() const {
    return {states_.begin(), states_.begin() + B_ * static_cast<std::ptrdiff_t>(d_.Hd)};
  }

 private:
  void Setup(const Batch& batch) {
    B_ = batch.size;
    Tx_ = batch.src_steps;
    Ty_ = batch.tgt_steps;
    assert(B_ >= 1 && Tx_ >= 1 && Ty_ >= 1);
    len_.assign(batch.src_len.begin(), batch.src_len.end());
  }
  static void Mask(std::vector<T>& v, const float* mask) {
    if (mask == nullptr) return;
    for (std::size_t k = 0; k < v.size(); ++k) v[k] *= T(mask[k]);
  }
  ops::ref::AffineDims InitDims() const {
    const std::int64_t C = 2 * d_.He;
    return {B_, C, d_.Hd, C, C, d_.Hd};
  }
  ops::AttentionDims AttDims() const {
    return {
        Ty_, Tx_, B_, static_cast<int>(2 * d_.He), static_cast<int>(d_.Hd), static_cast<int>(d_.A)};
  }
  ops::DecoderCellDims CellDims() const {
    return {Ty_, B_, static_cast<int>(d_.E), static_cast<int>(2 * d_.He), static_cast<int>(d_.Hd)};
  }
  ops::ref::ReadoutDims ReadoutDims() const {
    return {std::int64_t{Ty_} * B_, d_.Hd, 2 * d_.He, d_.E, d_.O, d_.Vt};
  }
  static ops::ref::ReadoutWeights<T> Readout(const RefParams<T>& p) {
    return {p.Get("readout.weight"), p.Get("readout.bias"), OutputWeight(p), p.Get("output.bias")};
  }

  ModelDims d_;
  double eps_;
  int B_ = 0, Tx_ = 0, Ty_ = 0;
  std::vector<int> len_;
  std::vector<T> x_, mean_, y_, states_, mems_, contexts_, alphas_;
  std::vector<std::vector<T>> h_;
  std::vector<std::int32_t> y_ids_;
  std::vector<ops::ref::EncoderRef<T>> encoders_;
  std::vector<ops::ref::DecoderCellCache<T>> caches_;
  const float* readout_mask_ = nullptr;
};

}  // namespace rnnsearch
