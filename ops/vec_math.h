// exp, tanh and sigmoid for float written only with arithmetic, compares
// and bit casts, so that GCC vectorises loops calling them (`#pragma omp
// simd`) without -ffast-math, where std::exp / std::tanh stay scalar
// library calls. Accuracy, checked by tests/ops/vec_math_test.cc: exp
// within 1 ulp on [-87, 88], tanh within 3 ulp, sigmoid within 3 ulp;
// inputs are clamped, so exp(x < -87) = exp(-87) ~ 1.6e-38 and
// exp(x > 88) = exp(88), never inf, and tanh(|x| >= 9) = +-1.
#pragma once

#include <bit>
#include <cstdint>

namespace rnnsearch::ops {

inline float VecExp(float x) {
  x = x < -87.0f ? -87.0f : x;
  x = x > 88.0f ? 88.0f : x;
  // x = n ln2 + r with n = round(x / ln2), |r| <= ln2 / 2; adding 1.5 * 2^23
  // rounds to an integer held in the low mantissa bits (no floor call,
  // which GCC 12 would not vectorise).
  constexpr float kShift = 12582912.0f;
  const float t = x * 1.44269504088896341f + kShift;
  const float n = t - kShift;
  // ln2 split in a part exact in float times n and a small remainder
  // (Cody-Waite), so r keeps full precision.
  const float r = (x - n * 0.693145751953125f) - n * 1.428606765330187045e-06f;
  // Taylor polynomial of degree 7: truncation error < 5e-9 on |r| <= ln2/2.
  float p = 1.0f / 5040.0f;
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const std::int32_t n_int = std::bit_cast<std::int32_t>(t) - std::bit_cast<std::int32_t>(kShift);
  const std::int32_t two_n = (n_int + 127) << 23;  // 2^n as float bits, -126 <= n <= 127
  return p * std::bit_cast<float>(two_n);
}

// tanh(x) = x P(x^2) / Q(x^2) on [-9, 9] (beyond, tanh rounds to +-1 in
// float): a rational fit of degree 13 / 6 made for this file by weighted
// linear least squares on the relative error (Loeb's iteration, in 40-digit
// arithmetic), whose own error is 2.1e-8; evaluated in float it is within
// 3 ulp, at half the cost of the exp-based (1 - e) / (1 + e).
inline float VecTanh(float x) {
  x = x < -9.0f ? -9.0f : x;
  x = x > 9.0f ? 9.0f : x;
  const float y = x * x;
  float p = -9.0056682903473171e-14f;
  p = p * y + 5.481149421654509e-11f;
  p = p * y - 2.0651137098558204e-8f;
  p = p * y + 1.1260139729520264e-5f;
  p = p * y + 0.0031141290701842104f;
  p = p * y + 0.13093136048038069f;
  p = p * y + 0.9999999973450455f;
  float q = 0.00025609252675439438f;
  q = q * y + 0.024535747196043462f;
  q = q * y + 0.46426465632775933f;
  q = q * y + 1.0f;
  return x * p / q;
}

inline float VecSigmoid(float x) { return 1.0f / (1.0f + VecExp(-x)); }

}  // namespace rnnsearch::ops
