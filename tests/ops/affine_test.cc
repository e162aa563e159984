// ops::Affine against its reference twin on odd, strided shapes (column
// blocks of bigger buffers), the reference's gradients against central
// finite differences, and that Backward adds.
#include "ops/affine.h"

#include <gtest/gtest.h>

#include <vector>

#include "ops/affine_ref.h"
#include "tests/ops/check.h"

namespace rnnsearch::ops {
namespace {

using testing::ExpectAllClose;
using testing::RandomVector;
using testing::SumTolerance;

std::vector<double> ToDouble(const std::vector<float>& v) { return {v.begin(), v.end()}; }

// A strided problem: x is columns [xoff, xoff + in) of a [rows, ldx]
// buffer, W columns [woff, woff + in) of an [out, ldw] buffer, y columns
// [yoff, yoff + out) of a [rows, ldy] buffer.
struct Problem {
  std::int64_t rows = 7, in = 5, out = 6;
  std::int64_t ldx = 9, ldw = 11, ldy = 8;
  std::int64_t xoff = 3, woff = 2, yoff = 1;

  AffineShape Shape(bool bias, Activation act) const {
    return {
        .in = in, .out = out, .ldx = ldx, .ldw = ldw, .ldy = ldy, .bias = bias, .activation = act};
  }
  ref::AffineDims Dims(std::int64_t r) const { return {r, in, out, ldx, ldw, ldy}; }
  std::size_t XSize() const { return static_cast<std::size_t>(rows * ldx); }
  std::size_t WSize() const { return static_cast<std::size_t>(out * ldw); }
  std::size_t YSize() const { return static_cast<std::size_t>(rows * ldy); }
};

TEST(Affine, ForwardMatchesReference) {
  Context ctx(1);
  const Problem p;
  const auto x = RandomVector<float>(p.XSize(), 1);
  const auto w = RandomVector<float>(p.WSize(), 2);
  const auto b = RandomVector<float>(static_cast<std::size_t>(p.out), 3);
  const auto y0 = RandomVector<float>(p.YSize(), 4);
  for (bool bias : {false, true}) {
    for (Activation act : {Activation::kIdentity, Activation::kTanh}) {
      for (bool accumulate : {false, true}) {
        SCOPED_TRACE(::testing::Message() << "bias " << bias << " tanh "
                                          << (act == Activation::kTanh) << " add " << accumulate);
        Affine op(ctx, p.Shape(bias, act));
        std::vector<float> y = y0;
        const float* bp = bias ? b.data() : nullptr;
        if (accumulate) {
          op.ForwardAdd(y.data() + p.yoff, x.data() + p.xoff, w.data() + p.woff, bp, p.rows);
        } else {
          op.Forward(y.data() + p.yoff, x.data() + p.xoff, w.data() + p.woff, bp, p.rows);
        }
        std::vector<double> want = ToDouble(y0);
        const auto xd = ToDouble(x), wd = ToDouble(w), bd = ToDouble(b);
        ref::AffineForward(want.data() + p.yoff, xd.data() + p.xoff, wd.data() + p.woff,
                           bias ? bd.data() : nullptr, p.Dims(p.rows), accumulate,
                           act == Activation::kTanh);
        // Also checks that the columns outside the block are untouched.
        ExpectAllClose(y, want, SumTolerance(p.in + 2), "y");
      }
    }
  }
}

TEST(Affine, RowsAreARuntimeArgument) {
  Context ctx(2);
  const std::int64_t in = 13, out = 17;
  Affine op(ctx, {.in = in, .out = out});
  const auto w = RandomVector<float>(static_cast<std::size_t>(out * in), 5);
  const auto b = RandomVector<float>(static_cast<std::size_t>(out), 6);
  for (std::int64_t rows : {1, 3, 40, 0}) {
    const auto x = RandomVector<float>(static_cast<std::size_t>(rows * in), 7);
    std::vector<float> y(static_cast<std::size_t>(rows * out), -5.0f);
    op.Forward(y.data(), x.data(), w.data(), b.data(), rows);
    std::vector<double> want(y.size());
    const auto xd = ToDouble(x), wd = ToDouble(w), bd = ToDouble(b);
    ref::AffineForward(want.data(), xd.data(), wd.data(), bd.data(), {rows, in, out, in, in, out},
                       false, false);
    ExpectAllClose(y, want, SumTolerance(in + 1), "y rows=" + std::to_string(rows));
  }
}

TEST(Affine, BackwardMatchesReference) {
  Context ctx(2);
  const Problem p;
  const auto x = RandomVector<float>(p.XSize(), 11);
  const auto w = RandomVector<float>(p.WSize(), 12);
  const auto dy = RandomVector<float>(p.YSize(), 13);
  const auto dx0 = RandomVector<float>(p.XSize(), 14);
  const auto dw0 = RandomVector<float>(p.WSize(), 15);
  const auto db0 = RandomVector<float>(static_cast<std::size_t>(p.out), 16);
  const float scale = 0.37f;
  Affine op(ctx, p.Shape(true, Activation::kIdentity));
  for (bool with_dx : {true, false}) {
    for (bool with_db : {true, false}) {
      SCOPED_TRACE(::testing::Message() << "dx " << with_dx << " db " << with_db);
      std::vector<float> dx = dx0, dw = dw0, db = db0;
      op.Backward(with_dx ? dx.data() + p.xoff : nullptr, dw.data() + p.woff,
                  with_db ? db.data() : nullptr, dy.data() + p.yoff, x.data() + p.xoff,
                  w.data() + p.woff, p.rows, scale);
      std::vector<double> want_dx = ToDouble(dx0), want_dw = ToDouble(dw0), want_db = ToDouble(db0);
      const auto xd = ToDouble(x), wd = ToDouble(w), dyd = ToDouble(dy);
      ref::AffineBackward(with_dx ? want_dx.data() + p.xoff : nullptr, want_dw.data() + p.woff,
                          with_db ? want_db.data() : nullptr, dyd.data() + p.yoff,
                          xd.data() + p.xoff, wd.data() + p.woff, p.Dims(p.rows),
                          static_cast<double>(scale));
      ExpectAllClose(dx, want_dx, SumTolerance(p.out + 1), "dx");
      ExpectAllClose(dw, want_dw, SumTolerance(p.rows + 1), "dw");
      ExpectAllClose(db, want_db, SumTolerance(p.rows + 1), "db");
    }
  }
}

TEST(Affine, BackwardAdds) {
  Context ctx(1);
  const Problem p;
  const auto x = RandomVector<float>(p.XSize(), 21);
  const auto w = RandomVector<float>(p.WSize(), 22);
  const auto dy = RandomVector<float>(p.YSize(), 23);
  Affine op(ctx, p.Shape(true, Activation::kIdentity));
  std::vector<float> dx1(p.XSize()), dw1(p.WSize()), db1(static_cast<std::size_t>(p.out));
  op.Backward(dx1.data() + p.xoff, dw1.data() + p.woff, db1.data(), dy.data() + p.yoff,
              x.data() + p.xoff, w.data() + p.woff, p.rows);
  std::vector<float> dx2 = dx1, dw2 = dw1, db2 = db1;
  op.Backward(dx2.data() + p.xoff, dw2.data() + p.woff, db2.data(), dy.data() + p.yoff,
              x.data() + p.xoff, w.data() + p.woff, p.rows);
  auto twice = [](const std::vector<float>& v) {
    std::vector<double> r(v.size());
    for (std::size_t i = 0; i < v.size(); ++i) r[i] = 2.0 * v[i];
    return r;
  };
  ExpectAllClose(dx2, twice(dx1), SumTolerance(p.out), "dx");
  ExpectAllClose(dw2, twice(dw1), SumTolerance(p.rows), "dw");
  ExpectAllClose(db2, twice(db1), SumTolerance(p.rows), "db");
  double norm = 0;
  for (float v : dw1) norm += std::abs(v);
  EXPECT_GT(norm, 0.1);  // the first call did add something
}

// The reference's gradients against central finite differences of
// L = sum(R .* act(x W^T + b)), in double. With tanh, Backward receives the
// pre-activation gradient R * (1 - y^2).
TEST(Affine, ReferenceGradientsMatchFiniteDifferences) {
  const Problem p;
  auto x = RandomVector<double>(p.XSize(), 31);
  auto w = RandomVector<double>(p.WSize(), 32);
  auto b = RandomVector<double>(static_cast<std::size_t>(p.out), 33);
  const auto R = RandomVector<double>(p.YSize(), 34);
  for (bool tanh : {false, true}) {
    SCOPED_TRACE(tanh ? "tanh" : "identity");
    std::vector<double> y(p.YSize());
    auto loss = [&] {
      std::fill(y.begin(), y.end(), 0.0);
      ref::AffineForward(y.data() + p.yoff, x.data() + p.xoff, w.data() + p.woff, b.data(),
                         p.Dims(p.rows), false, tanh);
      double l = 0;
      for (std::size_t i = 0; i < y.size(); ++i) l += R[i] * y[i];
      return l;
    };
    loss();
    std::vector<double> dpre(p.YSize());
    for (std::size_t i = 0; i < y.size(); ++i) dpre[i] = tanh ? R[i] * (1 - y[i] * y[i]) : R[i];
    std::vector<double> dx(p.XSize()), dw(p.WSize()), db(static_cast<std::size_t>(p.out));
    ref::AffineBackward(dx.data() + p.xoff, dw.data() + p.woff, db.data(), dpre.data() + p.yoff,
                        x.data() + p.xoff, w.data() + p.woff, p.Dims(p.rows), 1.0);
    ExpectAllClose(dx, testing::NumericGradient(x, loss), 1e-7, "dx");
    ExpectAllClose(dw, testing::NumericGradient(w, loss), 1e-7, "dw");
    ExpectAllClose(db, testing::NumericGradient(b, loss), 1e-7, "db");
  }
}

TEST(Affine, AddColumnSumsIsIndependentOfThreads) {
  const std::int64_t rows = 301, cols = 1000, lda = 1003;
  const auto a = RandomVector<float>(static_cast<std::size_t>(rows * lda), 41);
  std::vector<float> one(static_cast<std::size_t>(cols), 0.5f), two = one;
  SetComputeThreads(1);
  AddColumnSums(one.data(), a.data(), rows, cols, lda, 0.25f);
  SetComputeThreads(2);
  AddColumnSums(two.data(), a.data(), rows, cols, lda, 0.25f);
  EXPECT_EQ(one, two);
  std::vector<double> want(static_cast<std::size_t>(cols), 0.5);
  for (std::int64_t j = 0; j < cols; ++j) {
    double s = 0;
    for (std::int64_t r = 0; r < rows; ++r) s += a[static_cast<std::size_t>(r * lda + j)];
    want[static_cast<std::size_t>(j)] += 0.25 * s;
  }
  ExpectAllClose(one, want, SumTolerance(rows), "column sums");
}

}  // namespace
}  // namespace rnnsearch::ops
