#include "trainer/model/dropout.h"

#include <cassert>
#include <cmath>

#include "common/rng.h"

namespace rnnsearch {
namespace {

// MurmurHash3's 32-bit finaliser (a bijection).
inline std::uint32_t Mix32(std::uint32_t h) {
  h ^= h >> 16;
  h *= 0x85ebca6bU;
  h ^= h >> 13;
  h *= 0xc2b2ae35U;
  return h ^ (h >> 16);
}

}  // namespace

void FillDropoutMask(float* mask, const DropoutKey& key, DropoutTensor tensor, float p, int T,
                     int B, std::int64_t first_sentence, int dim) {
  assert(p >= 0.0f && p < 1.0f && T >= 0 && B >= 0 && dim >= 1 && first_sentence >= 0);
  const std::uint64_t base =
      rng::SubKey(rng::SubKey(rng::Mix64(key.seed), key.step), static_cast<std::uint64_t>(tensor));
  // Kept iff hash >= threshold; p * 2^32 < 2^32 for p < 1.
  const auto threshold = static_cast<std::uint32_t>(std::ldexp(static_cast<double>(p), 32));
  const float keep = 1.0f / (1.0f - p);
  const std::int64_t rows = static_cast<std::int64_t>(T) * B;
#pragma omp parallel for schedule(static)
  for (std::int64_t r = 0; r < rows; ++r) {
    const std::uint64_t t = static_cast<std::uint64_t>(r / B);
    const std::uint64_t sentence = static_cast<std::uint64_t>(first_sentence + r % B);
    const std::uint64_t row = rng::Draw(base, (sentence << 24) ^ t);
    const auto lo = static_cast<std::uint32_t>(row);
    const auto hi = static_cast<std::uint32_t>(row >> 32);
    float* m = mask + r * dim;
#pragma omp simd
    for (int k = 0; k < dim; ++k) {
      const std::uint32_t h = Mix32(Mix32(lo ^ (static_cast<std::uint32_t>(k) * 0x9e3779b9U)) + hi);
      m[k] = h >= threshold ? keep : 0.0f;
    }
  }
}

void ApplyMask(float* x, const float* mask, std::int64_t n) {
#pragma omp parallel for simd schedule(static)
  for (std::int64_t i = 0; i < n; ++i) x[i] *= mask[i];
}

}  // namespace rnnsearch
