// ops::ReadoutLoss against its reference twin on a padded time-major batch
// (lengths 7, 4, 1; odd sizes), tied and untied output weights, label
// smoothing 0 and 0.1, with and without a dropout mask on t; the
// reference's gradients against central finite differences (with a mask
// too); that Backward adds; stability with large logits; and run-to-run
// reproducibility.
#include "ops/readout_loss.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "ops/embedding_ref.h"
#include "ops/readout_loss_ref.h"
#include "tests/ops/check.h"

namespace rnnsearch::ops {
namespace {

using testing::ExpectAllClose;
using testing::RandomVector;
using testing::SumTolerance;

template <class T>
std::vector<double> D(const std::vector<T>& v) {
  return {v.begin(), v.end()};
}

constexpr int kT = 7, kVocab = 11;
const std::vector<int> kLengths = {7, 4, 1};

// One batch and its parameters. Tied: O = E, W_v is the target embedding
// table and y~prev its rows for the previous target tokens (<s> first).
struct Case {
  ref::ReadoutDims d;
  std::vector<std::int32_t> target, prev;
  std::vector<float> s, c, y, w_o, b_o, w_v, b_v;

  Case(bool tied, std::uint32_t seed, int T = kT, const std::vector<int>& lengths = kLengths,
       int vocab = kVocab) {
    const std::int64_t B = static_cast<std::int64_t>(lengths.size());
    d = {T * B, 5, 6, 4, tied ? 4 : 3, vocab};
    target = testing::PaddedTimeMajorIds(lengths, T, vocab, seed);
    prev.assign(target.size(), 2);
    for (std::size_t i = static_cast<std::size_t>(B); i < target.size(); ++i) {
      prev[i] = target[i - static_cast<std::size_t>(B)];
    }
    auto n = [](std::int64_t a, std::int64_t b) { return static_cast<std::size_t>(a * b); };
    s = RandomVector<float>(n(d.rows, d.dec), seed + 1);
    c = RandomVector<float>(n(d.rows, d.ctx), seed + 2);
    w_o = RandomVector<float>(n(d.readout, d.in()), seed + 3, 0.6);
    b_o = RandomVector<float>(n(d.readout, 1), seed + 4, 0.3);
    w_v = RandomVector<float>(n(d.vocab, d.readout), seed + 5);
    b_v = RandomVector<float>(n(d.vocab, 1), seed + 6, 0.3);
    if (tied) {
      y.resize(n(d.rows, d.emb));
      ref::EmbeddingForward(y.data(), prev.data(), w_v.data(), d.rows, d.emb);
    } else {
      y = RandomVector<float>(n(d.rows, d.emb), seed + 7);
    }
  }

  ReadoutShape Shape(std::int64_t max_rows, bool training = true) const {
    return {max_rows, d.dec, d.ctx, d.emb, d.readout, d.vocab, training};
  }
  ReadoutParams Params() const { return {w_o.data(), b_o.data(), w_v.data(), b_v.data()}; }
  // Every op-vs-reference tolerance: the longest chain of sums in the op.
  double Tol() const { return SumTolerance(d.in() + d.readout + d.vocab + d.rows); }
};

// An inverted-dropout mask of rows x O multipliers: 0 with probability p,
// else 1 / (1 - p).
std::vector<float> DropoutMask(std::int64_t rows, std::int64_t readout, float p,
                               std::uint32_t seed) {
  const auto u = RandomVector<float>(static_cast<std::size_t>(rows * readout), seed);
  std::vector<float> mask(u.size());
  for (std::size_t i = 0; i < u.size(); ++i) mask[i] = (u[i] + 1) / 2 < p ? 0.0f : 1 / (1 - p);
  return mask;
}

// Double copies of a Case's parameters for the reference.
struct RefParams {
  std::vector<double> w_o, b_o, w_v, b_v;
  explicit RefParams(const Case& k) : w_o(D(k.w_o)), b_o(D(k.b_o)), w_v(D(k.w_v)), b_v(D(k.b_v)) {}
  ref::ReadoutWeights<double> Get() const {
    return {w_o.data(), b_o.data(), w_v.data(), b_v.data()};
  }
};

// Gradient buffers, prefilled so that "adds" is checked too.
template <class T>
struct Grads {
  std::vector<T> w_o, b_o, w_v, b_v, s, c, y;
  Grads(const Case& k, bool random) {
    auto make = [&](std::size_t n, std::uint32_t seed) {
      return random ? RandomVector<T>(n, seed, 0.1) : std::vector<T>(n, T(0));
    };
    w_o = make(k.w_o.size(), 91), b_o = make(k.b_o.size(), 92), w_v = make(k.w_v.size(), 93);
    b_v = make(k.b_v.size(), 94), s = make(k.s.size(), 95), c = make(k.c.size(), 96);
    y = make(k.y.size(), 97);
  }
  ReadoutGrads Get() { return {w_o.data(), b_o.data(), w_v.data(), b_v.data()}; }
};

void ExpectGradsClose(const Grads<float>& got, const Grads<double>& want, double tol) {
  ExpectAllClose(got.w_o, want.w_o, tol, "dW_o");
  ExpectAllClose(got.b_o, want.b_o, tol, "db_o");
  ExpectAllClose(got.w_v, want.w_v, tol, "dW_v");
  ExpectAllClose(got.b_v, want.b_v, tol, "db_v");
  ExpectAllClose(got.s, want.s, tol, "ds");
  ExpectAllClose(got.c, want.c, tol, "dc");
  ExpectAllClose(got.y, want.y, tol, "dy");
}

// Runs the op's Forward and Backward on k (with `rows` of its rows) and
// compares loss, token count and every gradient with the reference.
void CheckAgainstReference(const Case& k, float eps, std::int64_t max_rows, std::int64_t rows,
                           bool input_grads = true, const float* mask = nullptr) {
  Context ctx(2);
  ReadoutLoss op(ctx, k.Shape(max_rows));
  const TokenLoss loss =
      op.Forward(k.s.data(), k.c.data(), k.y.data(), k.target.data(), k.Params(), eps, rows, mask);
  ref::ReadoutDims d = k.d;
  d.rows = rows;
  const RefParams rp(k);
  const auto s = D(k.s), c = D(k.c), y = D(k.y);
  std::int64_t tokens = 0;
  const double want = ref::ReadoutLossForward(s.data(), c.data(), y.data(), k.target.data(),
                                              rp.Get(), d, double{eps}, &tokens, mask);
  ASSERT_GT(tokens, 0);
  EXPECT_EQ(loss.tokens, tokens);
  EXPECT_NEAR(loss.sum, want, k.Tol() * std::max(1.0, std::abs(want)));

  const float scale = 1.0f / static_cast<float>(tokens);
  Grads<float> g(k, true);
  Grads<double> wg(k, true);
  op.Backward(g.Get(), input_grads ? g.s.data() : nullptr, input_grads ? g.c.data() : nullptr,
              input_grads ? g.y.data() : nullptr, k.s.data(), k.c.data(), k.y.data(), k.Params(),
              scale, mask);
  ref::ReadoutLossBackward(wg.w_o.data(), wg.b_o.data(), wg.w_v.data(), wg.b_v.data(),
                           input_grads ? wg.s.data() : nullptr, input_grads ? wg.c.data() : nullptr,
                           input_grads ? wg.y.data() : nullptr, s.data(), c.data(), y.data(),
                           k.target.data(), rp.Get(), d, double{eps}, double{scale}, mask);
  ExpectGradsClose(g, wg, k.Tol());
}

TEST(ReadoutLoss, MatchesReference) {
  for (bool tied : {false, true}) {
    for (float eps : {0.0f, 0.1f}) {
      SCOPED_TRACE(::testing::Message() << "tied " << tied << " eps " << eps);
      const Case k(tied, 100);
      CheckAgainstReference(k, eps, k.d.rows, k.d.rows);
    }
  }
}

TEST(ReadoutLoss, DropoutMaskMatchesReference) {
  for (bool tied : {false, true}) {
    SCOPED_TRACE(::testing::Message() << "tied " << tied);
    const Case k(tied, 150);
    const auto mask = DropoutMask(k.d.rows, k.d.readout, 0.3f, 151);
    CheckAgainstReference(k, 0.1f, k.d.rows, k.d.rows, true, mask.data());
    CheckAgainstReference(k, 0.0f, k.d.rows + 3, 4 * 3, true, mask.data());
  }
}

// A mask of all ones is no dropout: bit-identical to passing none.
TEST(ReadoutLoss, AllOnesMaskIsNoDropout) {
  const Case k(false, 160);
  Context ctx(2);
  ReadoutLoss op(ctx, k.Shape(k.d.rows));
  const std::vector<float> ones(static_cast<std::size_t>(k.d.rows * k.d.readout), 1.0f);
  std::vector<Grads<float>> g;
  std::vector<double> losses;
  for (const float* mask : {static_cast<const float*>(nullptr), ones.data()}) {
    losses.push_back(op.Forward(k.s.data(), k.c.data(), k.y.data(), k.target.data(), k.Params(),
                                0.1f, k.d.rows, mask)
                         .sum);
    g.emplace_back(k, false);
    op.Backward(g.back().Get(), g.back().s.data(), g.back().c.data(), g.back().y.data(), k.s.data(),
                k.c.data(), k.y.data(), k.Params(), 0.25f, mask);
  }
  EXPECT_EQ(losses[0], losses[1]);
  EXPECT_EQ(g[0].w_o, g[1].w_o);
  EXPECT_EQ(g[0].w_v, g[1].w_v);
  EXPECT_EQ(g[0].s, g[1].s);
}

TEST(ReadoutLoss, FewerRowsThanMaxAndSkippedInputGradients) {
  const Case k(false, 200);
  CheckAgainstReference(k, 0.1f, k.d.rows, 4 * 3);  // the first 4 time steps
  CheckAgainstReference(k, 0.1f, k.d.rows + 5, k.d.rows, /*input_grads=*/false);
}

TEST(ReadoutLoss, LargeLogitsAreStable) {
  Case k(false, 300);
  for (float& w : k.w_v) w *= 400.0f;  // logits of several hundred: exp would overflow
  CheckAgainstReference(k, 0.1f, k.d.rows, k.d.rows);
}

TEST(ReadoutLoss, LogProbsMatchReference) {
  const Case k(true, 400);
  Context ctx(2);
  ReadoutLoss op(ctx, k.Shape(k.d.rows, /*training=*/false));
  for (std::int64_t rows : {k.d.rows, std::int64_t{2}}) {
    std::vector<float> out(static_cast<std::size_t>(rows * k.d.vocab));
    op.LogProbs(out.data(), k.s.data(), k.c.data(), k.y.data(), k.Params(), rows);
    ref::ReadoutDims d = k.d;
    d.rows = rows;
    const RefParams rp(k);
    const auto s = D(k.s), c = D(k.c), y = D(k.y);
    std::vector<double> want(out.size());
    ref::ReadoutLogProbs(want.data(), s.data(), c.data(), y.data(), rp.Get(), d);
    ExpectAllClose(out, want, k.Tol(), "log probs");
  }
}

TEST(ReadoutLoss, BackwardAdds) {
  const Case k(false, 500);
  Context ctx(1);
  ReadoutLoss op(ctx, k.Shape(k.d.rows));
  op.Forward(k.s.data(), k.c.data(), k.y.data(), k.target.data(), k.Params(), 0.1f, k.d.rows);
  Grads<float> once(k, false);
  op.Backward(once.Get(), once.s.data(), once.c.data(), once.y.data(), k.s.data(), k.c.data(),
              k.y.data(), k.Params(), 0.5f);
  Grads<float> twice = once;
  op.Backward(twice.Get(), twice.s.data(), twice.c.data(), twice.y.data(), k.s.data(), k.c.data(),
              k.y.data(), k.Params(), 0.5f);
  Grads<double> doubled(k, false);
  auto x2 = [](const std::vector<float>& v) {
    std::vector<double> r(v.begin(), v.end());
    for (double& x : r) x *= 2;
    return r;
  };
  doubled.w_o = x2(once.w_o), doubled.b_o = x2(once.b_o), doubled.w_v = x2(once.w_v);
  doubled.b_v = x2(once.b_v), doubled.s = x2(once.s), doubled.c = x2(once.c);
  doubled.y = x2(once.y);
  ExpectGradsClose(twice, doubled, k.Tol());
  double norm = 0;
  for (float v : once.w_v) norm += std::abs(v);
  EXPECT_GT(norm, 0.01);
}

TEST(ReadoutLoss, ReproducibleRunToRun) {
  std::vector<int> lengths(16);
  for (std::size_t b = 0; b < lengths.size(); ++b) lengths[b] = 1 + static_cast<int>(b % 12);
  const Case k(false, 600, 12, lengths, 997);
  Context ctx(2);
  ReadoutLoss op(ctx, k.Shape(k.d.rows));
  std::vector<Grads<float>> runs;
  std::vector<double> losses;
  for (int run = 0; run < 2; ++run) {
    losses.push_back(
        op.Forward(k.s.data(), k.c.data(), k.y.data(), k.target.data(), k.Params(), 0.1f, k.d.rows)
            .sum);
    runs.emplace_back(k, false);
    Grads<float>& g = runs.back();
    op.Backward(g.Get(), g.s.data(), g.c.data(), g.y.data(), k.s.data(), k.c.data(), k.y.data(),
                k.Params(), 0.01f);
  }
  EXPECT_EQ(losses[0], losses[1]);
  EXPECT_EQ(runs[0].w_o, runs[1].w_o);
  EXPECT_EQ(runs[0].b_o, runs[1].b_o);
  EXPECT_EQ(runs[0].w_v, runs[1].w_v);
  EXPECT_EQ(runs[0].b_v, runs[1].b_v);
  EXPECT_EQ(runs[0].s, runs[1].s);
  EXPECT_EQ(runs[0].c, runs[1].c);
  EXPECT_EQ(runs[0].y, runs[1].y);
}

// The reference's gradients (times a scale) against central finite
// differences of scale * loss, in double.
TEST(ReadoutLossReference, GradientsMatchFiniteDifferences) {
  for (double eps : {0.0, 0.1}) {
    SCOPED_TRACE(::testing::Message() << "eps " << eps);
    const Case k(false, 700);
    // With label smoothing, also through a dropout mask on t.
    const auto drop = DropoutMask(k.d.rows, k.d.readout, 0.3f, 701);
    const float* mask = eps > 0 ? drop.data() : nullptr;
    RefParams p(k);
    auto s = D(k.s), c = D(k.c), y = D(k.y);
    const double scale = 0.5;
    auto loss = [&] {
      std::int64_t tokens = 0;
      return scale * ref::ReadoutLossForward(s.data(), c.data(), y.data(), k.target.data(), p.Get(),
                                             k.d, eps, &tokens, mask);
    };
    Grads<double> g(k, false);
    ref::ReadoutLossBackward(g.w_o.data(), g.b_o.data(), g.w_v.data(), g.b_v.data(), g.s.data(),
                             g.c.data(), g.y.data(), s.data(), c.data(), y.data(), k.target.data(),
                             p.Get(), k.d, eps, scale, mask);
    const double tol = 1e-7;
    ExpectAllClose(g.w_o, testing::NumericGradient(p.w_o, loss), tol, "dW_o");
    ExpectAllClose(g.b_o, testing::NumericGradient(p.b_o, loss), tol, "db_o");
    ExpectAllClose(g.w_v, testing::NumericGradient(p.w_v, loss), tol, "dW_v");
    ExpectAllClose(g.b_v, testing::NumericGradient(p.b_v, loss), tol, "db_v");
    ExpectAllClose(g.s, testing::NumericGradient(s, loss), tol, "ds");
    ExpectAllClose(g.c, testing::NumericGradient(c, loss), tol, "dc");
    ExpectAllClose(g.y, testing::NumericGradient(y, loss), tol, "dy");
  }
}

// Tied embeddings: the table is both W_v and the source of y~prev, so its
// gradient is dW_v plus the scatter of dy~prev.
TEST(ReadoutLossReference, TiedGradientMatchesFiniteDifferences) {
  const Case k(true, 800);
  RefParams p(k);
  const auto s = D(k.s), c = D(k.c);
  std::vector<double> y(k.y.size());
  auto loss = [&] {
    ref::EmbeddingForward(y.data(), k.prev.data(), p.w_v.data(), k.d.rows, k.d.emb);
    std::int64_t tokens = 0;
    return ref::ReadoutLossForward(s.data(), c.data(), y.data(), k.target.data(), p.Get(), k.d, 0.1,
                                   &tokens);
  };
  loss();
  Grads<double> g(k, false);
  ref::ReadoutLossBackward(g.w_o.data(), g.b_o.data(), g.w_v.data(), g.b_v.data(),
                           static_cast<double*>(nullptr), static_cast<double*>(nullptr), g.y.data(),
                           s.data(), c.data(), y.data(), k.target.data(), p.Get(), k.d, 0.1, 1.0);
  ref::EmbeddingBackward(g.w_v.data(), g.y.data(), k.prev.data(), k.d.rows, k.d.emb);
  ExpectAllClose(g.w_v, testing::NumericGradient(p.w_v, loss), 1e-7, "dtable");
}

}  // namespace
}  // namespace rnnsearch::ops
