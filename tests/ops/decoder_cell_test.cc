// ops::DecoderCell and ops::DecoderCellDecode against the reference twin
// (ops/decoder_cell_ref.h, run in double), for the GRU and the LSTM, on odd
// sizes: several steps of backprop through time with states chained from
// step to step, forward and every gradient; that backward adds; the
// decoding step for fewer rows than its maximum, in place. The reference's
// own gradients are checked against finite differences in
// decoder_bptt_test.cc (through the whole decoder loop) and in
// rnn_cell_ref_test.cc (the single-step cell).
#include "ops/decoder_cell.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "ops/decoder_cell_ref.h"
#include "tests/ops/check.h"

namespace rnnsearch::ops {
namespace {

using testing::ExpectAllClose;
using testing::RandomVector;
using testing::SumTolerance;

std::string Name(CellType cell) { return cell == CellType::kGru ? "gru" : "lstm"; }

const DecoderCellDims kOdd{.steps = 4, .batch = 3, .emb_dim = 4, .ctx_dim = 10, .dec_dim = 6};

template <class T>
struct CellProblem {
  CellType cell;
  DecoderCellDims d;
  std::vector<T> y_emb, contexts, s0, W_ih, W_hh, b_ih, b_hh;

  CellProblem(CellType c, const DecoderCellDims& dims, std::uint32_t seed) : cell(c), d(dims) {
    const std::size_t Ty = d.steps, B = d.batch, E = d.emb_dim, C = d.ctx_dim, Hd = d.dec_dim;
    const std::size_t G = GateCount(cell) * Hd;
    y_emb = RandomVector<T>(Ty * B * E, seed);
    contexts = RandomVector<T>(Ty * B * C, seed + 1);
    s0 = RandomVector<T>(B * Hd, seed + 2);
    W_ih = RandomVector<T>(G * (E + C), seed + 3, 0.5);
    W_hh = RandomVector<T>(G * Hd, seed + 4, 0.5);
    b_ih = RandomVector<T>(G, seed + 5);
    b_hh = RandomVector<T>(G, seed + 6);
  }
  template <class U>
  explicit CellProblem(const CellProblem<U>& o)
      : cell(o.cell),
        d(o.d),
        y_emb(o.y_emb.begin(), o.y_emb.end()),
        contexts(o.contexts.begin(), o.contexts.end()),
        s0(o.s0.begin(), o.s0.end()),
        W_ih(o.W_ih.begin(), o.W_ih.end()),
        W_hh(o.W_hh.begin(), o.W_hh.end()),
        b_ih(o.b_ih.begin(), o.b_ih.end()),
        b_hh(o.b_hh.begin(), o.b_hh.end()) {}
  RnnParamsOf<T> Params() const { return {W_ih.data(), W_hh.data(), b_ih.data(), b_hh.data()}; }
};

template <class T>
struct CellGrads {
  std::vector<T> W_ih, W_hh, b_ih, b_hh;
  template <class P>
  CellGrads(const P& p, std::uint32_t seed)
      : W_ih(RandomVector<T>(p.W_ih.size(), seed)),
        W_hh(RandomVector<T>(p.W_hh.size(), seed + 1)),
        b_ih(RandomVector<T>(p.b_ih.size(), seed + 2)),
        b_hh(RandomVector<T>(p.b_hh.size(), seed + 3)) {}
  RnnGradsOf<T> View() { return {W_ih.data(), W_hh.data(), b_ih.data(), b_hh.data()}; }
};

// The reference over the whole sequence, step by step; states: [Ty+1, B, Hd].
struct RefRun {
  CellProblem<double> p;
  std::vector<double> states, mems;  // [Ty+1, B, Hd]
  std::vector<ref::DecoderCellCache<double>> caches;

  explicit RefRun(const CellProblem<double>& prob) : p(prob) {
    const std::size_t BH = static_cast<std::size_t>(p.d.batch) * p.d.dec_dim;
    const std::size_t B = p.d.batch, E = p.d.emb_dim, C = p.d.ctx_dim;
    states.assign((p.d.steps + 1) * BH, 0.0);
    mems = states;
    std::copy(p.s0.begin(), p.s0.end(), states.begin());
    caches.resize(p.d.steps);
    for (std::size_t i = 0; i < static_cast<std::size_t>(p.d.steps); ++i) {
      ref::DecoderCellStepForward(p.cell, &states[(i + 1) * BH], &mems[(i + 1) * BH], caches[i],
                                  &p.y_emb[i * B * E], &p.contexts[i * B * C], &states[i * BH],
                                  &mems[i * BH], p.Params(), p.d);
    }
  }
  // Backprop through time: d_states [Ty+1, B, Hd] holds the outside
  // gradients of every state and receives the rest; adds into the others.
  void Backward(std::vector<double>& d_states, std::vector<double>& d_contexts,
                std::vector<double>& d_y, CellGrads<double>& g) {
    const std::size_t BH = static_cast<std::size_t>(p.d.batch) * p.d.dec_dim;
    const std::size_t B = p.d.batch, E = p.d.emb_dim, C = p.d.ctx_dim;
    std::vector<double> d_mem(BH, 0.0), d_mem_prev(BH);
    for (std::size_t i = p.d.steps; i-- > 0;) {
      std::fill(d_mem_prev.begin(), d_mem_prev.end(), 0.0);
      ref::DecoderCellStepBackward(p.cell, &d_y[i * B * E], &d_contexts[i * B * C],
                                   &d_states[i * BH], d_mem_prev.data(), g.View(),
                                   &d_states[(i + 1) * BH], d_mem.data(), caches[i],
                                   &states[i * BH], &mems[i * BH], p.Params(), p.d);
      d_mem.swap(d_mem_prev);
    }
  }
};

void RunOpForward(DecoderCell& op, std::vector<float>& states, const CellProblem<float>& p) {
  const std::size_t BH = static_cast<std::size_t>(p.d.batch) * p.d.dec_dim;
  states.assign((p.d.steps + 1) * BH, 0.0f);
  std::copy(p.s0.begin(), p.s0.end(), states.begin());
  op.ForwardBatch(p.y_emb.data(), p.Params());
  for (int i = 0; i < p.d.steps; ++i)
    op.ForwardStep(i, states.data(), p.contexts.data(), p.Params());
}

void RunOpBackward(DecoderCell& op, std::vector<float>& d_states, std::vector<float>& d_contexts,
                   std::vector<float>& d_y, CellGrads<float>& g, const std::vector<float>& states,
                   const CellProblem<float>& p) {
  for (int i = p.d.steps - 1; i >= 0; --i) {
    op.BackwardStep(i, d_states.data(), d_contexts.data(), states.data(), p.Params());
  }
  op.BackwardBatch(d_y.data(), g.View(), p.y_emb.data(), states.data(), p.contexts.data(),
                   p.Params());
}

template <class T>
std::vector<double> ToDouble(const std::vector<T>& v) {
  return {v.begin(), v.end()};
}

TEST(DecoderCell, StepsAndBackpropThroughTimeMatchReference) {
  Context ctx(2);
  for (CellType cell : {CellType::kGru, CellType::kLstm}) {
    SCOPED_TRACE(Name(cell));
    const CellProblem<float> pf(cell, kOdd, 71);
    DecoderCell op(ctx, cell, pf.d);
    std::vector<float> states;
    RunOpForward(op, states, pf);
    RefRun want(CellProblem<double>{pf});
    const int G = GateCount(cell) * kOdd.dec_dim;
    const int step_terms = kOdd.emb_dim + kOdd.ctx_dim + kOdd.dec_dim;
    ExpectAllClose(states, want.states, SumTolerance(kOdd.steps * step_terms), "states");

    auto d_states = RandomVector<float>(states.size(), 72);
    auto d_contexts = RandomVector<float>(pf.contexts.size(), 73);
    auto d_y = RandomVector<float>(pf.y_emb.size(), 74);
    CellGrads<float> g(pf, 75);
    std::vector<double> want_ds = ToDouble(d_states), want_dc = ToDouble(d_contexts);
    std::vector<double> want_dy = ToDouble(d_y);
    CellGrads<double> want_g(pf, 75);
    RunOpBackward(op, d_states, d_contexts, d_y, g, states, pf);
    want.Backward(want_ds, want_dc, want_dy, want_g);
    const double tol = SumTolerance(kOdd.steps * (step_terms + G) + kOdd.steps * kOdd.batch);
    ExpectAllClose(d_states, want_ds, tol, "d_states");
    ExpectAllClose(d_contexts, want_dc, tol, "d_contexts");
    ExpectAllClose(d_y, want_dy, tol, "d_y_emb");
    ExpectAllClose(g.W_ih, want_g.W_ih, tol, "d_weight_ih");
    ExpectAllClose(g.W_hh, want_g.W_hh, tol, "d_weight_hh");
    ExpectAllClose(g.b_ih, want_g.b_ih, tol, "d_bias_ih");
    ExpectAllClose(g.b_hh, want_g.b_hh, tol, "d_bias_hh");
  }
}

TEST(DecoderCell, BackwardAdds) {
  Context ctx(1);
  for (CellType cell : {CellType::kGru, CellType::kLstm}) {
    SCOPED_TRACE(Name(cell));
    const CellProblem<float> p(cell, kOdd, 81);
    DecoderCell op(ctx, cell, p.d);
    std::vector<float> states;
    RunOpForward(op, states, p);
    // Outside gradients on s_1..s_Ty only, so that d_states block 0 starts at 0.
    const auto outside = RandomVector<float>(states.size(), 82);
    const std::size_t BH = static_cast<std::size_t>(p.d.batch) * p.d.dec_dim;
    std::vector<float> d_contexts(p.contexts.size(), 0.0f), d_y(p.y_emb.size(), 0.0f);
    std::vector<float> d_states(states.size(), 0.0f);
    CellGrads<float> g(p, 0);
    for (auto* v : {&g.W_ih, &g.W_hh, &g.b_ih, &g.b_hh}) std::fill(v->begin(), v->end(), 0.0f);
    std::vector<std::vector<float>> once;
    for (int pass = 0; pass < 2; ++pass) {
      // Each pass gets the same outside gradients for s_1..s_Ty; block 0 accumulates.
      std::vector<float> ds = outside;
      std::fill(ds.begin(), ds.begin() + BH, 0.0f);
      RunOpBackward(op, ds, d_contexts, d_y, g, states, p);
      for (std::size_t e = 0; e < BH; ++e) d_states[e] += ds[e];
      if (pass == 0) once = {d_states, d_contexts, d_y, g.W_ih, g.W_hh, g.b_ih, g.b_hh};
    }
    const std::vector<const std::vector<float>*> twice = {&d_states, &d_contexts, &d_y,   &g.W_ih,
                                                          &g.W_hh,   &g.b_ih,     &g.b_hh};
    for (std::size_t k = 0; k < once.size(); ++k) {
      std::vector<float> doubled(once[k].size());
      double norm = 0;
      for (std::size_t e = 0; e < doubled.size(); ++e) {
        doubled[e] = 2 * once[k][e];
        norm += std::abs(once[k][e]);
      }
      EXPECT_GT(norm, 0.0) << "gradient " << k << " is all zero";
      ExpectAllClose(*twice[k], doubled, SumTolerance(4 * p.d.steps),
                     "gradient " + std::to_string(k));
    }
  }
}

TEST(DecoderCellDecode, FewerRowsInPlaceMatchReference) {
  Context ctx(2);
  for (CellType cell : {CellType::kGru, CellType::kLstm}) {
    SCOPED_TRACE(Name(cell));
    DecoderCellDims max_dims = kOdd;
    max_dims.batch = 5;
    DecoderCellDecode op(ctx, cell, max_dims);
    for (int n : {3, 5, 1}) {
      DecoderCellDims d = kOdd;
      d.steps = 1, d.batch = n;
      const CellProblem<float> pf(cell, d, 90 + n);
      const auto mem0 = RandomVector<float>(pf.s0.size(), 99);
      std::vector<float> s = pf.s0, mem = mem0;  // updated in place
      op.Step(s.data(), cell == CellType::kLstm ? mem.data() : nullptr, pf.y_emb.data(),
              pf.contexts.data(), s.data(), cell == CellType::kLstm ? mem.data() : nullptr, n,
              pf.Params());
      const CellProblem<double> pd(pf);
      const auto mem0_d = ToDouble(mem0);
      std::vector<double> want_s(s.size()), want_mem(s.size());
      ref::DecoderCellCache<double> cache;
      ref::DecoderCellStepForward(cell, want_s.data(), want_mem.data(), cache, pd.y_emb.data(),
                                  pd.contexts.data(), pd.s0.data(), mem0_d.data(), pd.Params(), d);
      const int terms = d.emb_dim + d.ctx_dim + d.dec_dim;
      ExpectAllClose(s, want_s, SumTolerance(terms), "s n=" + std::to_string(n));
      if (cell == CellType::kLstm) {
        ExpectAllClose(mem, want_mem, SumTolerance(terms), "mem n=" + std::to_string(n));
      }
    }
  }
}

}  // namespace
}  // namespace rnnsearch::ops
