// A ParamSet as the named tensors of a checkpoint (io/checkpoint.h): one
// TensorSpec per named view, with docs/model.md's names and shapes, over
// the set's flat buffer (no copy).
#pragma once

#include <vector>

#include "io/checkpoint.h"
#include "trainer/model/params.h"

namespace rnnsearch {

std::vector<TensorSpec> TensorSpecsOf(const ParamSet& set);
ConstTensors ConstTensorsOf(const ParamSet& set);
MutableTensors MutableTensorsOf(ParamSet& set);

}  // namespace rnnsearch
