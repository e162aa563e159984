// ops/vec_math.h against the C library in double, on dense grids: the
// accuracy its header promises, and finite results where the library's
// would overflow.
#include "ops/vec_math.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

namespace rnnsearch::ops {
namespace {

constexpr double kUlp = std::numeric_limits<float>::epsilon();

// Largest |got - want| / |want| over n points evenly spaced in [lo, hi].
template <class F, class G>
double MaxRelativeError(F got, G want, float lo, float hi, int n) {
  std::vector<float> x(n), y(n);
  for (int i = 0; i < n; ++i) x[i] = lo + (hi - lo) * static_cast<float>(i) / (n - 1);
#pragma omp simd
  for (int i = 0; i < n; ++i) y[i] = got(x[i]);  // the vectorised path
  double worst = 0;
  for (int i = 0; i < n; ++i) {
    const double w = want(static_cast<double>(x[i]));
    if (w == 0) continue;
    worst = std::max(worst, std::abs(y[i] - w) / std::abs(w));
  }
  return worst;
}

TEST(VecMath, ExpWithinOneUlp) {
  const double err = MaxRelativeError([](float x) { return VecExp(x); },
                                      [](double x) { return std::exp(x); }, -87.0f, 88.0f, 400001);
  EXPECT_LE(err, 1.0 * kUlp) << err / kUlp << " ulp";
}

TEST(VecMath, TanhWithinThreeUlp) {
  for (auto [lo, hi] :
       {std::pair{-12.0f, 12.0f}, {-0.5f, 0.5f}, {-1e-3f, 1e-3f}, {-1e-30f, 1e-30f}}) {
    const double err = MaxRelativeError([](float x) { return VecTanh(x); },
                                        [](double x) { return std::tanh(x); }, lo, hi, 200001);
    EXPECT_LE(err, 3.0 * kUlp) << err / kUlp << " ulp on [" << lo << ", " << hi << "]";
  }
}

TEST(VecMath, SigmoidWithinThreeUlp) {
  const double err =
      MaxRelativeError([](float x) { return VecSigmoid(x); },
                       [](double x) { return 1.0 / (1.0 + std::exp(-x)); }, -80.0f, 80.0f, 200001);
  EXPECT_LE(err, 3.0 * kUlp) << err / kUlp << " ulp";
}

TEST(VecMath, SaturatesWithoutInfOrNan) {
  for (float x : {-1e30f, -1000.0f, -88.5f, 88.5f, 1000.0f, 1e30f}) {
    EXPECT_TRUE(std::isfinite(VecExp(x))) << x;
    EXPECT_GE(VecExp(x), 0.0f) << x;
    EXPECT_EQ(VecTanh(x), x < 0 ? -1.0f : 1.0f) << x;
    if (x < 0) {
      EXPECT_LE(VecSigmoid(x), 1e-38f) << x;  // 0 up to the denormal range
      EXPECT_GE(VecSigmoid(x), 0.0f) << x;
    } else {
      EXPECT_EQ(VecSigmoid(x), 1.0f) << x;
    }
  }
  EXPECT_EQ(VecTanh(0.0f), 0.0f);
  EXPECT_EQ(VecExp(0.0f), 1.0f);
}

}  // namespace
}  // namespace rnnsearch::ops
