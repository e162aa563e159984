// The bidirectional encoder layer (ops/encoder.h) against its reference
// (ops/encoder_ref.h) on odd sizes with padded variable-length batches,
// GRU and LSTM, forward and every gradient; the reference against central
// finite differences in double; backward adding; padding being inert.
#include "ops/encoder.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <utility>
#include <vector>

#include "ops/encoder_ref.h"
#include "tests/ops/check.h"

namespace rnnsearch::ops {
namespace {

using testing::ExpectAllClose;
using testing::RandomVector;

constexpr int kB = 3, kT = 7, kIn = 4, kH = 5;
// Full length, a length-1 sentence, and one in between.
const std::vector<std::int32_t> kLengths = {7, 1, 4};

struct Shape {
  int B = kB, T = kT, in = kIn, H = kH;
};

// One direction's parameters (or gradients) in PyTorch's layout.
template <class T>
struct DirParams {
  DirParams(CellType cell, std::uint32_t seed, double scale, Shape s = {})
      : w_ih(RandomVector<T>(GateCount(cell) * s.H * s.in, seed, scale)),
        w_hh(RandomVector<T>(GateCount(cell) * s.H * s.H, seed + 1, scale)),
        b_ih(RandomVector<T>(GateCount(cell) * s.H, seed + 2, scale)),
        b_hh(RandomVector<T>(GateCount(cell) * s.H, seed + 3, scale)) {}
  template <class U>
  explicit DirParams(const DirParams<U>& o)
      : w_ih(o.w_ih.begin(), o.w_ih.end()),
        w_hh(o.w_hh.begin(), o.w_hh.end()),
        b_ih(o.b_ih.begin(), o.b_ih.end()),
        b_hh(o.b_hh.begin(), o.b_hh.end()) {}
  RnnParamsOf<T> View() const { return {w_ih.data(), w_hh.data(), b_ih.data(), b_hh.data()}; }
  RnnGradsOf<T> Grads() { return {w_ih.data(), w_hh.data(), b_ih.data(), b_hh.data()}; }
  std::vector<T*> All() { return {&w_ih, &w_hh, &b_ih, &b_hh}; }
  std::vector<T> w_ih, w_hh, b_ih, b_hh;
};

// Everything one Forward + Backward reads, in float, with a double copy.
struct Problem {
  Problem(CellType c, std::uint32_t seed, Shape s = {}, std::vector<std::int32_t> lens = kLengths)
      : cell(c),
        shape(s),
        lengths(std::move(lens)),
        x(RandomVector<float>(s.T * s.B * s.in, seed)),
        dh(RandomVector<float>(s.T * s.B * 2 * s.H, seed + 1)),  // nonzero at padding too
        fwd(c, seed + 10, 0.6, s),
        bwd(c, seed + 20, 0.6, s) {}
  CellType cell;
  Shape shape;
  std::vector<std::int32_t> lengths;
  std::vector<float> x, dh;
  DirParams<float> fwd, bwd;
};

// The outputs of Forward + Backward; gradients start from `seed`'s values
// so that the comparison also checks that Backward adds.
template <class T>
struct Result {
  Result(CellType cell, std::uint32_t seed, Shape s = {})
      : h(s.T * s.B * 2 * s.H),
        dx(RandomVector<T>(s.T * s.B * s.in, seed)),
        dfwd(cell, seed + 1, 1.0, s),
        dbwd(cell, seed + 5, 1.0, s) {}
  std::vector<T> h, dx;
  DirParams<T> dfwd, dbwd;
};

Result<float> RunOnednn(EncoderLayer& layer, const Problem& p, int backward_calls = 1) {
  Result<float> r(p.cell, 99, p.shape);
  layer.Forward(r.h.data(), p.x.data(), p.lengths.data(), p.fwd.View(), p.bwd.View());
  for (int k = 0; k < backward_calls; ++k) {
    layer.Backward(r.dx.data(), r.dfwd.Grads(), r.dbwd.Grads(), p.dh.data(), p.x.data(),
                   p.lengths.data());
  }
  return r;
}

Result<double> RunReference(const Problem& p) {
  Result<double> r(p.cell, 99, p.shape);
  const std::vector<double> x(p.x.begin(), p.x.end()), dh(p.dh.begin(), p.dh.end());
  const DirParams<double> fwd(p.fwd), bwd(p.bwd);
  const Shape& s = p.shape;
  ref::EncoderRef<double> encoder(p.cell, s.B, s.T, s.in, s.H);
  encoder.Forward(r.h.data(), x.data(), p.lengths.data(), fwd.View(), bwd.View());
  encoder.Backward(r.dx.data(), r.dfwd.Grads(), r.dbwd.Grads(), dh.data(), x.data(),
                   p.lengths.data(), fwd.View(), bwd.View());
  return r;
}

// Tolerances from the terms summed (benchdnn style): a state sums in + He
// products per gate, compounded over up to Tx steps; a weight gradient sums
// over the B * Tx steps, each a sum over the G * He gates it feeds.
void ExpectMatchesReference(const Result<float>& got, const Result<double>& want,
                            const Problem& p) {
  const int G = GateCount(p.cell);
  const Shape& s = p.shape;
  const double tol_h = testing::SumTolerance(s.T * (s.in + s.H));
  const double tol_grad = testing::SumTolerance(s.B * s.T * (G * s.H + s.in));
  ExpectAllClose(got.h, want.h, tol_h, "h");
  ExpectAllClose(got.dx, want.dx, tol_grad, "dx");
  const char* names[] = {"weight_ih", "weight_hh", "bias_ih", "bias_hh"};
  for (int d = 0; d < 2; ++d) {
    const DirParams<float>& g = d == 0 ? got.dfwd : got.dbwd;
    const DirParams<double>& w = d == 0 ? want.dfwd : want.dbwd;
    const std::vector<const std::vector<float>*> gv = {&g.w_ih, &g.w_hh, &g.b_ih, &g.b_hh};
    const std::vector<const std::vector<double>*> wv = {&w.w_ih, &w.w_hh, &w.b_ih, &w.b_hh};
    for (int k = 0; k < 4; ++k) {
      ExpectAllClose(*gv[k], *wv[k], tol_grad,
                     std::string(d == 0 ? "d fwd." : "d bwd.") + names[k]);
    }
  }
}

class EncoderTest : public ::testing::TestWithParam<CellType> {};

TEST_P(EncoderTest, MatchesReference) {
  Context ctx(1);
  const Problem p(GetParam(), 1);
  EncoderLayer layer(ctx, p.cell, kB, kT, kIn, kH);
  ExpectMatchesReference(RunOnednn(layer, p), RunReference(p), p);
}

// Sizes at which oneDNN picks other kernels and weight layouts than at the
// tiny ones (so the reorders between layouts are exercised too).
TEST_P(EncoderTest, MatchesReferenceOnLargerSizes) {
  Context ctx(2);
  const Shape s{6, 9, 33, 40};
  const Problem p(GetParam(), 60, s, {9, 1, 5, 9, 2, 7});
  EncoderLayer layer(ctx, p.cell, s.B, s.T, s.in, s.H);
  ExpectMatchesReference(RunOnednn(layer, p), RunReference(p), p);
}

// One object serves many batches: new weights and lengths every call.
TEST_P(EncoderTest, ReusedWithNewWeightsAndLengths) {
  Context ctx(2);
  EncoderLayer layer(ctx, GetParam(), kB, kT, kIn, kH);
  Problem first(GetParam(), 1);
  RunOnednn(layer, first);
  const Problem second(GetParam(), 50, Shape{}, {2, 7, 5});
  ExpectMatchesReference(RunOnednn(layer, second), RunReference(second), second);
}

TEST_P(EncoderTest, BackwardAdds) {
  Context ctx(1);
  const Problem p(GetParam(), 3);
  EncoderLayer layer(ctx, p.cell, kB, kT, kIn, kH);
  const Result<float> once = RunOnednn(layer, p, 1);
  const Result<float> twice = RunOnednn(layer, p, 2);
  const Result<float> start(p.cell, 99);  // what the gradients started from
  // twice - start == 2 * (once - start), up to the rounding of those sums.
  auto check = [](const std::vector<float>& t, const std::vector<float>& o,
                  const std::vector<float>& s, const std::string& what) {
    std::vector<double> want(o.size()), got(t.size());
    for (std::size_t i = 0; i < o.size(); ++i) {
      want[i] = 2.0 * (double(o[i]) - s[i]);
      got[i] = double(t[i]) - s[i];
    }
    ExpectAllClose(got, want, testing::SumTolerance(4), what);
  };
  check(twice.dx, once.dx, start.dx, "dx");
  check(twice.dfwd.w_ih, once.dfwd.w_ih, start.dfwd.w_ih, "fwd.weight_ih");
  check(twice.dfwd.w_hh, once.dfwd.w_hh, start.dfwd.w_hh, "fwd.weight_hh");
  check(twice.dfwd.b_ih, once.dfwd.b_ih, start.dfwd.b_ih, "fwd.bias_ih");
  check(twice.dbwd.b_hh, once.dbwd.b_hh, start.dbwd.b_hh, "bwd.bias_hh");
  check(twice.dbwd.w_ih, once.dbwd.w_ih, start.dbwd.w_ih, "bwd.weight_ih");
}

// h is 0 at padding; x and dh at padded positions change nothing, and dx
// there keeps its value.
TEST_P(EncoderTest, PaddingIsInert) {
  Context ctx(1);
  const Problem p(GetParam(), 5);
  EncoderLayer layer(ctx, p.cell, kB, kT, kIn, kH);
  const Result<float> a = RunOnednn(layer, p);
  Problem q = p;
  for (int t = 0; t < kT; ++t) {
    for (int b = 0; b < kB; ++b) {
      if (t < p.lengths[b]) continue;
      for (int i = 0; i < kIn; ++i) q.x[(t * kB + b) * kIn + i] += 3.f;
      for (int j = 0; j < 2 * kH; ++j) q.dh[(t * kB + b) * 2 * kH + j] -= 7.f;
    }
  }
  const Result<float> b = RunOnednn(layer, q);
  const Result<float> start(p.cell, 99);
  EXPECT_EQ(a.h, b.h);
  EXPECT_EQ(a.dx, b.dx);
  EXPECT_EQ(a.dfwd.w_ih, b.dfwd.w_ih);
  EXPECT_EQ(a.dfwd.w_hh, b.dfwd.w_hh);
  EXPECT_EQ(a.dbwd.w_ih, b.dbwd.w_ih);
  EXPECT_EQ(a.dbwd.b_hh, b.dbwd.b_hh);
  for (int t = 0; t < kT; ++t) {
    for (int bb = 0; bb < kB; ++bb) {
      if (t < p.lengths[bb]) continue;
      for (int j = 0; j < 2 * kH; ++j) EXPECT_EQ(a.h[(t * kB + bb) * 2 * kH + j], 0.f);
      for (int i = 0; i < kIn; ++i) {
        const int k = (t * kB + bb) * kIn + i;
        EXPECT_EQ(a.dx[k], start.dx[k]);
      }
    }
  }
}

// The reference's gradients against central finite differences in double,
// for loss = sum(w . h) with random w.
TEST_P(EncoderTest, ReferenceMatchesFiniteDifferences) {
  const CellType cell = GetParam();
  std::vector<double> x = RandomVector<double>(kT * kB * kIn, 7);
  const std::vector<double> w = RandomVector<double>(kT * kB * 2 * kH, 8);
  DirParams<double> fwd(cell, 30, 0.6), bwd(cell, 40, 0.6);
  ref::EncoderRef<double> encoder(cell, kB, kT, kIn, kH);
  std::vector<double> h(w.size());
  auto loss = [&] {
    encoder.Forward(h.data(), x.data(), kLengths.data(), fwd.View(), bwd.View());
    double s = 0;
    for (std::size_t i = 0; i < h.size(); ++i) s += w[i] * h[i];
    return s;
  };
  loss();
  std::vector<double> dx(x.size(), 0.0);
  DirParams<double> dfwd(cell, 0, 0.0), dbwd(cell, 0, 0.0);
  encoder.Backward(dx.data(), dfwd.Grads(), dbwd.Grads(), w.data(), x.data(), kLengths.data(),
                   fwd.View(), bwd.View());
  const double tol = 1e-7;
  ExpectAllClose(dx, testing::NumericGradient(x, loss), tol, "dx");
  const char* names[] = {"weight_ih", "weight_hh", "bias_ih", "bias_hh"};
  for (int d = 0; d < 2; ++d) {
    DirParams<double>& p = d == 0 ? fwd : bwd;
    DirParams<double>& g = d == 0 ? dfwd : dbwd;
    std::vector<std::vector<double>*> pv = {&p.w_ih, &p.w_hh, &p.b_ih, &p.b_hh};
    std::vector<std::vector<double>*> gv = {&g.w_ih, &g.w_hh, &g.b_ih, &g.b_hh};
    for (int k = 0; k < 4; ++k) {
      ExpectAllClose(*gv[k], testing::NumericGradient(*pv[k], loss), tol,
                     std::string(d == 0 ? "fwd." : "bwd.") + names[k]);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Cells, EncoderTest, ::testing::Values(CellType::kGru, CellType::kLstm),
                         [](const ::testing::TestParamInfo<CellType>& param) {
                           return param.param == CellType::kGru ? "Gru" : "Lstm";
                         });

}  // namespace
}  // namespace rnnsearch::ops
