// Internal to trainer/model*.cc: the per-shape op entries of the Model's
// caches, its grow-only activation buffers, and a scoped profile timer.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "common/clock.h"
#include "ops/attention.h"
#include "ops/decoder_cell.h"
#include "ops/encoder.h"
#include "trainer/model/model.h"

namespace rnnsearch {

// The encoder layers for one (B, Tx).
struct Model::EncoderShape {
  std::vector<ops::EncoderLayer> layers;
};

// The attention and decoder cell for one (B, Tx, Ty).
struct Model::DecoderShape {
  ops::Attention att;
  ops::DecoderCell cell;
};

// A buffer that grows to the largest size asked for and is then reused
// (its contents are not preserved or initialised by Get).
template <class T>
class Grow {
 public:
  T* Get(std::size_t n) {
    if (v_.size() < n) v_.resize(n);
    return v_.data();
  }
  T* Zero(std::size_t n) {
    T* p = Get(n);
    std::fill(p, p + n, T(0));
    return p;
  }
  T* data() { return v_.data(); }

 private:
  std::vector<T> v_;
};

// Activations and their gradients, time-major (row t * B + b).
struct Model::Buffers {
  Grow<float> x, x_mask, d_x;        // [Tx, B, E] source embeddings (dropped), mask, gradient
  bool x_dropped = false;            // x_mask holds the last forward's mask
  std::vector<Grow<float>> h;        // per layer [Tx, B, 2He]; the last is H
  Grow<float> d_h[2];                // [Tx, B, 2He] ping-pong layer output gradients
  Grow<float> mean, d_mean;          // [B, 2He]
  Grow<float> d_pre0;                // [B, Hd] gradient of s0's pre-activation
  Grow<std::int32_t> y_ids;          // [Ty, B] <s>, y_1 .. y_{Ty-1}
  Grow<float> y, y_mask, d_y;        // [Ty, B, E] target input embeddings (dropped)
  Grow<float> states, d_states;      // [Ty+1, B, Hd] s_0 .. s_Ty
  Grow<float> contexts, d_contexts;  // [Ty, B, 2He] c_1 .. c_Ty
  Grow<float> alphas;                // [Ty, B, Tx]
  Grow<float> t_mask;                // [Ty, B, O] readout dropout
};

// Adds the wall time of its scope to profile->seconds[part] (if profile).
class PartTimer {
 public:
  PartTimer(ModelProfile* profile, int part) : profile_(profile), part_(part) {
    if (profile_ != nullptr) start_ = Now();
  }
  ~PartTimer() {
    if (profile_ != nullptr) profile_->seconds[part_] += Now() - start_;
  }
  PartTimer(const PartTimer&) = delete;
  PartTimer& operator=(const PartTimer&) = delete;

 private:
  ModelProfile* profile_;
  int part_;
  double start_ = 0;
};

inline std::size_t Elems(std::int64_t a, std::int64_t b, std::int64_t c = 1) {
  return static_cast<std::size_t>(a * b * c);
}

}  // namespace rnnsearch
