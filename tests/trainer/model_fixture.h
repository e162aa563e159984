// Shared by the model tests: tiny model dims for every option, padded
// time-major batches, seeded parameters, and comparisons of whole
// gradient sets tensor by tensor.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "io/batch_reader.h"
#include "tests/ops/check.h"
#include "trainer/model/model_ref.h"
#include "trainer/model/params.h"

namespace rnnsearch::testing {

struct Variant {
  std::string cell = "gru";            // gru | lstm
  std::string attention = "additive";  // additive | general | dot
  int layers = 1;
  bool tied = false;
  std::string Name() const {
    return cell + "/" + attention + "/L" + std::to_string(layers) + (tied ? "/tied" : "");
  }
};

// Vs=11, Vt=13, E=4, He=5, Hd=6 (dot: 10 = 2He), A=7, O=8 (tied: 4 = E).
inline ModelDims TinyDims(const Variant& v) {
  ModelConfig m;
  m.cell = v.cell;
  m.attention = v.attention;
  m.enc_layers = v.layers;
  m.tie_target_embeddings = v.tied;
  m.emb_dim = 4;
  m.enc_dim = 5;
  m.dec_dim = v.attention == "dot" ? 10 : 6;
  m.att_dim = 7;
  m.readout_dim = v.tied ? 4 : 8;
  return ModelDims::From(m, 11, 13);
}

// Every (cell, attention) pair, plus stacked and tied variants.
inline std::vector<Variant> AllVariants() {
  std::vector<Variant> out;
  for (const char* cell : {"gru", "lstm"}) {
    for (const char* att : {"additive", "general", "dot"}) out.push_back({cell, att, 1, false});
  }
  out.push_back({"gru", "additive", 2, false});
  out.push_back({"lstm", "general", 2, true});
  out.push_back({"gru", "dot", 1, true});
  return out;
}

// A batch part of sentences first .. first + B - 1 with these source and
// target lengths (</s> included); ids drawn from [1, V) as in the ops tests.
inline Batch MakeBatch(const std::vector<int>& src_len, const std::vector<int>& tgt_len,
                       const ModelDims& d, std::uint32_t seed, std::int64_t first = 0) {
  Batch b;
  b.size = static_cast<std::int32_t>(src_len.size());
  b.first = first;
  if (b.size == 0) return b;
  b.src_steps = *std::max_element(src_len.begin(), src_len.end());
  b.tgt_steps = *std::max_element(tgt_len.begin(), tgt_len.end());
  b.src = PaddedTimeMajorIds(src_len, b.src_steps, static_cast<int>(d.Vs), seed);
  b.tgt = PaddedTimeMajorIds(tgt_len, b.tgt_steps, static_cast<int>(d.Vt), seed + 1);
  b.src_len.assign(src_len.begin(), src_len.end());
  b.tgt_len.assign(tgt_len.begin(), tgt_len.end());
  b.global_sentences = b.size;
  b.global_src_tokens = b.src_tokens();
  b.global_tgt_tokens = b.tgt_tokens();
  return b;
}

// Sentences [from, to) of a batch part as a part of its own (for splits).
inline Batch SubBatch(const Batch& whole, int from, int to) {
  std::vector<int> sl(whole.src_len.begin() + from, whole.src_len.begin() + to);
  std::vector<int> tl(whole.tgt_len.begin() + from, whole.tgt_len.begin() + to);
  Batch b;
  b.size = to - from;
  b.first = whole.first + from;
  b.src_steps = *std::max_element(sl.begin(), sl.end());
  b.tgt_steps = *std::max_element(tl.begin(), tl.end());
  b.src_len.assign(sl.begin(), sl.end());
  b.tgt_len.assign(tl.begin(), tl.end());
  for (int t = 0; t < b.src_steps; ++t) {
    for (int s = from; s < to; ++s) b.src.push_back(whole.src[t * whole.size + s]);
  }
  for (int t = 0; t < b.tgt_steps; ++t) {
    for (int s = from; s < to; ++s) b.tgt.push_back(whole.tgt[t * whole.size + s]);
  }
  return b;
}

// Each tensor uniform in [-scale, scale]; padding stays 0.
inline void RandomParams(ParamSet& p, std::uint32_t seed, double scale = 0.5) {
  for (const ParamSpec& s : p.specs()) {
    const auto v = RandomVector<float>(static_cast<std::size_t>(s.size()), seed++, scale);
    std::copy(v.begin(), v.end(), p.Get(s.name));
  }
}

// Expects got to match want within what float rounding of sums of about
// 1 / tol terms allows (tol = 4 x terms x float eps, see SumTolerance), in
// two ways:
//  - each element within tol x the scale of its terms. That scale is the
//    largest |want| of the whole set: every element is a sum of products
//    of the same back-propagated errors and activations; neither 1 (far
//    above gradients scaled by 1 / target tokens) nor the element's own
//    |want| (far below its terms where they cancel) is the right unit;
//  - each tensor as a whole within tol x its own L2 norm, which catches a
//    wrong tensor of small gradients (a missing term of an attention bias).
//    Its terms cancel, so its rounding is larger relative to its norm than
//    an element's is to itself, but far less than the 4 x terms x eps
//    bound allows (rounding grows like sqrt(terms) x eps in practice).
// RNNSEARCH_TEST_MARGINS=1 prints the worst errors against the bounds, to
// check the margins on another CPU.
template <class A, class B>
void ExpectSetsClose(const ParamSet& layout, const A* got, const B* want, double tol,
                     const std::string& what) {
  double scale = 0;
  for (std::size_t k = 0; k < layout.size(); ++k)
    scale = std::max(scale, std::abs(static_cast<double>(want[k])));
  ASSERT_GT(scale, 0) << what << ": every gradient element is 0";
  double worst = 0, worst_l2 = 0;
  std::string worst_name, worst_l2_name;
  for (const ParamSpec& s : layout.specs()) {
    const std::int64_t off = layout.Offset(s.name);
    int reported = 0;
    double err2 = 0, norm2 = 0;
    for (std::int64_t k = 0; k < s.size(); ++k) {
      const double g = static_cast<double>(got[off + k]), w = static_cast<double>(want[off + k]);
      const double err = std::abs(g - w);
      err2 += err * err;
      norm2 += w * w;
      if (err / scale > worst) worst = err / scale, worst_name = s.name;
      if (!(err <= tol * scale) && reported++ < 3) {
        ADD_FAILURE() << what << " " << s.name << "[" << k << "]: got " << g << ", want " << w
                      << " (|err| " << err << " > tol " << tol << " x scale " << scale << ")";
      }
    }
    const double rel = std::sqrt(err2) / std::max(std::sqrt(norm2), 1e-300);
    if (rel > worst_l2) worst_l2 = rel, worst_l2_name = s.name;
    EXPECT_LE(std::sqrt(err2), tol * std::sqrt(norm2))
        << what << " " << s.name << ": relative L2 error " << rel << " > tol " << tol;
  }
  if (std::getenv("RNNSEARCH_TEST_MARGINS") != nullptr) {
    std::printf("margin %s: elements %.0fx (%s), tensors %.0fx (%s)\n", what.c_str(),
                tol / std::max(worst, 1e-300), worst_name.c_str(), tol / std::max(worst_l2, 1e-300),
                worst_l2_name.c_str());
  }
}

// The op-vs-reference tolerance of the model: the terms summed along the
// longest chains (decoder steps through time, readout, encoder layers).
inline double ModelTolerance(const ModelDims& d, const Batch& b) {
  const std::int64_t C = 2 * d.He, G = d.gates();
  const std::int64_t step = d.E + C + d.Hd + d.A + b.src_steps;
  const std::int64_t terms = b.tgt_steps * (2 * step + G * d.Hd) +
                             std::int64_t{b.tgt_steps} * b.size * b.src_steps +
                             (d.Hd + C + d.E + d.O + d.Vt + std::int64_t{b.tgt_steps} * b.size) +
                             d.enc_layers * b.src_steps * (G * d.He + C + d.He);
  return SumTolerance(terms);
}

// The tolerance, relative to max(1, |score|), of the log-probability of
// one sentence pair (lengths with </s>) computed by two paths (decoder
// steps against the training path, alone against in a padded batch):
// the same chains of sums as a one-pair batch.
inline double ScoreTolerance(const ModelDims& d, std::size_t src_len, std::size_t tgt_len) {
  const Batch b = MakeBatch({static_cast<int>(src_len)}, {static_cast<int>(tgt_len)}, d, 0);
  return ModelTolerance(d, b);
}

// ScoreTolerance(...) x max(1, |want|).
inline double ScoreBound(const ModelDims& d, std::size_t src_len, std::size_t tgt_len,
                         double want) {
  return ScoreTolerance(d, src_len, tgt_len) * std::max(1.0, std::abs(want));
}

}  // namespace rnnsearch::testing
