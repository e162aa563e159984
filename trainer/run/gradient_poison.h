// TEST-ONLY fault injection: makes the gradient of chosen steps NaN or
// infinite, so that tests can drive the trainer's handling of a step whose
// gradient norm is not finite (trainer/run/train_step.h) without a model that
// diverges. Nothing sets it in normal use; when it is set, rank 0 says so
// at the start of training.
//
//   RNNSEARCH_TEST_POISON_GRADIENT=3,5-7    NaN in steps 3, 5, 6 and 7
//   RNNSEARCH_TEST_POISON_GRADIENT=4=inf    +infinity in step 4
//
// Step numbers are those the steps get (TrainingState::step after them).
// Only the last rank poisons its part of the gradient, before its first
// backward pass of the step, so that every gradient sync (the overlapped
// one too) sums the poisoned element in: the other ranks, rank 0 among
// them, see it only in the summed gradient.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "trainer/model/params.h"

namespace rnnsearch {

class GradientPoison {
 public:
  static constexpr const char* kVariable = "RNNSEARCH_TEST_POISON_GRADIENT";

  // Parses `spec` (the variable's value) for rank `rank` of `ranks`;
  // inactive when it is empty. A malformed spec is a UserError.
  GradientPoison(const std::string& spec, int rank, int ranks);
  // From the environment variable (inactive when it is unset).
  static GradientPoison FromEnvironment(int rank, int ranks);

  bool active() const { return !ranges_.empty(); }
  const std::string& spec() const { return spec_; }

  // On the poisoning rank, when `step` is listed: sets the first element of
  // output.bias in `grads` to the listed value.
  void Apply(ParamSet& grads, std::int64_t step) const;

 private:
  struct Range {
    std::int64_t first, last;
    float value;
  };
  std::string spec_;
  std::vector<Range> ranges_;
  bool poisons_ = false;  // this rank is the last one
};

}  // namespace rnnsearch
