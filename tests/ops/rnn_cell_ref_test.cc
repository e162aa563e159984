// The single-step GRU and LSTM references (ops/rnn_cell_ref.h): every
// gradient against central finite differences in double, the forward
// against hand-computed values, and backward adding into its buffers.
#include "ops/rnn_cell_ref.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "tests/ops/check.h"

namespace rnnsearch::ops::ref {
namespace {

using testing::NumericGradient;
using testing::RandomVector;
using V = std::vector<double>;

constexpr int kB = 3, kIn = 4, kH = 5;
constexpr double kFdTol = 1e-7;

// Inputs and parameters of one step, in double.
struct Step {
  explicit Step(int gates)
      : x(RandomVector<double>(kB * kIn, 1)),
        h(RandomVector<double>(kB * kH, 2)),
        c(RandomVector<double>(kB * kH, 3)),
        w_ih(RandomVector<double>(gates * kH * kIn, 4, 0.7)),
        w_hh(RandomVector<double>(gates * kH * kH, 5, 0.7)),
        b_ih(RandomVector<double>(gates * kH, 6, 0.5)),
        b_hh(RandomVector<double>(gates * kH, 7, 0.5)),
        wh(RandomVector<double>(kB * kH, 8)),
        wc(RandomVector<double>(kB * kH, 9)) {}
  V x, h, c, w_ih, w_hh, b_ih, b_hh;
  V wh, wc;  // loss = sum(wh * h') (+ sum(wc * c') for the LSTM)
};

double Dot(const V& a, const V& b) {
  double s = 0;
  for (std::size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

double GruLoss(const Step& s) {
  V hn(kB * kH);
  GruStepCache<double> cache;
  GruStepForward(hn.data(), cache, s.x.data(), s.h.data(), s.w_ih.data(), s.w_hh.data(),
                 s.b_ih.data(), s.b_hh.data(), kB, kIn, kH);
  return Dot(hn, s.wh);
}

double LstmLoss(const Step& s) {
  V hn(kB * kH), cn(kB * kH);
  LstmStepCache<double> cache;
  LstmStepForward(hn.data(), cn.data(), cache, s.x.data(), s.h.data(), s.c.data(), s.w_ih.data(),
                  s.w_hh.data(), s.b_ih.data(), s.b_hh.data(), kB, kIn, kH);
  return Dot(hn, s.wh) + Dot(cn, s.wc);
}

struct Grads {
  explicit Grads(int gates)
      : x(kB * kIn),
        h(kB * kH),
        c(kB * kH),
        w_ih(gates * kH * kIn),
        w_hh(gates * kH * kH),
        b_ih(gates * kH),
        b_hh(gates * kH) {}
  V x, h, c, w_ih, w_hh, b_ih, b_hh;
};

void GruBackward(Grads& g, const Step& s) {
  V hn(kB * kH);
  GruStepCache<double> cache;
  GruStepForward(hn.data(), cache, s.x.data(), s.h.data(), s.w_ih.data(), s.w_hh.data(),
                 s.b_ih.data(), s.b_hh.data(), kB, kIn, kH);
  GruStepBackward(g.x.data(), g.h.data(), g.w_ih.data(), g.w_hh.data(), g.b_ih.data(),
                  g.b_hh.data(), s.wh.data(), cache, s.x.data(), s.h.data(), s.w_ih.data(),
                  s.w_hh.data(), kB, kIn, kH);
}

void LstmBackward(Grads& g, const Step& s) {
  V hn(kB * kH), cn(kB * kH);
  LstmStepCache<double> cache;
  LstmStepForward(hn.data(), cn.data(), cache, s.x.data(), s.h.data(), s.c.data(), s.w_ih.data(),
                  s.w_hh.data(), s.b_ih.data(), s.b_hh.data(), kB, kIn, kH);
  LstmStepBackward(g.x.data(), g.h.data(), g.c.data(), g.w_ih.data(), g.w_hh.data(), g.b_ih.data(),
                   g.b_hh.data(), s.wh.data(), s.wc.data(), cache, s.x.data(), s.h.data(),
                   s.c.data(), s.w_ih.data(), s.w_hh.data(), kB, kIn, kH);
}

void ExpectGradientsMatchFiniteDifferences(Step& s, const Grads& g,
                                           const std::function<double()>& loss, bool lstm) {
  testing::ExpectAllClose(g.x, NumericGradient(s.x, loss), kFdTol, "dx");
  testing::ExpectAllClose(g.h, NumericGradient(s.h, loss), kFdTol, "dh");
  if (lstm) testing::ExpectAllClose(g.c, NumericGradient(s.c, loss), kFdTol, "dc");
  testing::ExpectAllClose(g.w_ih, NumericGradient(s.w_ih, loss), kFdTol, "dw_ih");
  testing::ExpectAllClose(g.w_hh, NumericGradient(s.w_hh, loss), kFdTol, "dw_hh");
  testing::ExpectAllClose(g.b_ih, NumericGradient(s.b_ih, loss), kFdTol, "db_ih");
  testing::ExpectAllClose(g.b_hh, NumericGradient(s.b_hh, loss), kFdTol, "db_hh");
}

TEST(RnnCellRef, GruGradientsMatchFiniteDifferences) {
  Step s(3);
  Grads g(3);
  GruBackward(g, s);
  ExpectGradientsMatchFiniteDifferences(
      s, g, [&] { return GruLoss(s); }, false);
}

TEST(RnnCellRef, LstmGradientsMatchFiniteDifferences) {
  Step s(4);
  Grads g(4);
  LstmBackward(g, s);
  ExpectGradientsMatchFiniteDifferences(
      s, g, [&] { return LstmLoss(s); }, true);
}

TEST(RnnCellRef, BackwardAdds) {
  for (const bool lstm : {false, true}) {
    const int gates = lstm ? 4 : 3;
    Step s(gates);
    Grads once(gates), twice(gates);
    if (lstm) {
      LstmBackward(once, s);
      LstmBackward(twice, s);
      LstmBackward(twice, s);
    } else {
      GruBackward(once, s);
      GruBackward(twice, s);
      GruBackward(twice, s);
    }
    for (V* v : {&once.x, &once.h, &once.c, &once.w_ih, &once.w_hh, &once.b_ih, &once.b_hh}) {
      for (double& e : *v) e *= 2;
    }
    testing::ExpectAllClose(twice.x, once.x, 1e-12, "dx");
    testing::ExpectAllClose(twice.h, once.h, 1e-12, "dh");
    testing::ExpectAllClose(twice.c, once.c, 1e-12, "dc");
    testing::ExpectAllClose(twice.w_ih, once.w_ih, 1e-12, "dw_ih");
    testing::ExpectAllClose(twice.w_hh, once.w_hh, 1e-12, "dw_hh");
    testing::ExpectAllClose(twice.b_ih, once.b_ih, 1e-12, "db_ih");
    testing::ExpectAllClose(twice.b_hh, once.b_hh, 1e-12, "db_hh");
  }
}

// One unit, one input, hand-computed: checks the gate order (r, z, n and
// i, f, g, o) and where each bias enters, which finite differences cannot.
TEST(RnnCellRef, GruKnownValues) {
  const double x = 0.5, h = -0.25;
  const V w_ih = {0.1, 0.2, 0.3}, w_hh = {0.4, 0.5, 0.6};  // rows r, z, n
  const V b_ih = {0.01, 0.02, 0.03}, b_hh = {0.04, 0.05, 0.06};
  double out = 0;
  GruStepCache<double> cache;
  GruStepForward(&out, cache, &x, &h, w_ih.data(), w_hh.data(), b_ih.data(), b_hh.data(), 1, 1, 1);
  const double r = 1 / (1 + std::exp(-(0.1 * x + 0.01 + 0.4 * h + 0.04)));
  const double z = 1 / (1 + std::exp(-(0.2 * x + 0.02 + 0.5 * h + 0.05)));
  const double n = std::tanh(0.3 * x + 0.03 + r * (0.6 * h + 0.06));
  EXPECT_DOUBLE_EQ(out, (1 - z) * n + z * h);
}

TEST(RnnCellRef, LstmKnownValues) {
  const double x = 0.5, h = -0.25, c = 0.75;
  const V w_ih = {0.1, 0.2, 0.3, 0.4}, w_hh = {0.5, 0.6, 0.7, 0.8};  // rows i, f, g, o
  const V b_ih = {0.01, 0.02, 0.03, 0.04}, b_hh = {0.05, 0.06, 0.07, 0.08};
  double hn = 0, cn = 0;
  LstmStepCache<double> cache;
  LstmStepForward(&hn, &cn, cache, &x, &h, &c, w_ih.data(), w_hh.data(), b_ih.data(), b_hh.data(),
                  1, 1, 1);
  auto sig = [](double a) { return 1 / (1 + std::exp(-a)); };
  const double i = sig(0.1 * x + 0.5 * h + 0.06);
  const double f = sig(0.2 * x + 0.6 * h + 0.08);
  const double g = std::tanh(0.3 * x + 0.7 * h + 0.10);
  const double o = sig(0.4 * x + 0.8 * h + 0.12);
  EXPECT_NEAR(cn, f * c + i * g, 1e-15);
  EXPECT_NEAR(hn, o * std::tanh(f * c + i * g), 1e-15);
}

}  // namespace
}  // namespace rnnsearch::ops::ref
