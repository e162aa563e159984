// The optimizer step over the model's flat parameter buffer: Adam (the
// default) and plain SGD, and clipping by the global gradient norm.
//
// Gradient convention (docs/model.md, data-parallel semantics): the
// model's backward pass ADDS loss gradients scaled by 1 / T into a
// ParamSet, T being the real target tokens of the step's batches over all
// ranks, so once the batches of one step (several with train.accumulate)
// are summed across ranks the buffer holds the gradient of the step.
// ApplyUpdate clips it and updates the parameters in one pass over the
// buffers without modifying it.
//
// Every loop runs over the whole buffer (padding between tensors is zero
// and stays zero), vectorised and split over OpenMP threads in fixed
// chunks; element-wise updates do not depend on the thread count, and the
// norm is summed in double, chunk by chunk in a fixed order, so the result
// is the same for any number of threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "common/config.h"
#include "trainer/model/params.h"
#include "trainer/optim/buffer_loops.h"
#include "trainer/optim/state_refs.h"

namespace rnnsearch {

struct OptimizerOptions {
  OptimizerKind kind = OptimizerKind::kAdam;
  double beta1 = 0.9;    // Adam: decay of the mean of the gradients
  double beta2 = 0.999;  // Adam: decay of the mean of squared gradients
  double eps = 1e-8;     // Adam: added to the root of the second moment (PyTorch's default)

  // train.optimizer, train.adam_beta1, train.adam_beta2 (eps stays 1e-8).
  static OptimizerOptions FromConfig(const TrainConfig& train);
};

// Sum of x[i]^2 for i < n, accumulated in double in chunks of a fixed size
// whose partial sums are added in chunk order: the same bits for any
// number of threads.
double SumOfSquares(const float* x, std::size_t n);

// SumOfSquares' partial sum of one chunk, x[begin, end): a gradient sync
// that sums the chunks computes these on the way (the same bits).
double ChunkSumOfSquares(const float* x, std::size_t begin, std::size_t end);

// The L2 norm of the whole buffer (sqrt of SumOfSquares).
double GlobalNorm(const ParamSet& x);

// The factor PyTorch's clip_grad_norm_ applies to gradients of norm `norm`:
// max_norm / (norm + 1e-6) when norm > max_norm, else 1 (also when
// max_norm is 0: no clipping, and when norm is NaN or infinite, which no
// factor makes finite: ApplyUpdate skips such a step).
double ClipFactor(double norm, double max_norm);

class Optimizer {
 public:
  // State buffers are shaped like a model of `dims` (Adam: two, zeroed).
  Optimizer(const OptimizerOptions& options, const ModelDims& dims);

  // One update with gradient g = grad_scale * grads at learning rate lr;
  // step() counts it (Adam's bias correction uses the new count t):
  //   sgd:  p -= lr * g
  //   adam: m = beta1 m + (1 - beta1) g;  v = beta2 v + (1 - beta2) g^2
  //         p -= (lr / (1 - beta1^t)) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
  // (PyTorch's torch.optim.Adam without weight decay, in float32 with the
  // scalar factors computed in double.)
  // Only the chunks of `range` are updated (the step count always).
  void Step(ParamSet& params, const ParamSet& grads, double lr, double grad_scale = 1.0,
            buffer_loops::ChunkRange range = {});

  std::int64_t step() const { return step_; }
  const OptimizerOptions& options() const { return options_; }

  // "optimizer.step", and for Adam the moments "adam.m" and "adam.v".
  // Restoring them (bit for bit) continues the run identically.
  StateRefs State();

 private:
  OptimizerOptions options_;
  std::int64_t step_ = 0;
  ParamSet m_, v_;  // Adam's moments; empty for SGD
};

struct UpdateStats {
  double grad_norm = 0;    // norm of the gradient, before clipping
  double clip_factor = 1;  // applied to the gradient
  bool skipped = false;    // grad_norm is NaN or infinite: nothing was updated
};

// One optimizer step: the gradient `grad`, clipped to global norm
// clip_norm (0: no clipping), applied at rate lr. `grad` is left as it
// was. When the norm is NaN or infinite (some element is), nothing
// changes, the optimizer's step count included, and the result says
// `skipped`; every rank decides alike, since the norm is that of the sum
// over the ranks (with a shared state, from part.grad_sum_of_squares).
//
// `part`: the share of the update this rank computes when the ranks of a
// node share the parameters and the optimizer's state (GradSync::Part):
// the chunks to update, and the sum of squares of the whole gradient when
// the sync computed it (else it is computed here from `grad`, all of which
// must then hold the gradient).
struct UpdatePart {
  buffer_loops::ChunkRange range;
  std::optional<double> grad_sum_of_squares;
};
UpdateStats ApplyUpdate(Optimizer& optimizer, ParamSet& params, const ParamSet& grad, double lr,
                        double clip_norm, const UpdatePart& part = {});

}  // namespace rnnsearch
