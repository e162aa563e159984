// The optimizer: SGD and Adam steps against hand-computed values and a
// double-precision reference, bit-exact continuation after restoring the
// state, clipping by the global norm, accumulation of half batches, the
// moving average, and results independent of the number of threads.
#include "trainer/optim/optimizer.h"

#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <cstring>
#include <map>
#include <random>
#include <vector>

#include "trainer/optim/ema.h"

namespace rnnsearch {
namespace {

// A small model; `vocab` scales the buffer (16 floats per embedding row),
// so a large vocabulary spans several chunks of the element-wise loops.
ModelDims Dims(std::int64_t vocab = 5) {
  ModelConfig m;
  m.emb_dim = 16;
  m.enc_dim = 3;
  m.dec_dim = 4;
  m.att_dim = 5;
  m.readout_dim = 6;
  return ModelDims::From(m, vocab, 7);
}

// Random values in every parameter; padding stays zero as in real use.
void Fill(ParamSet& p, std::uint32_t seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-scale, scale);
  for (const ParamSpec& s : p.specs()) {
    float* x = p.Get(s.name);
    for (std::int64_t i = 0; i < s.size(); ++i) x[i] = u(rng);
  }
}

bool SameBits(const ParamSet& a, const ParamSet& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

OptimizerOptions Adam() { return OptimizerOptions{}; }
OptimizerOptions Sgd() {
  OptimizerOptions o;
  o.kind = OptimizerKind::kSgd;
  return o;
}

TEST(Optimizer, SgdStepIsMinusLrTimesGradientExactly) {
  ParamSet p(Dims()), g(Dims());
  Fill(p, 1);
  Fill(g, 2);
  const ParamSet before = p;
  Optimizer sgd(Sgd(), Dims());
  sgd.Step(p, g, 0.1);
  EXPECT_EQ(sgd.step(), 1);
  for (std::size_t i = 0; i < p.size(); ++i) {
    ASSERT_EQ(p.data()[i], before.data()[i] - 0.1f * g.data()[i]) << i;
  }
}

TEST(Optimizer, AdamMatchesHandComputedSteps) {
  // One parameter p = 1 with gradients 0.5, -0.25, 2 at lr 1e-3 (betas
  // 0.9, 0.999, eps 1e-8); values worked out with PyTorch's formula:
  //   t=1: m = 0.05,  v = 0.00025,    p = 1 - (1e-3/0.1) * 0.05 / (0.5 + 1e-8)
  //   t=2: m = 0.02,  v = 0.00031225, p = 0.99873366298...
  //   t=3: m = 0.218, v = 0.00431193775, p = 0.99806301534...
  ParamSet p(Dims()), g(Dims());
  float* x = p.Get("output.bias");
  float* gx = g.Get("output.bias");
  x[0] = 1.0f;
  Optimizer adam(Adam(), Dims());
  const double grads[] = {0.5, -0.25, 2.0};
  const double expected_p[] = {0.99900000002, 0.9987336629870784, 0.9980630153452915};
  const double expected_m[] = {0.05, 0.02, 0.218};
  const double expected_v[] = {0.00025, 0.00031225, 0.00431193775};
  StateRefs state = adam.State();
  ASSERT_EQ(state.buffers.size(), 2u);
  for (int t = 0; t < 3; ++t) {
    gx[0] = static_cast<float>(grads[t]);
    adam.Step(p, g, 1e-3);
    EXPECT_NEAR(x[0], expected_p[t], 2e-7) << "step " << t + 1;
    EXPECT_NEAR(state.buffers[0].set->Get("output.bias")[0], expected_m[t], 1e-8);
    EXPECT_NEAR(state.buffers[1].set->Get("output.bias")[0], expected_v[t], 1e-10);
  }
  // A zero gradient leaves a parameter that never had one where it was.
  EXPECT_EQ(x[1], 0.0f);
}

TEST(Optimizer, AdamMatchesADoubleReferenceOnEveryElement) {
  const ModelDims dims = Dims(3000);  // several chunks
  ParamSet p(dims), g(dims);
  Fill(p, 3);
  std::vector<double> rp(p.data(), p.data() + p.size()), rm(p.size()), rv(p.size());
  OptimizerOptions o = Adam();
  o.beta1 = 0.8;
  o.beta2 = 0.95;
  Optimizer adam(o, dims);
  for (int t = 1; t <= 4; ++t) {
    Fill(g, 10 + t, 0.01f);
    const double lr = 0.01 / t, scale = 0.5;
    adam.Step(p, g, lr, scale);
    for (std::size_t i = 0; i < p.size(); ++i) {
      const double gi = scale * g.data()[i];
      rm[i] = o.beta1 * rm[i] + (1 - o.beta1) * gi;
      rv[i] = o.beta2 * rv[i] + (1 - o.beta2) * gi * gi;
      const double denom = std::sqrt(rv[i]) / std::sqrt(1 - std::pow(o.beta2, t)) + o.eps;
      rp[i] -= lr / (1 - std::pow(o.beta1, t)) * rm[i] / denom;
    }
  }
  for (std::size_t i = 0; i < p.size(); ++i) {
    ASSERT_NEAR(p.data()[i], rp[i], 1e-6 + 1e-6 * std::fabs(rp[i])) << i;
  }
}

// A checkpoint in miniature: every buffer and scalar read through State().
struct Snapshot {
  std::map<std::string, std::vector<float>> buffers;
  std::map<std::string, std::int64_t> ints;
  std::map<std::string, double> reals;
};

Snapshot Save(const StateRefs& s) {
  Snapshot snap;
  for (const auto& b : s.buffers) {
    snap.buffers[b.name].assign(b.set->data(), b.set->data() + b.set->size());
  }
  for (const auto& i : s.ints) snap.ints[i.name] = *i.value;
  for (const auto& r : s.reals) snap.reals[r.name] = *r.value;
  return snap;
}

void Restore(const Snapshot& snap, const StateRefs& s) {
  ASSERT_EQ(snap.buffers.size(), s.buffers.size());
  for (const auto& b : s.buffers) {
    const std::vector<float>& v = snap.buffers.at(b.name);
    ASSERT_EQ(v.size(), b.set->size());
    std::memcpy(b.set->data(), v.data(), v.size() * sizeof(float));
  }
  for (const auto& i : s.ints) *i.value = snap.ints.at(i.name);
  for (const auto& r : s.reals) *r.value = snap.reals.at(r.name);
}

TEST(Optimizer, RestoredStateContinuesBitForBit) {
  for (const OptimizerOptions& o : {Adam(), Sgd()}) {
    const ModelDims dims = Dims(1200);
    ParamSet p(dims), g(dims);
    Fill(p, 4);
    Optimizer straight(o, dims);
    for (int t = 0; t < 3; ++t) {
      Fill(g, 20 + t);
      straight.Step(p, g, 1e-3);
    }
    const Snapshot snap = Save(straight.State());
    ParamSet resumed_p = p;
    Optimizer resumed(o, dims);
    Restore(snap, resumed.State());
    EXPECT_EQ(resumed.step(), 3);
    for (int t = 3; t < 6; ++t) {
      Fill(g, 20 + t);
      straight.Step(p, g, 1e-3);
      resumed.Step(resumed_p, g, 1e-3);
    }
    EXPECT_TRUE(SameBits(p, resumed_p)) << ChoiceName(o.kind);
    EXPECT_EQ(Save(straight.State()).buffers, Save(resumed.State()).buffers) << ChoiceName(o.kind);
  }
}

TEST(Optimizer, GlobalNormAndClipFactor) {
  ParamSet g(Dims());
  g.Get("src_embed.weight")[0] = 3.0f;
  g.Get("output.bias")[6] = -4.0f;  // norm 5 across two tensors
  EXPECT_DOUBLE_EQ(GlobalNorm(g), 5.0);
  EXPECT_DOUBLE_EQ(ClipFactor(5.0, 1.0), 1.0 / (5.0 + 1e-6));  // PyTorch's factor
  EXPECT_DOUBLE_EQ(ClipFactor(0.5, 1.0), 1.0);
  // No factor makes a NaN or infinite norm finite (the step is skipped):
  // 1, neither NaN nor 0 (inf * 0 would be NaN).
  EXPECT_EQ(ClipFactor(NAN, 1.0), 1.0);
  EXPECT_EQ(ClipFactor(INFINITY, 1.0), 1.0);
}

// A gradient sum with a NaN or infinite element has no finite norm: the
// update is skipped, leaving every bit of the parameters and the state and
// the step count as they were, clipped or not; the next step is the one an
// optimizer that never saw the bad gradient makes. With a shared state the
// decision comes from the sync's sum of squares (the same on every rank).
TEST(Optimizer, NonFiniteGradientNormSkipsTheUpdate) {
  const ModelDims dims = Dims();
  ParamSet g(dims);
  Fill(g, 4);
  for (const OptimizerOptions& o : {Adam(), Sgd()}) {
    for (const float bad : {NAN, INFINITY, -INFINITY}) {
      for (const double clip : {0.0, 0.5}) {
        SCOPED_TRACE(std::string(ChoiceName(o.kind)) + " " + std::to_string(bad) + " clip " +
                     std::to_string(clip));
        ParamSet p(dims);
        Fill(p, 3);
        ParamSet ref_p = p;
        Optimizer opt(o, dims), ref(o, dims);
        ApplyUpdate(opt, p, g, 0.01, clip);
        ApplyUpdate(ref, ref_p, g, 0.01, clip);
        const ParamSet p_before = p;
        std::vector<ParamSet> state_before;
        for (const auto& b : opt.State().buffers) state_before.push_back(*b.set);
        ParamSet bad_g = g;
        bad_g.Get("decoder.cell.weight_hh")[2] = bad;
        UpdatePart shared;
        shared.grad_sum_of_squares = static_cast<double>(bad) * bad;
        for (const UpdatePart& part : {UpdatePart{}, shared}) {
          const UpdateStats s =
              ApplyUpdate(opt, p, part.grad_sum_of_squares ? g : bad_g, 0.01, clip, part);
          EXPECT_TRUE(s.skipped);
          EXPECT_FALSE(std::isfinite(s.grad_norm));
          EXPECT_EQ(s.clip_factor, 1.0);
        }
        EXPECT_TRUE(SameBits(p, p_before));
        const StateRefs after = opt.State();
        for (std::size_t k = 0; k < state_before.size(); ++k) {
          EXPECT_TRUE(SameBits(*after.buffers[k].set, state_before[k])) << after.buffers[k].name;
        }
        EXPECT_EQ(opt.step(), 1);
        EXPECT_FALSE(ApplyUpdate(opt, p, g, 0.01, clip).skipped);
        ApplyUpdate(ref, ref_p, g, 0.01, clip);
        EXPECT_TRUE(SameBits(p, ref_p));
        EXPECT_EQ(opt.step(), 2);
      }
    }
  }
}

TEST(Optimizer, ApplyUpdateClips) {
  const ModelDims dims = Dims();
  ParamSet sum(dims);
  Fill(sum, 6, 0.5f);
  // The gradient clipped by hand to norm 0.25.
  const double norm = GlobalNorm(sum);
  ParamSet manual = sum;
  for (std::size_t i = 0; i < manual.size(); ++i) {
    manual.data()[i] *= static_cast<float>(ClipFactor(norm, 0.25));
  }
  ParamSet p1(dims), p2(dims);
  Fill(p1, 7);
  p2 = p1;
  Optimizer sgd1(Sgd(), dims), sgd2(Sgd(), dims);
  const ParamSet sum_before = sum;
  const UpdateStats s = ApplyUpdate(sgd1, p1, sum, 0.5, 0.25);
  sgd2.Step(p2, manual, 0.5);
  EXPECT_TRUE(SameBits(sum, sum_before));  // the sum is left as it was
  EXPECT_NEAR(s.grad_norm, norm, 1e-9 * norm);
  EXPECT_DOUBLE_EQ(s.clip_factor, ClipFactor(norm, 0.25));
  for (std::size_t i = 0; i < p1.size(); ++i) ASSERT_NEAR(p1.data()[i], p2.data()[i], 1e-6);
}

TEST(Optimizer, ResultsDoNotDependOnTheNumberOfThreads) {
  const ModelDims dims = Dims(4000);  // about 4 chunks
  ParamSet g(dims);
  Fill(g, 8);
  const int threads_before = omp_get_max_threads();
  std::vector<double> norms;
  std::vector<ParamSet> results;
  for (int threads : {1, 2, 3}) {
    omp_set_num_threads(threads);
    norms.push_back(SumOfSquares(g.data(), g.size()));
    ParamSet p(dims);
    Fill(p, 9);
    Optimizer adam(Adam(), dims);
    adam.Step(p, g, 1e-3, 0.1);
    Ema ema(0.9, p);
    adam.Step(p, g, 1e-3, 0.1);
    ema.Update(p);
    results.push_back(ema.params());
  }
  omp_set_num_threads(threads_before);
  double naive = 0;
  for (std::size_t i = 0; i < g.size(); ++i)
    naive += static_cast<double>(g.data()[i]) * g.data()[i];
  EXPECT_NEAR(norms[0], naive, 1e-12 * naive);
  for (std::size_t k = 1; k < norms.size(); ++k) {
    EXPECT_EQ(std::memcmp(&norms[0], &norms[k], sizeof(double)), 0) << k;
    EXPECT_TRUE(SameBits(results[0], results[k])) << k;
  }
}

TEST(Ema, AveragesEveryStep) {
  const ModelDims dims = Dims();
  ParamSet p0(dims), p1(dims), p2(dims);
  Fill(p0, 11);
  Fill(p1, 12);
  Fill(p2, 13);
  Ema ema(0.75, p0);
  EXPECT_TRUE(SameBits(ema.params(), p0));  // starts as the parameters
  ema.Update(p1);
  ema.Update(p2);
  for (std::size_t i = 0; i < p0.size(); ++i) {
    const double expected =
        0.75 * (0.75 * p0.data()[i] + 0.25 * p1.data()[i]) + 0.25 * p2.data()[i];
    ASSERT_NEAR(ema.params().data()[i], expected, 1e-6) << i;
  }
  const StateRefs s = ema.State();
  ASSERT_EQ(s.buffers.size(), 1u);
  EXPECT_EQ(s.buffers[0].name, "ema");
  EXPECT_EQ(s.buffers[0].set, &ema.params());
}

TEST(Optimizer, FromConfig) {
  TrainConfig t;
  t.optimizer = "sgd";
  t.adam_beta1 = 0.5;
  t.adam_beta2 = 0.75;
  const OptimizerOptions o = OptimizerOptions::FromConfig(t);
  EXPECT_EQ(ChoiceName(o.kind), "sgd");
  EXPECT_EQ(o.beta1, 0.5);
  EXPECT_EQ(o.beta2, 0.75);
  EXPECT_EQ(o.eps, 1e-8);
  Optimizer sgd(o, Dims());
  const StateRefs s = sgd.State();
  EXPECT_TRUE(s.buffers.empty());  // SGD keeps no moments
  ASSERT_EQ(s.ints.size(), 1u);
  EXPECT_EQ(s.ints[0].name, "optimizer.step");
}

}  // namespace
}  // namespace rnnsearch
