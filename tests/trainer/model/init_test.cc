// The seeded initialisation (trainer/model/init.h): the documented scheme per
// tensor (N(0, 1) embeddings and nn.Linear-style output layers, whatever
// the vocabulary size), determinism, and values that depend only on
// (seed, name, shape).
#include "trainer/model/init.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "tests/ops/check.h"
#include "trainer/model/params.h"

namespace rnnsearch {
namespace {

ModelDims Dims(int layers, const std::string& cell = "gru") {
  ModelConfig m;
  m.cell = cell;
  m.emb_dim = 12;
  m.enc_dim = 8;
  m.dec_dim = 16;
  m.att_dim = 10;
  m.readout_dim = 14;
  m.enc_layers = layers;
  return ModelDims::From(m, 300, 400);
}

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

TEST(Init, DeterministicAndSeeded) {
  ParamSet a(Dims(1)), b(Dims(1)), c(Dims(1));
  InitParams(a, 7);
  InitParams(b, 7);
  InitParams(c, 8);
  ASSERT_EQ(a.size(), b.size());
  EXPECT_EQ(0, std::memcmp(a.data(), b.data(), a.size() * sizeof(float)));
  EXPECT_NE(0, std::memcmp(a.data(), c.data(), a.size() * sizeof(float)));
}

// A tensor's values depend on its name and shape only: adding a layer
// (which moves every later tensor in the flat buffer) changes nothing else.
TEST(Init, IndependentOfLayout) {
  ParamSet one(Dims(1)), two(Dims(2));
  InitParams(one, 3);
  InitParams(two, 3);
  for (const ParamSpec& s : one.specs()) {
    EXPECT_EQ(0, std::memcmp(one.Get(s.name), two.Get(s.name), s.size() * sizeof(float))) << s.name;
  }
}

TEST(Init, SchemePerTensor) {
  for (const std::string cell : {"gru", "lstm"}) {
    ParamSet p(Dims(1, cell));
    InitParams(p, 11);
    const std::int64_t G = p.dims().gates();
    for (const ParamSpec& s : p.specs()) {
      const float* x = p.Get(s.name);
      if (EndsWith(s.name, "bias") || EndsWith(s.name, "bias_ih") || EndsWith(s.name, "bias_hh")) {
        for (std::int64_t i = 0; i < s.size(); ++i) ASSERT_EQ(x[i], 0.0f) << s.name;
        continue;
      }
      if (EndsWith(s.name, "weight_hh")) {
        // Each gate block Q [H, H]: Q Q^T = I.
        const std::int64_t H = s.shape[1];
        for (std::int64_t g = 0; g < G; ++g) {
          const float* q = x + g * H * H;
          for (std::int64_t i = 0; i < H; ++i) {
            for (std::int64_t j = 0; j < H; ++j) {
              double dot = 0;
              for (std::int64_t k = 0; k < H; ++k) dot += double{q[i * H + k]} * q[j * H + k];
              // Rows of unit norm stored as floats: a dot product of H terms.
              ASSERT_NEAR(dot, i == j ? 1.0 : 0.0, testing::SumTolerance(H))
                  << s.name << " gate " << g;
            }
          }
        }
        continue;
      }
      if (s.name == "src_embed.weight" || s.name == "tgt_embed.weight") {
        // N(0, 1) whatever the vocabulary size (nn.Embedding's default):
        // Glorot's sqrt(6 / (V + E)) made the embeddings vanish with a
        // large vocabulary, and Adam then stalled at the unigram level.
        double sum = 0, sq = 0;
        for (std::int64_t i = 0; i < s.size(); ++i) {
          sum += x[i];
          sq += double{x[i]} * x[i];
        }
        const double n = static_cast<double>(s.size());
        EXPECT_NEAR(sum / n, 0.0, 5 * std::sqrt(1.0 / n)) << s.name;
        EXPECT_NEAR(sq / n, 1.0, 5 * std::sqrt(2.0 / n)) << s.name;
        continue;
      }
      double bound = 0;
      if (s.name == "readout.weight" || s.name == "output.weight") {
        bound = 1.0 / std::sqrt(static_cast<double>(s.shape[1]));  // nn.Linear's default
      } else if (s.shape.size() == 1) {
        bound = std::sqrt(6.0 / static_cast<double>(s.shape[0] + 1));
      } else {
        const std::int64_t fan_out = EndsWith(s.name, "weight_ih") ? s.shape[0] / G : s.shape[0];
        bound = std::sqrt(6.0 / static_cast<double>(fan_out + s.shape[1]));
      }
      double sum = 0, sq = 0, max_abs = 0;
      for (std::int64_t i = 0; i < s.size(); ++i) {
        sum += x[i];
        sq += double{x[i]} * x[i];
        max_abs = std::max(max_abs, std::fabs(double{x[i]}));
      }
      const double n = static_cast<double>(s.size());
      EXPECT_LE(max_abs, bound) << s.name;
      // U(-a, a): mean 0, variance a^2 / 3; checked on the large tensors
      // (within 5 standard errors).
      if (n >= 1000) {
        EXPECT_GT(max_abs, 0.9 * bound) << s.name;  // the bound is reached: it is the scale
        const double var = bound * bound / 3;
        EXPECT_NEAR(sum / n, 0.0, 5 * std::sqrt(var / n)) << s.name;
        EXPECT_NEAR(sq / n, var, 5 * var * std::sqrt(0.8 / n)) << s.name;
      }
    }
  }
}

// Tied target embeddings are the output weights: initialised as those
// (U(-a, a), a = 1 / sqrt(O)), not as an embedding.
TEST(Init, TiedTargetEmbeddingsAreOutputWeights) {
  ModelConfig m;
  m.emb_dim = m.readout_dim = 16;
  m.tie_target_embeddings = true;
  ParamSet p(ModelDims::From(m, 300, 400));
  InitParams(p, 5);
  const float* x = p.Get("tgt_embed.weight");
  const double a = 1.0 / std::sqrt(16.0);
  double max_abs = 0;
  for (std::int64_t i = 0; i < 400 * 16; ++i) max_abs = std::max(max_abs, std::fabs(double{x[i]}));
  EXPECT_LE(max_abs, a);
  EXPECT_GT(max_abs, 0.9 * a);
}

TEST(Init, NormalDrawsHaveUnitVariance) {
  const int n = 200000;
  double sum = 0, sq = 0;
  for (int i = 0; i < n; ++i) {
    const double z = CounterNormal(5, NameStream("x"), static_cast<std::uint64_t>(i));
    sum += z;
    sq += z * z;
  }
  EXPECT_NEAR(sum / n, 0.0, 0.02);
  EXPECT_NEAR(sq / n, 1.0, 0.02);
}

}  // namespace
}  // namespace rnnsearch
