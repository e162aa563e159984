// The decoder loop of docs/model.md composed from ops::Attention and
// ops::DecoderCell as the model will run it: per step attention on s_i,
// then the cell to s_{i+1}; backward per step from the last one (the cell,
// then the attention, so that d_contexts block i is complete), then the
// once-per-batch parts. Checked against the same loop built from the
// reference twins in double, for GRU and LSTM cells and the three attention
// kinds with padded sources; and the reference loop's gradients of every
// input and parameter against central finite differences.
#include <gtest/gtest.h>

#include <string>
#include <tuple>
#include <vector>

#include "ops/attention.h"
#include "ops/attention_ref.h"
#include "ops/decoder_cell.h"
#include "ops/decoder_cell_ref.h"
#include "tests/ops/check.h"

namespace rnnsearch::ops {
namespace {

using testing::ExpectAllClose;
using testing::NumericGradient;
using testing::RandomVector;
using testing::SumTolerance;

struct LoopSetup {
  CellType cell;
  AttentionKind kind;
  int steps, batch, src_len, emb, ctx, dec, att;
  std::vector<int> lengths;

  int Dec() const { return kind == AttentionKind::kDot ? ctx : dec; }
  DecoderCellDims CellDims() const { return {steps, batch, emb, ctx, Dec()}; }
  AttentionDims AttDims() const { return {steps, src_len, batch, ctx, Dec(), att}; }
  std::string Name() const {
    return std::string(cell == CellType::kGru ? "gru" : "lstm") + "/" +
           (kind == AttentionKind::kAdditive  ? "additive"
            : kind == AttentionKind::kGeneral ? "general"
                                              : "dot");
  }
};

// Inputs, parameters and (after Forward/Backward) outputs and gradients of
// the decoder loop, in T. Gradient buffers have the same names with d_.
template <class T>
struct Loop {
  LoopSetup u;
  // Inputs and parameters (in this order in Tensors()).
  std::vector<T> H, s0, Y, W_ih, W_hh, b_ih, b_hh, W_a, b_a, U_a, v_a, W_g;
  // Forward outputs.
  std::vector<T> states, contexts, alphas;
  // Gradients (same order as the inputs).
  std::vector<T> d_H, d_s0, d_Y, d_W_ih, d_W_hh, d_b_ih, d_b_hh, d_W_a, d_b_a, d_U_a, d_v_a, d_W_g;

  explicit Loop(const LoopSetup& setup) : u(setup) {
    const std::size_t Ty = u.steps, B = u.batch, Tx = u.src_len, E = u.emb, C = u.ctx;
    const std::size_t Hd = u.Dec(), A = u.att, G = GateCount(u.cell) * Hd;
    std::uint32_t seed = 100;
    for (auto [v, n, scale] : {std::tuple{&H, Tx * B * C, 1.0},
                               {&s0, B * Hd, 1.0},
                               {&Y, Ty * B * E, 1.0},
                               {&W_ih, G * (E + C), 0.5},
                               {&W_hh, G * Hd, 0.5},
                               {&b_ih, G, 0.5},
                               {&b_hh, G, 0.5},
                               {&W_a, A * Hd, 1.0},
                               {&b_a, A, 1.0},
                               {&U_a, A * C, 1.0},
                               {&v_a, A, 1.0},
                               {&W_g, Hd * C, 0.5}}) {
      *v = RandomVector<T>(n, seed++, scale);
    }
  }
  template <class U>
  explicit Loop(const Loop<U>& o) : u(o.u) {
    const auto in = Tensors();
    const auto from = const_cast<Loop<U>&>(o).Tensors();
    for (std::size_t k = 0; k < in.size(); ++k) in[k]->assign(from[k]->begin(), from[k]->end());
  }
  std::vector<std::vector<T>*> Tensors() {
    return {&H, &s0, &Y, &W_ih, &W_hh, &b_ih, &b_hh, &W_a, &b_a, &U_a, &v_a, &W_g};
  }
  std::vector<std::vector<T>*> Grads() {
    return {&d_H,    &d_s0,  &d_Y,   &d_W_ih, &d_W_hh, &d_b_ih,
            &d_b_hh, &d_W_a, &d_b_a, &d_U_a,  &d_v_a,  &d_W_g};
  }
  RnnParamsOf<T> CellParams() const { return {W_ih.data(), W_hh.data(), b_ih.data(), b_hh.data()}; }
  AttentionParamsOf<T> AttParams() const {
    if (u.kind == AttentionKind::kAdditive) return {W_a.data(), b_a.data(), U_a.data(), v_a.data()};
    if (u.kind == AttentionKind::kGeneral) return {.W_g = W_g.data()};
    return {};
  }
  void ZeroGrads() {
    auto in = Tensors(), g = Grads();
    for (std::size_t k = 0; k < in.size(); ++k) g[k]->assign(in[k]->size(), T(0));
  }
  std::size_t BH() const { return static_cast<std::size_t>(u.batch) * u.Dec(); }
};

// The loop from the reference twins. d_states_out, d_ctx_out: the loss's
// gradients of s_1..s_Ty ([Ty, B, Hd]) and of c ([Ty, B, 2He]).
struct RefLoop : Loop<double> {
  using Loop<double>::Loop;
  std::vector<double> mems;
  std::vector<ref::DecoderCellCache<double>> caches;

  void Forward() {
    const std::size_t Ty = u.steps, B = u.batch, E = u.emb, C = u.ctx, Tx = u.src_len;
    states.assign((Ty + 1) * BH(), 0.0);
    mems = states;
    std::copy(s0.begin(), s0.end(), states.begin());
    contexts.assign(Ty * B * C, 0.0);
    alphas.assign(Ty * B * Tx, 0.0);
    caches.resize(Ty);
    for (std::size_t i = 0; i < Ty; ++i) {
      ref::AttentionStepForward(&contexts[i * B * C], &alphas[i * B * Tx], u.kind,
                                &states[i * BH()], H.data(), u.lengths.data(), AttParams(),
                                u.AttDims());
      ref::DecoderCellStepForward(u.cell, &states[(i + 1) * BH()], &mems[(i + 1) * BH()], caches[i],
                                  &Y[i * B * E], &contexts[i * B * C], &states[i * BH()],
                                  &mems[i * BH()], CellParams(), u.CellDims());
    }
  }
  void Backward(const std::vector<double>& d_states_out, const std::vector<double>& d_ctx_out) {
    const std::size_t Ty = u.steps, B = u.batch, E = u.emb, C = u.ctx;
    std::vector<double> ds(BH(), 0.0);  // block 0 of d_states
    ds.insert(ds.end(), d_states_out.begin(), d_states_out.end());
    std::vector<double> dc = d_ctx_out, d_mem(BH(), 0.0), d_mem_prev(BH());
    ZeroGrads();
    const RnnGradsOf<double> cg{d_W_ih.data(), d_W_hh.data(), d_b_ih.data(), d_b_hh.data()};
    const AttentionGradsOf<double> ag{d_W_a.data(), d_b_a.data(), d_U_a.data(), d_v_a.data(),
                                      d_W_g.data()};
    for (std::size_t i = Ty; i-- > 0;) {
      std::fill(d_mem_prev.begin(), d_mem_prev.end(), 0.0);
      ref::DecoderCellStepBackward(u.cell, &d_Y[i * B * E], &dc[i * B * C], &ds[i * BH()],
                                   d_mem_prev.data(), cg, &ds[(i + 1) * BH()], d_mem.data(),
                                   caches[i], &states[i * BH()], &mems[i * BH()], CellParams(),
                                   u.CellDims());
      d_mem.swap(d_mem_prev);
      ref::AttentionStepBackward(&ds[i * BH()], d_H.data(), ag, &dc[i * B * C], u.kind,
                                 &states[i * BH()], H.data(), u.lengths.data(), AttParams(),
                                 u.AttDims());
    }
    std::copy(ds.begin(), ds.begin() + BH(), d_s0.begin());
  }
};

// The same loop from the optimised ops, in float.
struct OpLoop : Loop<float> {
  using Loop<float>::Loop;

  void Run(Context& ctx, const std::vector<float>& d_states_out,
           const std::vector<float>& d_ctx_out) {
    const std::size_t Ty = u.steps, B = u.batch, C = u.ctx, Tx = u.src_len;
    DecoderCell cell(ctx, u.cell, u.CellDims());
    Attention att(ctx, u.kind, u.AttDims());
    states.assign((Ty + 1) * BH(), 0.0f);
    std::copy(s0.begin(), s0.end(), states.begin());
    contexts.assign(Ty * B * C, 0.0f);
    alphas.assign(Ty * B * Tx, 0.0f);
    att.ForwardBatch(H.data(), AttParams());
    cell.ForwardBatch(Y.data(), CellParams());
    for (int i = 0; i < u.steps; ++i) {
      att.ForwardStep(i, contexts.data(), alphas.data(), states.data(), H.data(), u.lengths.data(),
                      AttParams());
      cell.ForwardStep(i, states.data(), contexts.data(), CellParams());
    }
    std::vector<float> ds(BH(), 0.0f);
    ds.insert(ds.end(), d_states_out.begin(), d_states_out.end());
    std::vector<float> dc = d_ctx_out;
    ZeroGrads();
    for (int i = u.steps - 1; i >= 0; --i) {
      cell.BackwardStep(i, ds.data(), dc.data(), states.data(), CellParams());
      att.BackwardStep(i, ds.data(), d_H.data(), dc.data(), alphas.data(), states.data(), H.data(),
                       u.lengths.data(), AttParams());
    }
    att.BackwardBatch(d_H.data(),
                      {d_W_a.data(), d_b_a.data(), d_U_a.data(), d_v_a.data(), d_W_g.data()},
                      states.data(), H.data(), AttParams());
    cell.BackwardBatch(d_Y.data(), {d_W_ih.data(), d_W_hh.data(), d_b_ih.data(), d_b_hh.data()},
                       Y.data(), states.data(), contexts.data(), CellParams());
    std::copy(ds.begin(), ds.begin() + BH(), d_s0.begin());
  }
};

const char* const kNames[] = {"H",    "s0",  "Y",   "W_ih", "W_hh", "b_ih",
                              "b_hh", "W_a", "b_a", "U_a",  "v_a",  "W_g"};

std::vector<LoopSetup> Setups(int steps, int batch, int src_len, int emb, int ctx, int dec, int att,
                              std::vector<int> lengths) {
  std::vector<LoopSetup> out;
  for (CellType cell : {CellType::kGru, CellType::kLstm}) {
    for (AttentionKind kind :
         {AttentionKind::kAdditive, AttentionKind::kGeneral, AttentionKind::kDot}) {
      out.push_back({cell, kind, steps, batch, src_len, emb, ctx, dec, att, lengths});
    }
  }
  return out;
}

TEST(DecoderLoop, OpsMatchReferenceThroughTime) {
  Context ctx(2);
  for (const LoopSetup& u : Setups(5, 3, 7, 4, 10, 6, 5, {7, 3, 1})) {
    SCOPED_TRACE(u.Name());
    OpLoop op(u);
    RefLoop want(op);
    const std::size_t Ty = u.steps, B = u.batch, C = u.ctx;
    const auto d_states_out = RandomVector<float>(Ty * op.BH(), 7);
    const auto d_ctx_out = RandomVector<float>(Ty * B * C, 8);
    op.Run(ctx, d_states_out, d_ctx_out);
    want.Forward();
    want.Backward({d_states_out.begin(), d_states_out.end()}, {d_ctx_out.begin(), d_ctx_out.end()});
    const int step_terms = u.emb + u.ctx + u.Dec() + u.att + u.src_len;
    const double fwd_tol = SumTolerance(u.steps * step_terms);
    ExpectAllClose(op.states, want.states, fwd_tol, "states");
    ExpectAllClose(op.contexts, want.contexts, fwd_tol, "contexts");
    ExpectAllClose(op.alphas, want.alphas, fwd_tol, "alphas");
    const double bwd_tol = SumTolerance(u.steps * (2 * step_terms + GateCount(u.cell) * u.Dec()) +
                                        u.steps * u.batch * u.src_len);
    const auto got = op.Grads();
    const auto exp = want.Grads();
    for (std::size_t k = 0; k < got.size(); ++k) {
      ExpectAllClose(*got[k], *exp[k], bwd_tol, std::string("d_") + kNames[k]);
    }
  }
}

TEST(DecoderLoopReference, GradientsMatchFiniteDifferences) {
  for (const LoopSetup& u : Setups(3, 2, 3, 2, 4, 3, 3, {3, 1})) {
    SCOPED_TRACE(u.Name());
    RefLoop loop(u);
    const std::size_t Ty = u.steps, B = u.batch, C = u.ctx;
    const auto r_s = RandomVector<double>(Ty * loop.BH(), 9);
    const auto r_c = RandomVector<double>(Ty * B * C, 10);
    auto loss = [&] {
      loop.Forward();
      double l = 0;
      for (std::size_t e = 0; e < r_s.size(); ++e) l += r_s[e] * loop.states[loop.BH() + e];
      for (std::size_t e = 0; e < r_c.size(); ++e) l += r_c[e] * loop.contexts[e];
      return l;
    };
    loop.Forward();
    loop.Backward(r_s, r_c);
    const auto in = loop.Tensors();
    const auto grads = loop.Grads();
    for (std::size_t k = 0; k < in.size(); ++k) {
      const std::vector<double> analytic = *grads[k];
      ExpectAllClose(analytic, NumericGradient(*in[k], loss), 1e-7, std::string("d_") + kNames[k]);
    }
  }
}

}  // namespace
}  // namespace rnnsearch::ops
