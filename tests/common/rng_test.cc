// common/rng.h: splitmix64's published values, the sequence as a
// counter-based function, the keyed draws, the uniform conversions.
#include "common/rng.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

namespace rnnsearch::rng {
namespace {

// The first values of splitmix64 seeded with 1234567 (the reference
// implementation, splitmix64.c by Sebastiano Vigna).
TEST(Rng, SplitMix64ReferenceValues) {
  const std::vector<std::uint64_t> expected = {6457827717110365317ULL, 3203168211198807973ULL,
                                               9817491932198370423ULL, 4593380528125082431ULL,
                                               16408922859458223821ULL};
  Sequence s(1234567);
  for (std::size_t n = 0; n < expected.size(); ++n) {
    EXPECT_EQ(s.Next(), expected[n]) << "value " << n;
    EXPECT_EQ(SequenceValue(1234567, n), expected[n]) << "value " << n;
  }
  EXPECT_EQ(Mix64(1234567), expected[0]);
}

// The sequence is a function of (seed, n): value n without the n before.
TEST(Rng, SequenceValueIsTheNthNext) {
  for (const std::uint64_t seed : {0ULL, 1ULL, 1234ULL, ~0ULL}) {
    Sequence s(seed);
    for (std::uint64_t n = 0; n < 100; ++n) EXPECT_EQ(s.Next(), SequenceValue(seed, n)) << n;
  }
}

TEST(Rng, KeyedDraws) {
  EXPECT_EQ(SubKey(5, 9), Mix64(5 ^ 9));
  EXPECT_EQ(Draw(5, 9), Mix64(5 ^ Mix64(9)));
  // Different keys and different counters give different values.
  EXPECT_NE(Draw(1, 0), Draw(2, 0));
  EXPECT_NE(Draw(1, 0), Draw(1, 1));
  EXPECT_NE(SubKey(Mix64(1234), 1), SubKey(Mix64(1234), 2));
}

TEST(Rng, UnitDouble) {
  EXPECT_EQ(UnitDouble(0), 0.0);
  EXPECT_EQ(UnitDouble(~0ULL), 1.0 - 0x1.0p-53);  // below 1
  EXPECT_EQ(UnitDouble(1ULL << 63), 0.5);
  EXPECT_EQ(UnitDouble((1ULL << 11) - 1), 0.0);  // the 11 low bits are dropped
}

TEST(Rng, BelowCoversTheRangeOnly) {
  Sequence s(42);
  std::vector<int> seen(7, 0);
  for (int i = 0; i < 7000; ++i) {
    const std::uint64_t x = s.Below(7);
    ASSERT_LT(x, 7u);
    ++seen[x];
  }
  for (int c : seen) {
    EXPECT_GT(c, 850);
    EXPECT_LT(c, 1150);
  }
  EXPECT_EQ(s.Below(1), 0u);
}

// A value at or above the largest multiple of n is redrawn: with
// n = 2^63 + 1 that is every value from n on (and every other is its own
// remainder).
TEST(Rng, BelowRedrawsAboveTheLastMultiple) {
  const std::uint64_t n = (1ULL << 63) + 1;
  const std::uint64_t seed = 7;
  std::uint64_t k = 0;
  while (SequenceValue(seed, k) < n) ++k;  // the first value to be redrawn
  Sequence s(seed);
  for (std::uint64_t i = 0; i < k; ++i) EXPECT_EQ(s.Below(n), SequenceValue(seed, i));
  std::uint64_t next = k + 1;
  while (SequenceValue(seed, next) >= n) ++next;
  EXPECT_EQ(s.Below(n), SequenceValue(seed, next));
}

}  // namespace
}  // namespace rnnsearch::rng
