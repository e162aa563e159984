// The float <-> bfloat16 conversion of common/bf16.h: round to nearest,
// ties to even, on the bits of the float.
#include "common/bf16.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

namespace rnnsearch {
namespace {

float Bits(std::uint32_t u) { return std::bit_cast<float>(u); }

TEST(Bf16, ExactValuesKeepTheirBits) {
  for (const std::uint32_t u : {0x3f800000u, 0xbf800000u, 0x40490000u, 0x00000000u, 0x80000000u,
                                0x7f7f0000u, 0x00010000u}) {
    EXPECT_EQ(FloatToBf16(Bits(u)), u >> 16) << std::hex << u;
    EXPECT_EQ(std::bit_cast<std::uint32_t>(Bf16ToFloat(static_cast<std::uint16_t>(u >> 16))), u);
  }
}

TEST(Bf16, RoundsToNearestAndTiesToEven) {
  // 1 + 2^-8 is halfway between 1 (even: 0x3f80) and 1 + 2^-7 (odd: 0x3f81).
  EXPECT_EQ(FloatToBf16(Bits(0x3f808000u)), 0x3f80);
  // Halfway between 0x3f81 (odd) and 0x3f82 (even): up to the even one.
  EXPECT_EQ(FloatToBf16(Bits(0x3f818000u)), 0x3f82);
  // Just below and just above a halfway point.
  EXPECT_EQ(FloatToBf16(Bits(0x3f807fffu)), 0x3f80);
  EXPECT_EQ(FloatToBf16(Bits(0x3f808001u)), 0x3f81);
  EXPECT_EQ(FloatToBf16(Bits(0x3f81ffffu)), 0x3f82);
  // Negative values round by magnitude.
  EXPECT_EQ(FloatToBf16(Bits(0xbf808000u)), 0xbf80);
  EXPECT_EQ(FloatToBf16(Bits(0xbf818000u)), 0xbf82);
  EXPECT_EQ(FloatToBf16(Bits(0xbf808001u)), 0xbf81);
}

TEST(Bf16, CarriesIntoTheNextBinade) {
  // The largest mantissa below 2, rounded up: exactly 2.
  EXPECT_EQ(FloatToBf16(Bits(0x3fffffffu)), 0x4000);
  EXPECT_EQ(Bf16ToFloat(FloatToBf16(Bits(0x3fff8000u))), 2.0f);  // tie, 0x3fff odd: up
  EXPECT_EQ(FloatToBf16(Bits(0x3fff7fffu)), 0x3fff);
  // From the largest subnormal into the smallest normal.
  EXPECT_EQ(FloatToBf16(Bits(0x007fffffu)), 0x0080);
}

TEST(Bf16, LargeValuesRoundToInfinity) {
  const float max = std::numeric_limits<float>::max();  // 0x7f7fffff
  EXPECT_EQ(FloatToBf16(max), 0x7f80);
  EXPECT_EQ(FloatToBf16(-max), 0xff80);
  EXPECT_TRUE(std::isinf(Bf16ToFloat(FloatToBf16(max))));
  // The largest finite bf16 and the largest float that rounds to it (below its halfway point).
  EXPECT_EQ(FloatToBf16(Bits(0x7f7f0000u)), 0x7f7f);
  EXPECT_EQ(FloatToBf16(Bits(0x7f7f7fffu)), 0x7f7f);
  EXPECT_EQ(FloatToBf16(Bits(0x7f7f8000u)), 0x7f80);  // tie with an odd last bit: infinity
}

TEST(Bf16, InfinitiesNansAndZeros) {
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(FloatToBf16(inf), 0x7f80);
  EXPECT_EQ(FloatToBf16(-inf), 0xff80);
  EXPECT_EQ(Bf16ToFloat(0x7f80), inf);
  EXPECT_EQ(Bf16ToFloat(0xff80), -inf);
  // NaNs whose payload lies only in the low bits, or whose rounding would
  // carry into the exponent, stay NaN with their sign.
  for (const std::uint32_t u : {0x7fc00000u, 0x7f800001u, 0x7fffffffu, 0xff800001u, 0xffc00000u}) {
    const std::uint16_t b = FloatToBf16(Bits(u));
    EXPECT_TRUE(std::isnan(Bf16ToFloat(b))) << std::hex << u << " -> " << b;
    EXPECT_EQ(b >> 15, u >> 31) << std::hex << u;
  }
  EXPECT_EQ(FloatToBf16(0.0f), 0x0000);
  EXPECT_EQ(FloatToBf16(-0.0f), 0x8000);
  EXPECT_TRUE(std::signbit(Bf16ToFloat(0x8000)));
}

TEST(Bf16, SubnormalsRoundLikeOtherValues) {
  EXPECT_EQ(FloatToBf16(Bits(0x00000001u)), 0x0000);  // the smallest float: to zero
  EXPECT_EQ(FloatToBf16(Bits(0x80000001u)), 0x8000);  // and its sign kept
  EXPECT_EQ(FloatToBf16(Bits(0x00008000u)), 0x0000);  // tie, 0x0000 even: down
  EXPECT_EQ(FloatToBf16(Bits(0x00018000u)), 0x0002);  // tie, 0x0001 odd: up
  EXPECT_EQ(FloatToBf16(Bits(0x00018001u)), 0x0002);
  EXPECT_EQ(FloatToBf16(Bits(0x00010000u)), 0x0001);  // the smallest bf16 subnormal
  EXPECT_EQ(Bf16ToFloat(0x0001), Bits(0x00010000u));
}

TEST(Bf16, RoundingErrorIsAtMostHalfAUnit) {
  // |bf16(x) - x| <= 2^-8 |x| for normal x: half a unit of the 8th significant bit.
  for (std::uint32_t u = 0x00800000u; u < 0x7f000000u; u += 0x00012345u) {
    const float x = Bits(u);
    EXPECT_LE(std::fabs(Bf16ToFloat(FloatToBf16(x)) - x), std::ldexp(std::fabs(x), -8))
        << std::hex << u;
  }
}

TEST(Bf16, BufferConversionsAndAdd) {
  const std::vector<float> x = {1.0f, Bits(0x3f808001u), -3.0f, 0.0f};
  std::vector<std::uint16_t> b(x.size());
  FloatsToBf16(x.data(), x.size(), b.data());
  EXPECT_EQ(b, (std::vector<std::uint16_t>{0x3f80, 0x3f81, 0xc040, 0x0000}));
  std::vector<float> back(x.size());
  Bf16ToFloats(b.data(), b.size(), back.data());
  EXPECT_EQ(back[2], -3.0f);
  // 1 + 1 = 2; 1 + (1 + 2^-7) = 2 + 2^-7 exactly in float, in bf16 a
  // tie between 2 and 2 + 2^-6, to the even 2; -3 + 1.5 = -1.5; 0 + 1 = 1.
  std::vector<std::uint16_t> a = {0x3f80, 0x3f80, 0x3fc0, 0x3f80};
  AddBf16(a.data(), b.data(), b.size());
  EXPECT_EQ(b, (std::vector<std::uint16_t>{0x4000, 0x4000, 0xbfc0, 0x3f80}));
}

}  // namespace
}  // namespace rnnsearch
