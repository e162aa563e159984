#include "trainer/model/init.h"

#include <cassert>
#include <cmath>
#include <numbers>
#include <vector>

#include "common/rng.h"

namespace rnnsearch {
namespace {

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// q: [n, n] row-major = rows of a standard normal matrix made orthonormal
// by modified Gram-Schmidt (a row that degenerates, with probability 0, is
// redrawn from another stream).
void OrthogonalBlock(float* q, std::int64_t n, std::uint64_t seed, std::uint64_t stream,
                     std::uint64_t first_index) {
  std::vector<double> m(static_cast<std::size_t>(n * n));
  std::uint64_t redraw = 0;
  for (std::int64_t r = 0; r < n; ++r) {
    double* row = &m[static_cast<std::size_t>(r * n)];
    for (;;) {
      for (std::int64_t c = 0; c < n; ++c) {
        const std::uint64_t idx = first_index + static_cast<std::uint64_t>(r * n + c);
        row[c] = CounterNormal(seed, stream + redraw * rng::kGolden, idx);
      }
      for (std::int64_t k = 0; k < r; ++k) {
        const double* prev = &m[static_cast<std::size_t>(k * n)];
        double dot = 0;
        for (std::int64_t c = 0; c < n; ++c) dot += row[c] * prev[c];
        for (std::int64_t c = 0; c < n; ++c) row[c] -= dot * prev[c];
      }
      double norm = 0;
      for (std::int64_t c = 0; c < n; ++c) norm += row[c] * row[c];
      norm = std::sqrt(norm);
      if (norm > 1e-6) {
        for (std::int64_t c = 0; c < n; ++c) row[c] /= norm;
        break;
      }
      ++redraw;
    }
  }
  for (std::int64_t i = 0; i < n * n; ++i)
    q[i] = static_cast<float>(m[static_cast<std::size_t>(i)]);
}

void Uniform(float* x, std::int64_t n, double a, std::uint64_t seed, std::uint64_t stream) {
#pragma omp parallel for schedule(static)
  for (std::int64_t i = 0; i < n; ++i) {
    const double u = CounterUniform(seed, stream, static_cast<std::uint64_t>(i));
    x[i] = static_cast<float>((2.0 * u - 1.0) * a);
  }
}

}  // namespace

std::uint64_t NameStream(const std::string& name) {
  std::uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : name) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

double CounterUniform(std::uint64_t seed, std::uint64_t stream, std::uint64_t index) {
  return rng::UnitDouble(rng::Draw(rng::SubKey(rng::Mix64(seed), stream), index));
}

double CounterNormal(std::uint64_t seed, std::uint64_t stream, std::uint64_t index) {
  // Box-Muller on the pair (2i, 2i + 1) of the uniform stream; u1 in (0, 1].
  const double u1 = 1.0 - CounterUniform(seed, stream, 2 * index);
  const double u2 = CounterUniform(seed, stream, 2 * index + 1);
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

void InitParams(ParamSet& params, std::uint64_t seed) {
  params.Zero();
  const std::int64_t G = params.dims().gates();
  for (const ParamSpec& spec : params.specs()) {
    float* x = params.Get(spec.name);
    const std::uint64_t stream = NameStream(spec.name);
    const bool bias = EndsWith(spec.name, ".bias") || EndsWith(spec.name, "bias_ih") ||
                      EndsWith(spec.name, "bias_hh");
    if (bias) continue;            // zeros
    if (spec.shape.size() == 1) {  // attention.v_a.weight
      const double fan = static_cast<double>(spec.shape[0]);
      Uniform(x, spec.size(), std::sqrt(6.0 / (fan + 1.0)), seed, stream);
      continue;
    }
    assert(spec.shape.size() == 2);
    const std::int64_t rows = spec.shape[0], cols = spec.shape[1];
    const bool embedding = spec.name == "src_embed.weight" || spec.name == "tgt_embed.weight";
    const bool output_layer =
        spec.name == "readout.weight" || spec.name == "output.weight" ||
        (spec.name == "tgt_embed.weight" && params.dims().tie_target_embeddings);
    if (output_layer) {  // nn.Linear's default: U(-a, a), a = 1 / sqrt(fan_in)
      Uniform(x, spec.size(), 1.0 / std::sqrt(static_cast<double>(cols)), seed, stream);
      continue;
    }
    if (embedding) {  // nn.Embedding's default: N(0, 1), whatever the vocabulary size
#pragma omp parallel for schedule(static)
      for (std::int64_t i = 0; i < spec.size(); ++i) {
        x[i] = static_cast<float>(CounterNormal(seed, stream, static_cast<std::uint64_t>(i)));
      }
      continue;
    }
    if (EndsWith(spec.name, "weight_hh")) {
      assert(rows == G * cols);
      for (std::int64_t g = 0; g < G; ++g) {
        OrthogonalBlock(x + g * cols * cols, cols, seed, stream,
                        static_cast<std::uint64_t>(g * cols * cols));
      }
      continue;
    }
    const std::int64_t fan_out = EndsWith(spec.name, "weight_ih") ? rows / G : rows;
    Uniform(x, spec.size(), std::sqrt(6.0 / static_cast<double>(fan_out + cols)), seed, stream);
  }
}

}  // namespace rnnsearch
