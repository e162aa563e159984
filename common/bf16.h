// bfloat16: the upper 16 bits of an IEEE binary32 float (sign, the same
// 8-bit exponent, 7 stored mantissa bits), the format in which gradients
// may travel between ranks (dist.wire_dtype: bf16, docs/cluster.md). Half
// the bytes of a float with the float's range; each value keeps 8
// significant bits, so a rounding moves it by at most 2^-8 of itself
// (half a unit in the 8th bit).
//
// Used by the communicator's bf16 sum (launch/mpi_session.cc) and its tests.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>

namespace rnnsearch {

// The bf16 nearest to `f`, ties to even: the float's top 16 bits after
// adding half a unit of the 16th bit (plus one if that bit is odd), so a
// carry rounds up into the next binade and past the largest finite bf16
// into infinity, as IEEE rounding does. Infinities and zeros keep their
// bits; a NaN stays a NaN (quiet, sign kept) instead of carrying into an
// infinity; subnormals round like the other values.
inline std::uint16_t FloatToBf16(float f) {
  const std::uint32_t u = std::bit_cast<std::uint32_t>(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<std::uint16_t>((u >> 16) | 0x0040u);
  const std::uint32_t rounded = u + 0x7fffu + ((u >> 16) & 1u);
  return static_cast<std::uint16_t>(rounded >> 16);
}

// The float of equal value (exact: every bf16 is a float).
inline float Bf16ToFloat(std::uint16_t b) {
  return std::bit_cast<float>(static_cast<std::uint32_t>(b) << 16);
}

// FloatToBf16 / Bf16ToFloat of `count` values.
void FloatsToBf16(const float* in, std::size_t count, std::uint16_t* out);
void Bf16ToFloats(const std::uint16_t* in, std::size_t count, float* out);

// The reduction step of the bf16 sum: inout[i] = bf16(float(in[i]) +
// float(inout[i])), the addition in float (so a partial sum is rounded to
// bf16 once per addition, where it leaves the rank that formed it).
// Commutative bit for bit, as float addition is.
void AddBf16(const std::uint16_t* in, std::uint16_t* inout, std::size_t count);

}  // namespace rnnsearch
