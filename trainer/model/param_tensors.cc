#include "trainer/model/param_tensors.h"

#include <span>

namespace rnnsearch {

std::vector<TensorSpec> TensorSpecsOf(const ParamSet& set) {
  std::vector<TensorSpec> specs;
  specs.reserve(set.specs().size());
  for (const ParamSpec& p : set.specs()) specs.push_back({p.name, p.shape, set.Offset(p.name)});
  return specs;
}

ConstTensors ConstTensorsOf(const ParamSet& set) {
  return {TensorSpecsOf(set), std::span<const float>(set.data(), set.size())};
}

MutableTensors MutableTensorsOf(ParamSet& set) {
  return {TensorSpecsOf(set), std::span<float>(set.data(), set.size())};
}

}  // namespace rnnsearch
