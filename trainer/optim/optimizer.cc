#include "trainer/optim/optimizer.h"

#include <cassert>
#include <cmath>
#include <vector>

#include "trainer/optim/buffer_loops.h"

namespace rnnsearch {

OptimizerOptions OptimizerOptions::FromConfig(const TrainConfig& train) {
  OptimizerOptions o;
  o.kind = ChoiceValue<OptimizerKind>(train.optimizer);
  o.beta1 = train.adam_beta1;
  o.beta2 = train.adam_beta2;
  return o;
}

double ChunkSumOfSquares(const float* x, std::size_t begin, std::size_t end) {
  double s = 0.0;
#pragma omp simd reduction(+ : s)
  for (std::size_t i = begin; i < end; ++i) s += static_cast<double>(x[i]) * x[i];
  return s;
}

double SumOfSquares(const float* x, std::size_t n) {
  const std::int64_t chunks = buffer_loops::NumChunks(n);
  std::vector<double> partial(static_cast<std::size_t>(chunks), 0.0);
#pragma omp parallel for schedule(static)
  for (std::int64_t c = 0; c < chunks; ++c) {
    const std::size_t begin = static_cast<std::size_t>(c) * buffer_loops::kChunk;
    partial[static_cast<std::size_t>(c)] =
        ChunkSumOfSquares(x, begin, std::min(n, begin + buffer_loops::kChunk));
  }
  double total = 0.0;
  for (double s : partial) total += s;
  return total;
}

double GlobalNorm(const ParamSet& x) { return std::sqrt(SumOfSquares(x.data(), x.size())); }

double ClipFactor(double norm, double max_norm) {
  if (max_norm <= 0.0 || !(norm > max_norm) || !std::isfinite(norm)) return 1.0;
  return max_norm / (norm + 1e-6);
}

Optimizer::Optimizer(const OptimizerOptions& options, const ModelDims& dims) : options_(options) {
  if (options_.kind == OptimizerKind::kAdam) {
    m_ = ParamSet(dims);
    v_ = ParamSet(dims);
  }
}

void Optimizer::Step(ParamSet& params, const ParamSet& grads, double lr, double grad_scale,
                     buffer_loops::ChunkRange range) {
  assert(params.size() == grads.size());
  ++step_;
  const float gs = static_cast<float>(grad_scale);
  if (options_.kind == OptimizerKind::kSgd) {
    const float rate = static_cast<float>(lr);
    buffer_loops::ForChunks(params.size(), range, [&](std::size_t begin, std::size_t end) {
      float* __restrict p = params.data();
      const float* __restrict g = grads.data();
#pragma omp simd
      for (std::size_t i = begin; i < end; ++i) p[i] -= rate * (gs * g[i]);
    });
    return;
  }
  assert(m_.size() == params.size());
  const double t = static_cast<double>(step_);
  const float b1 = static_cast<float>(options_.beta1);
  const float c1 = static_cast<float>(1.0 - options_.beta1);
  const float b2 = static_cast<float>(options_.beta2);
  const float c2 = static_cast<float>(1.0 - options_.beta2);
  const float step_size = static_cast<float>(lr / (1.0 - std::pow(options_.beta1, t)));
  const float bc2_sqrt = static_cast<float>(std::sqrt(1.0 - std::pow(options_.beta2, t)));
  const float eps = static_cast<float>(options_.eps);
  buffer_loops::ForChunks(params.size(), range, [&](std::size_t begin, std::size_t end) {
    float* __restrict p = params.data();
    float* __restrict m = m_.data();
    float* __restrict v = v_.data();
    const float* __restrict gr = grads.data();
#pragma omp simd
    for (std::size_t i = begin; i < end; ++i) {
      const float g = gs * gr[i];
      m[i] = b1 * m[i] + c1 * g;
      v[i] = b2 * v[i] + c2 * (g * g);
      const float denom = std::sqrt(v[i]) / bc2_sqrt + eps;
      p[i] -= step_size * (m[i] / denom);
    }
  });
}

StateRefs Optimizer::State() {
  StateRefs s;
  s.ints.push_back({"optimizer.step", &step_});
  if (options_.kind == OptimizerKind::kAdam) {
    s.buffers.push_back({"adam.m", &m_});
    s.buffers.push_back({"adam.v", &v_});
  }
  return s;
}

UpdateStats ApplyUpdate(Optimizer& optimizer, ParamSet& params, const ParamSet& grad, double lr,
                        double clip_norm, const UpdatePart& part) {
  UpdateStats stats;
  const double sum_of_squares =
      part.grad_sum_of_squares ? *part.grad_sum_of_squares : SumOfSquares(grad.data(), grad.size());
  stats.grad_norm = std::sqrt(sum_of_squares);
  stats.clip_factor = ClipFactor(stats.grad_norm, clip_norm);
  stats.skipped = !std::isfinite(stats.grad_norm);
  if (stats.skipped) return stats;
  optimizer.Step(params, grad, lr, stats.clip_factor, part.range);
  return stats;
}

}  // namespace rnnsearch
