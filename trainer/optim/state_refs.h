// Named references to the pieces of training state that a checkpoint must
// carry so that a resumed run continues bit for bit: whole parameter-shaped
// buffers (Adam's moments, the moving average of the parameters) and
// scalars (step counters, the learning-rate schedule's state).
//
// The owner (Optimizer, Ema, LrSchedule) hands out pointers into itself;
// a checkpoint writer reads through them and a reader writes through them,
// so saving and restoring need no per-class code. Names are unique within
// one owner and stable across versions: checkpoints rely on them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "trainer/model/params.h"

namespace rnnsearch {

struct StateRefs {
  struct Buffers {
    std::string name;  // e.g. "adam.m"
    ParamSet* set;     // same specs as the model's parameters
  };
  struct Int {
    std::string name;  // e.g. "optimizer.step"
    std::int64_t* value;
  };
  struct Real {
    std::string name;  // e.g. "schedule.factor"
    double* value;     // restored bit for bit (stored as a 64-bit float)
  };
  std::vector<Buffers> buffers;
  std::vector<Int> ints;
  std::vector<Real> reals;

  // Appends every reference of `other` (names must stay unique).
  void Append(const StateRefs& other) {
    buffers.insert(buffers.end(), other.buffers.begin(), other.buffers.end());
    ints.insert(ints.end(), other.ints.begin(), other.ints.end());
    reals.insert(reals.end(), other.reals.begin(), other.reals.end());
  }
};

}  // namespace rnnsearch
