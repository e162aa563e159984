// ops::Attention and ops::AttentionDecode against the reference twin
// (ops/attention_ref.h, run in double) for the three kinds, on odd sizes
// with padding and a length-1 source, forward and every gradient over
// several steps; the reference's gradients against central finite
// differences; that backward adds; beam-search decoding with hypotheses
// mapped to sentences; a numerically extreme softmax.
#include "ops/attention.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "ops/attention_ref.h"
#include "tests/ops/check.h"

namespace rnnsearch::ops {
namespace {

using testing::ExpectAllClose;
using testing::NumericGradient;
using testing::RandomVector;
using testing::SumTolerance;

const AttentionKind kKinds[] = {AttentionKind::kAdditive, AttentionKind::kGeneral,
                                AttentionKind::kDot};

std::string Name(AttentionKind kind) {
  return kind == AttentionKind::kAdditive  ? "additive"
         : kind == AttentionKind::kGeneral ? "general"
                                           : "dot";
}

// A problem in T: the encoder output, the decoder states and parameters.
template <class T>
struct Problem {
  AttentionKind kind;
  AttentionDims d;
  std::vector<int> lengths;
  std::vector<T> H, states, W_a, b_a, U_a, v_a, W_g;

  Problem(AttentionKind k, AttentionDims dims, std::vector<int> lens, std::uint32_t seed)
      : kind(k), d(dims), lengths(std::move(lens)) {
    if (kind == AttentionKind::kDot) d.dec_dim = d.ctx_dim;
    const std::size_t Tx = d.src_len, B = d.batch, C = d.ctx_dim, Hd = d.dec_dim, A = d.att_dim;
    H = RandomVector<T>(Tx * B * C, seed);
    states = RandomVector<T>((d.steps + 1) * B * Hd, seed + 1);
    W_a = RandomVector<T>(A * Hd, seed + 2);
    b_a = RandomVector<T>(A, seed + 3);
    U_a = RandomVector<T>(A * C, seed + 4);
    v_a = RandomVector<T>(A, seed + 5);
    W_g = RandomVector<T>(Hd * C, seed + 6, 0.5);
  }
  template <class U>
  explicit Problem(const Problem<U>& o)
      : kind(o.kind),
        d(o.d),
        lengths(o.lengths),
        H(o.H.begin(), o.H.end()),
        states(o.states.begin(), o.states.end()),
        W_a(o.W_a.begin(), o.W_a.end()),
        b_a(o.b_a.begin(), o.b_a.end()),
        U_a(o.U_a.begin(), o.U_a.end()),
        v_a(o.v_a.begin(), o.v_a.end()),
        W_g(o.W_g.begin(), o.W_g.end()) {}

  AttentionParamsOf<T> Params() const {
    AttentionParamsOf<T> p;
    if (kind == AttentionKind::kAdditive) {
      p.W_a = W_a.data(), p.b_a = b_a.data(), p.U_a = U_a.data(), p.v_a = v_a.data();
    } else if (kind == AttentionKind::kGeneral) {
      p.W_g = W_g.data();
    }
    return p;
  }
};

// Gradient buffers of every parameter, filled with a given start value.
template <class T>
struct Grads {
  std::vector<T> W_a, b_a, U_a, v_a, W_g;
  template <class P>
  explicit Grads(const P& p, std::uint32_t seed) {
    W_a = RandomVector<T>(p.W_a.size(), seed);
    b_a = RandomVector<T>(p.b_a.size(), seed + 1);
    U_a = RandomVector<T>(p.U_a.size(), seed + 2);
    v_a = RandomVector<T>(p.v_a.size(), seed + 3);
    W_g = RandomVector<T>(p.W_g.size(), seed + 4);
  }
  AttentionGradsOf<T> View() {
    return {W_a.data(), b_a.data(), U_a.data(), v_a.data(), W_g.data()};
  }
};

const AttentionDims kOdd{
    .steps = 4, .src_len = 7, .batch = 3, .ctx_dim = 10, .dec_dim = 6, .att_dim = 5};

TEST(Attention, ForwardAndBackwardMatchReference) {
  Context ctx(2);
  for (AttentionKind kind : kKinds) {
    SCOPED_TRACE(Name(kind));
    const Problem<float> pf(kind, kOdd, {7, 3, 1}, 11);
    const Problem<double> pd(pf);
    const AttentionDims& d = pf.d;
    const std::size_t Ty = d.steps, Tx = d.src_len, B = d.batch, C = d.ctx_dim, Hd = d.dec_dim;
    Attention op(ctx, kind, d);

    std::vector<float> contexts(Ty * B * C), alphas(Ty * B * Tx, -1.0f);
    op.ForwardBatch(pf.H.data(), pf.Params());
    for (int i = 0; i < d.steps; ++i) {
      op.ForwardStep(i, contexts.data(), alphas.data(), pf.states.data(), pf.H.data(),
                     pf.lengths.data(), pf.Params());
    }
    std::vector<double> want_ctx(contexts.size()), want_alpha(alphas.size());
    for (std::size_t i = 0; i < Ty; ++i) {
      ref::AttentionStepForward(want_ctx.data() + i * B * C, want_alpha.data() + i * B * Tx, kind,
                                pd.states.data() + i * B * Hd, pd.H.data(), pd.lengths.data(),
                                pd.Params(), d);
    }
    const int fwd_terms = d.ctx_dim + d.dec_dim + d.att_dim + d.src_len;
    ExpectAllClose(contexts, want_ctx, SumTolerance(fwd_terms), "contexts");
    ExpectAllClose(alphas, want_alpha, SumTolerance(fwd_terms), "alphas");
    for (std::size_t i = 0; i < Ty; ++i) {
      for (std::size_t b = 0; b < B; ++b) {
        for (std::size_t j = pf.lengths[b]; j < Tx; ++j) {
          ASSERT_EQ(alphas[(i * B + b) * Tx + j], 0.0f) << "padding must get exactly 0";
        }
      }
    }

    // Backward from random starting gradients (checks adding, not overwriting).
    const auto d_contexts = RandomVector<float>(contexts.size(), 21);
    auto d_states = RandomVector<float>(pf.states.size(), 22);
    auto dH = RandomVector<float>(pf.H.size(), 23);
    Grads<float> g(pf, 24);
    std::vector<double> want_ds(d_states.begin(), d_states.end()), want_dH(dH.begin(), dH.end());
    Grads<double> want_g(pd, 24);
    for (int i = d.steps - 1; i >= 0; --i) {
      op.BackwardStep(i, d_states.data(), dH.data(), d_contexts.data(), alphas.data(),
                      pf.states.data(), pf.H.data(), pf.lengths.data(), pf.Params());
    }
    op.BackwardBatch(dH.data(), g.View(), pf.states.data(), pf.H.data(), pf.Params());
    const std::vector<double> dctx_d(d_contexts.begin(), d_contexts.end());
    for (std::size_t i = 0; i < Ty; ++i) {
      ref::AttentionStepBackward(want_ds.data() + i * B * Hd, want_dH.data(), want_g.View(),
                                 dctx_d.data() + i * B * C, kind, pd.states.data() + i * B * Hd,
                                 pd.H.data(), pd.lengths.data(), pd.Params(), d);
    }
    const double tol = SumTolerance(d.steps * d.batch * d.src_len + fwd_terms);
    ExpectAllClose(d_states, want_ds, tol, "d_states");
    ExpectAllClose(dH, want_dH, tol, "dH");
    ExpectAllClose(g.W_a, want_g.W_a, tol, "dW_a");
    ExpectAllClose(g.b_a, want_g.b_a, tol, "db_a");
    ExpectAllClose(g.U_a, want_g.U_a, tol, "dU_a");
    ExpectAllClose(g.v_a, want_g.v_a, tol, "dv_a");
    ExpectAllClose(g.W_g, want_g.W_g, tol, "dW_g");
  }
}

TEST(Attention, BackwardAdds) {
  Context ctx(2);
  for (AttentionKind kind : kKinds) {
    SCOPED_TRACE(Name(kind));
    const Problem<float> p(kind, kOdd, {2, 7, 1}, 31);
    const std::size_t Ty = p.d.steps, Tx = p.d.src_len, B = p.d.batch, C = p.d.ctx_dim;
    Attention op(ctx, kind, p.d);
    std::vector<float> contexts(Ty * B * C), alphas(Ty * B * Tx);
    op.ForwardBatch(p.H.data(), p.Params());
    for (int i = 0; i < p.d.steps; ++i) {
      op.ForwardStep(i, contexts.data(), alphas.data(), p.states.data(), p.H.data(),
                     p.lengths.data(), p.Params());
    }
    const auto d_contexts = RandomVector<float>(contexts.size(), 32);
    std::vector<float> d_states(p.states.size(), 0.0f), dH(p.H.size(), 0.0f);
    Grads<float> g(p, 33);
    for (auto* v : {&g.W_a, &g.b_a, &g.U_a, &g.v_a, &g.W_g}) std::fill(v->begin(), v->end(), 0.f);
    std::vector<std::vector<float>> once;
    for (int pass = 0; pass < 2; ++pass) {
      for (int i = p.d.steps - 1; i >= 0; --i) {
        op.BackwardStep(i, d_states.data(), dH.data(), d_contexts.data(), alphas.data(),
                        p.states.data(), p.H.data(), p.lengths.data(), p.Params());
      }
      op.BackwardBatch(dH.data(), g.View(), p.states.data(), p.H.data(), p.Params());
      if (pass == 0) once = {d_states, dH, g.W_a, g.b_a, g.U_a, g.v_a, g.W_g};
    }
    const std::vector<std::vector<float>*> twice = {&d_states, &dH,    &g.W_a, &g.b_a,
                                                    &g.U_a,    &g.v_a, &g.W_g};
    double norm = 0;
    for (std::size_t k = 0; k < once.size(); ++k) {
      std::vector<float> doubled(once[k].size());
      for (std::size_t e = 0; e < doubled.size(); ++e) doubled[e] = 2 * once[k][e];
      for (float v : once[k]) norm += std::abs(v);
      ExpectAllClose(*twice[k], doubled, SumTolerance(4 * p.d.steps * p.d.src_len),
                     "gradient " + std::to_string(k));
    }
    EXPECT_GT(norm, 1.0) << "the gradients must not all be zero";
  }
}

TEST(AttentionReference, GradientsMatchFiniteDifferences) {
  const AttentionDims small{
      .steps = 1, .src_len = 4, .batch = 3, .ctx_dim = 4, .dec_dim = 3, .att_dim = 3};
  for (AttentionKind kind : kKinds) {
    SCOPED_TRACE(Name(kind));
    Problem<double> p(kind, small, {4, 2, 1}, 41);
    const AttentionDims& d = p.d;
    const std::size_t B = d.batch, C = d.ctx_dim;
    const auto r = RandomVector<double>(B * C, 42);  // loss = r . ctx
    auto loss = [&] {
      std::vector<double> ctx(B * C), alpha(B * d.src_len);
      ref::AttentionStepForward(ctx.data(), alpha.data(), kind, p.states.data(), p.H.data(),
                                p.lengths.data(), p.Params(), d);
      double l = 0;
      for (std::size_t e = 0; e < ctx.size(); ++e) l += r[e] * ctx[e];
      return l;
    };
    std::vector<double> ds(p.states.size(), 0.0), dH(p.H.size(), 0.0);
    Grads<double> g(p, 0);
    for (auto* v : {&g.W_a, &g.b_a, &g.U_a, &g.v_a, &g.W_g}) std::fill(v->begin(), v->end(), 0.);
    ref::AttentionStepBackward(ds.data(), dH.data(), g.View(), r.data(), kind, p.states.data(),
                               p.H.data(), p.lengths.data(), p.Params(), d);
    const double tol = 1e-7;
    // Only block 0 of states (s_0) is read by a one-step problem.
    ExpectAllClose(ds, NumericGradient(p.states, loss), tol, "ds");
    ExpectAllClose(dH, NumericGradient(p.H, loss), tol, "dH");
    if (kind == AttentionKind::kAdditive) {
      ExpectAllClose(g.W_a, NumericGradient(p.W_a, loss), tol, "dW_a");
      ExpectAllClose(g.b_a, NumericGradient(p.b_a, loss), tol, "db_a");
      ExpectAllClose(g.U_a, NumericGradient(p.U_a, loss), tol, "dU_a");
      ExpectAllClose(g.v_a, NumericGradient(p.v_a, loss), tol, "dv_a");
    } else if (kind == AttentionKind::kGeneral) {
      ExpectAllClose(g.W_g, NumericGradient(p.W_g, loss), tol, "dW_g");
    }
    // The padded rows of H get no gradient, in the reference as in the loss.
    for (std::size_t b = 0; b < B; ++b) {
      for (std::size_t j = p.lengths[b]; j < static_cast<std::size_t>(d.src_len); ++j) {
        for (std::size_t c = 0; c < C; ++c) ASSERT_EQ(dH[(j * B + b) * C + c], 0.0);
      }
    }
  }
}

TEST(AttentionDecode, HypothesesMappedToSentencesMatchReference) {
  Context ctx(2);
  const AttentionDims max_dims{.src_len = 7, .batch = 3, .ctx_dim = 10, .dec_dim = 6, .att_dim = 5};
  for (AttentionKind kind : kKinds) {
    SCOPED_TRACE(Name(kind));
    AttentionDims max_kind = max_dims;
    if (kind == AttentionKind::kDot) max_kind.dec_dim = max_kind.ctx_dim;
    AttentionDecode op(ctx, kind, max_kind, /*max_hyps=*/6);
    // A source batch smaller than the maximum: Tx = 5, B = 2, lengths 5 and 1.
    AttentionDims src = max_dims;
    src.steps = 1, src.src_len = 5, src.batch = 2;
    const Problem<float> pf(kind, src, {5, 1}, 51);
    const std::size_t Tx = 5, B = 2, C = src.ctx_dim, Hd = pf.d.dec_dim;
    op.SetSource(pf.H.data(), 5, 2, pf.Params());
    struct Case {
      std::vector<int> src_of;  // empty: null (identity)
    };
    for (const Case& c : {Case{{1, 0, 1, 1, 0, 1}}, Case{{1}}, Case{{}}}) {
      const int n = c.src_of.empty() ? 2 : static_cast<int>(c.src_of.size());
      const auto s = RandomVector<float>(n * Hd, 52 + n);
      std::vector<float> contexts(n * C), alphas(n * Tx, -1.0f);
      op.Step(contexts.data(), alphas.data(), s.data(),
              c.src_of.empty() ? nullptr : c.src_of.data(), n, pf.H.data(), pf.lengths.data(),
              pf.Params());
      // The reference on the hypotheses as a batch of their own: H and the
      // lengths gathered per hypothesis.
      Problem<double> pd(pf);
      pd.d.batch = n;
      pd.lengths.resize(n);
      pd.H.assign(Tx * n * C, 0.0);
      for (int h = 0; h < n; ++h) {
        const int b = c.src_of.empty() ? h : c.src_of[h];
        pd.lengths[h] = pf.lengths[b];
        for (std::size_t j = 0; j < Tx; ++j) {
          for (std::size_t e = 0; e < C; ++e) pd.H[(j * n + h) * C + e] = pf.H[(j * B + b) * C + e];
        }
      }
      const std::vector<double> sd(s.begin(), s.end());
      std::vector<double> want_ctx(n * C), want_alpha(n * Tx);
      ref::AttentionStepForward(want_ctx.data(), want_alpha.data(), kind, sd.data(), pd.H.data(),
                                pd.lengths.data(), pd.Params(), pd.d);
      const int terms = C + Hd + src.att_dim + Tx;
      ExpectAllClose(contexts, want_ctx, SumTolerance(terms), "contexts n=" + std::to_string(n));
      ExpectAllClose(alphas, want_alpha, SumTolerance(terms), "alphas n=" + std::to_string(n));
    }
  }
}

TEST(Attention, SoftmaxIsStableForHugeEnergies) {
  Context ctx(1);
  // Dot scores of size ~ 2He * 40^2: far beyond exp's range in float.
  Problem<float> p(AttentionKind::kDot, kOdd, {7, 4, 1}, 61);
  for (auto& x : p.H) x *= 40.0f;
  for (auto& x : p.states) x *= 40.0f;
  const std::size_t Ty = p.d.steps, Tx = p.d.src_len, B = p.d.batch, C = p.d.ctx_dim;
  Attention op(ctx, p.kind, p.d);
  std::vector<float> contexts(Ty * B * C), alphas(Ty * B * Tx);
  op.ForwardBatch(p.H.data(), p.Params());
  op.ForwardStep(0, contexts.data(), alphas.data(), p.states.data(), p.H.data(), p.lengths.data(),
                 p.Params());
  for (std::size_t b = 0; b < B; ++b) {
    double sum = 0;
    for (std::size_t j = 0; j < Tx; ++j) {
      const float a = alphas[b * Tx + j];
      ASSERT_TRUE(std::isfinite(a) && a >= 0.0f && a <= 1.0f) << a;
      sum += a;
    }
    EXPECT_NEAR(sum, 1.0, SumTolerance(static_cast<std::int64_t>(Tx)));  // a float softmax
  }
  for (std::size_t e = 0; e < B * C; ++e) ASSERT_TRUE(std::isfinite(contexts[e]));
}

}  // namespace
}  // namespace rnnsearch::ops
