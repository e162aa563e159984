// The project's one random number generator: splitmix64 (Steele, Lea,
// Flood 2014), small, fast and fully specified. Batching
// (io/batch_plan.cc), dropout (trainer/model/dropout.cc) and
// initialisation (trainer/model/init.cc) draw from it. Every value is a
// pure function of a key and a counter, never of a thread or of the order
// of the draws. Checkpoints, resumed runs and the batch order depend on
// these exact values (tests/trainer/model/rng_streams_test.cc pins them).
#pragma once

#include <cstdint>

namespace rnnsearch::rng {

// splitmix64's increment: 2^64 divided by the golden ratio, rounded down.
inline constexpr std::uint64_t kGolden = 0x9e3779b97f4a7c15ULL;

// splitmix64's step from state x: x + kGolden, then its finaliser (a
// bijection of 64-bit words with full avalanche). Mix64(seed) is the first
// value of splitmix64 seeded with `seed`.
constexpr std::uint64_t Mix64(std::uint64_t x) {
  x += kGolden;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// The key of sub-stream `stream` of the stream with key `key`. The key of
// a seed is Mix64(seed).
constexpr std::uint64_t SubKey(std::uint64_t key, std::uint64_t stream) {
  return Mix64(key ^ stream);
}

// Value `counter` of the stream with key `key`.
constexpr std::uint64_t Draw(std::uint64_t key, std::uint64_t counter) {
  return Mix64(key ^ Mix64(counter));
}

// Value n (from 0) of splitmix64's sequence seeded with `seed`.
constexpr std::uint64_t SequenceValue(std::uint64_t seed, std::uint64_t n) {
  return Mix64(seed + n * kGolden);
}

// A uniform double in [0, 1) from the 53 high bits of x.
constexpr double UnitDouble(std::uint64_t x) { return static_cast<double>(x >> 11) * 0x1.0p-53; }

// splitmix64's sequence seeded with `seed`, drawn in order: call n of
// Next (from 0) returns SequenceValue(seed, n).
class Sequence {
 public:
  explicit Sequence(std::uint64_t seed) : seed_(seed) {}

  std::uint64_t Next() { return SequenceValue(seed_, counter_++); }

  // Uniform in [0, n), n > 0 (values at or above the largest multiple of n
  // are redrawn, so every result is equally likely).
  std::uint64_t Below(std::uint64_t n) {
    const std::uint64_t limit = ~std::uint64_t{0} - (~std::uint64_t{0} % n);
    std::uint64_t x;
    do {
      x = Next();
    } while (x >= limit);
    return x % n;
  }

 private:
  std::uint64_t seed_;
  std::uint64_t counter_ = 0;
};

}  // namespace rnnsearch::rng
