// Shared helpers for the ops tests: seeded random data, comparisons with
// tolerances derived from how many terms were summed (as oneDNN's benchdnn
// does), and central finite differences in double.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace rnnsearch::testing {

// Uniform values in [-scale, scale] from a fixed seed.
template <class T>
std::vector<T> RandomVector(std::size_t n, std::uint32_t seed, double scale = 1.0) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> dist(-scale, scale);
  std::vector<T> v(n);
  for (auto& x : v) x = static_cast<T>(dist(rng));
  return v;
}

// The tolerance of a float32 result that sums `terms` products of values
// of magnitude about 1, relative to max(1, |expected|): rounding error of a
// sum of K terms grows at most like K * eps, and in practice like
// sqrt(K) * eps; we allow 4 * K * eps with a floor of 16 eps, so a wrong
// index or a missing term (an error of order 1 / K or more) still fails.
inline double SumTolerance(std::int64_t terms) {
  const double eps = std::numeric_limits<float>::epsilon();
  return std::max(16.0, 4.0 * static_cast<double>(terms)) * eps;
}

// Expects |got[i] - want[i]| <= tol * max(1, |want[i]|) for every i; on
// failure reports the first few indices with both values.
template <class A, class B>
void ExpectAllClose(const A* got, const B* want, std::size_t n, double tol,
                    const std::string& what) {
  int reported = 0;
  std::size_t bad = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double g = static_cast<double>(got[i]);
    const double w = static_cast<double>(want[i]);
    const double err = std::abs(g - w);
    if (!(err <= tol * std::max(1.0, std::abs(w)))) {
      ++bad;
      if (reported++ < 5) {
        ADD_FAILURE() << what << "[" << i << "]: got " << g << ", want " << w << " (|err| " << err
                      << " > tol " << tol << ")";
      }
    }
  }
  if (bad > 0) ADD_FAILURE() << what << ": " << bad << " of " << n << " values differ";
}

template <class A, class B>
void ExpectAllClose(const std::vector<A>& got, const std::vector<B>& want, double tol,
                    const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  ExpectAllClose(got.data(), want.data(), got.size(), tol, what);
}

// Central finite difference of `loss` with respect to each element of
// `param` (perturbed in place and restored): (f(x+h) - f(x-h)) / 2h.
inline std::vector<double> NumericGradient(std::vector<double>& param,
                                           const std::function<double()>& loss, double h = 1e-5) {
  std::vector<double> grad(param.size());
  for (std::size_t i = 0; i < param.size(); ++i) {
    const double saved = param[i];
    param[i] = saved + h;
    const double up = loss();
    param[i] = saved - h;
    const double down = loss();
    param[i] = saved;
    grad[i] = (up - down) / (2 * h);
  }
  return grad;
}

// Time-major token ids [T, B] (row t * B + b) of B sentences with the
// given lengths (each <= T): every sentence ends with </s> (3), its other
// tokens are drawn from [1, vocab) (so ids repeat), and positions past its
// length are <pad> (0).
inline std::vector<std::int32_t> PaddedTimeMajorIds(const std::vector<int>& lengths, int T,
                                                    int vocab, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> id(1, vocab - 1);
  const std::size_t B = lengths.size();
  std::vector<std::int32_t> ids(static_cast<std::size_t>(T) * B, 0);
  for (std::size_t b = 0; b < B; ++b) {
    for (int t = 0; t < lengths[b]; ++t) {
      ids[static_cast<std::size_t>(t) * B + b] = t + 1 == lengths[b] ? 3 : id(rng);
    }
  }
  return ids;
}

}  // namespace rnnsearch::testing
