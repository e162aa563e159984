// The ops' views of a ParamSet (trainer/model/params.h): which docs/model.md tensor
// each op argument points at, in one place, for the model, decoding and
// tests. Gradient views are the same names in a gradient ParamSet.
// Templated on the set type so that the double reference (model_ref.h)
// uses the same mapping: S has `T* Get(const std::string&)` / `Find`.
#pragma once

#include <string>

#include "ops/attention.h"
#include "ops/readout_loss.h"
#include "ops/rnn_cell.h"
#include "trainer/model/params.h"

namespace rnnsearch {

inline ops::CellType CellOf(const ModelDims& d) {
  return d.lstm ? ops::CellType::kLstm : ops::CellType::kGru;
}

inline ops::AttentionKind AttentionOf(const ModelDims& d) {
  switch (d.attention) {
    case AttentionScore::kAdditive: return ops::AttentionKind::kAdditive;
    case AttentionScore::kGeneral: return ops::AttentionKind::kGeneral;
    case AttentionScore::kDot: return ops::AttentionKind::kDot;
  }
  return ops::AttentionKind::kAdditive;
}

// "encoder.L.fwd." or "encoder.L.bwd.".
inline std::string EncoderPrefix(int layer, int direction) {
  return "encoder." + std::to_string(layer) + (direction == 0 ? ".fwd." : ".bwd.");
}

// encoder.L.{fwd,bwd}.* (direction 0 = fwd).
template <class T, class S>
ops::RnnParamsOf<T> EncoderParams(S& p, int layer, int direction) {
  const std::string pre = EncoderPrefix(layer, direction);
  return {p.Get(pre + "weight_ih"), p.Get(pre + "weight_hh"), p.Get(pre + "bias_ih"),
          p.Get(pre + "bias_hh")};
}
template <class T, class S>
ops::RnnGradsOf<T> EncoderGrads(S& g, int layer, int direction) {
  const std::string pre = EncoderPrefix(layer, direction);
  return {g.Get(pre + "weight_ih"), g.Get(pre + "weight_hh"), g.Get(pre + "bias_ih"),
          g.Get(pre + "bias_hh")};
}

// decoder.cell.*
template <class T, class S>
ops::RnnParamsOf<T> DecoderCellParams(S& p) {
  return {p.Get("decoder.cell.weight_ih"), p.Get("decoder.cell.weight_hh"),
          p.Get("decoder.cell.bias_ih"), p.Get("decoder.cell.bias_hh")};
}
template <class T, class S>
ops::RnnGradsOf<T> DecoderCellGrads(S& g) {
  return {g.Get("decoder.cell.weight_ih"), g.Get("decoder.cell.weight_hh"),
          g.Get("decoder.cell.bias_ih"), g.Get("decoder.cell.bias_hh")};
}

// attention.* (null where the kind has none).
template <class T, class S>
ops::AttentionParamsOf<T> AttentionParams(S& p) {
  return {p.Find("attention.W_a.weight"), p.Find("attention.W_a.bias"),
          p.Find("attention.U_a.weight"), p.Find("attention.v_a.weight"),
          p.Find("attention.W_g.weight")};
}
template <class T, class S>
ops::AttentionGradsOf<T> AttentionGrads(S& g) {
  return {g.Find("attention.W_a.weight"), g.Find("attention.W_a.bias"),
          g.Find("attention.U_a.weight"), g.Find("attention.v_a.weight"),
          g.Find("attention.W_g.weight")};
}

// The output weights: output.weight, or tgt_embed.weight when tied.
template <class S>
auto OutputWeight(S& p) {
  auto* w = p.Find("output.weight");
  return w != nullptr ? w : p.Get("tgt_embed.weight");
}

inline ops::ReadoutParams ReadoutParamsOf(const ParamSet& p) {
  return {p.Get("readout.weight"), p.Get("readout.bias"), OutputWeight(p), p.Get("output.bias")};
}
inline ops::ReadoutGrads ReadoutGradsOf(ParamSet& g) {
  return {g.Get("readout.weight"), g.Get("readout.bias"), OutputWeight(g), g.Get("output.bias")};
}

}  // namespace rnnsearch
