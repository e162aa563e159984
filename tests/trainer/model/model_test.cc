// The whole model (trainer/model/model.h) against the same model composed from
// the ops' reference twins in double (trainer/model/model_ref.h), for every
// option (gru / lstm x additive / general / dot, two encoder layers, tied
// embeddings, label smoothing, a chunked readout), on a padded batch with
// a length-1 sentence: loss and every parameter gradient. Then the
// reference model's gradients against central finite differences (and the
// oneDNN model's against coarse float differences of its own loss), the
// decoding entry Encode, and the FLOP count against the PyTorch peer's
// formula.
#include "trainer/model/model.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "ops/attention.h"
#include "ops/decoder_cell.h"
#include "ops/encoder.h"
#include "tests/trainer/model_fixture.h"
#include "trainer/model/model_params.h"
#include "trainer/model/model_ref.h"

namespace rnnsearch {
namespace {

using testing::ExpectAllClose;
using testing::ExpectSetsClose;
using testing::MakeBatch;
using testing::ModelTolerance;
using testing::TinyDims;
using testing::Variant;

// Source lengths 7, 3, 1 and target lengths 5, 1, 4 (padding on both sides).
Batch TinyBatch(const ModelDims& d, std::uint32_t seed) {
  return MakeBatch({7, 3, 1}, {5, 1, 4}, d, seed);
}

// Runs the oneDNN model and the reference on one batch and compares.
void CheckModel(const Variant& v, float eps, std::int64_t readout_rows, std::uint32_t seed) {
  SCOPED_TRACE(v.Name() + " eps " + std::to_string(eps) + " readout_rows " +
               std::to_string(readout_rows));
  const ModelDims d = TinyDims(v);
  ParamSet params(d);
  testing::RandomParams(params, seed);
  const Batch batch = TinyBatch(d, seed + 100);
  ops::Context ctx(2);
  ModelOptions opt;
  opt.label_smoothing = eps;
  opt.readout_rows = readout_rows;
  Model model(ctx, d, opt);
  ParamSet grads(d);
  const float scale = 0.5f;
  const StepResult got = model.ForwardBackward(params, grads, batch, scale, 0);

  ModelRef<double> ref(d, eps);
  RefParams<double> p(params), g(params);
  g.Zero();
  const double want = ref.Forward(p, batch);
  ref.Backward(g, p, batch, {}, scale);
  EXPECT_EQ(got.tokens, batch.tgt_tokens());
  const double tol = ModelTolerance(d, batch);
  EXPECT_NEAR(got.loss, want, tol * std::max(1.0, std::abs(want)));
  ExpectSetsClose(params, grads.data(), g.data().data(), tol, "d");
  EXPECT_EQ(model.Evaluate(params, batch).loss, got.loss);  // no dropout: the same forward
}

TEST(Model, MatchesReferenceForEveryOption) {
  std::uint32_t seed = 10;
  for (const Variant& v : testing::AllVariants()) CheckModel(v, 0.0f, 1024, seed += 10);
}

TEST(Model, LabelSmoothingAndChunkedReadoutMatchReference) {
  CheckModel({"gru", "additive", 1, false}, 0.1f, 4, 200);  // 15 rows in chunks of 4, 4, 4, 3
  CheckModel({"lstm", "dot", 2, true}, 0.2f, 7, 210);
}

TEST(Model, EncodeMatchesReference) {
  for (const Variant& v : {Variant{"gru", "additive", 2, false}, Variant{"lstm", "dot", 1, true}}) {
    SCOPED_TRACE(v.Name());
    const ModelDims d = TinyDims(v);
    ParamSet params(d);
    testing::RandomParams(params, 300);
    const Batch batch = TinyBatch(d, 301);
    ops::Context ctx(2);
    Model model(ctx, d, {});
    const std::int64_t C = 2 * d.He;
    std::vector<float> H(static_cast<std::size_t>(batch.src_steps * batch.size * C));
    std::vector<float> s0(static_cast<std::size_t>(batch.size * d.Hd));
    model.Encode(H.data(), s0.data(), params, batch.src.data(), batch.src_len.data(), batch.size,
                 batch.src_steps);
    ModelRef<double> ref(d, 0.0);
    ref.Forward(RefParams<double>(params), batch);
    const double tol = ModelTolerance(d, batch);
    ExpectAllClose(H, ref.H(), tol, "H");
    ExpectAllClose(s0, ref.s0(), tol, "s0");
  }
}

// Central differences of the reference's loss for every parameter, in
// double.
void CheckFiniteDifferences(const Variant& v, double eps, bool dropout, std::uint32_t seed) {
  SCOPED_TRACE(v.Name() + " eps " + std::to_string(eps) + (dropout ? " dropout" : ""));
  const ModelDims d = TinyDims(v);
  ParamSet layout(d);
  testing::RandomParams(layout, seed);
  const Batch batch = MakeBatch({4, 2, 1}, {3, 1, 2}, d, seed + 1);
  std::vector<float> mx, my, mt;
  RefMasks masks;
  if (dropout) {
    const DropoutKey key{seed, 5};
    mx.resize(static_cast<std::size_t>(batch.src_steps * batch.size * d.E));
    my.resize(static_cast<std::size_t>(batch.tgt_steps * batch.size * d.E));
    mt.resize(static_cast<std::size_t>(batch.tgt_steps * batch.size * d.O));
    FillDropoutMask(mx.data(), key, DropoutTensor::kSourceEmbedding, 0.3f, batch.src_steps,
                    batch.size, 0, static_cast<int>(d.E));
    FillDropoutMask(my.data(), key, DropoutTensor::kTargetEmbedding, 0.3f, batch.tgt_steps,
                    batch.size, 0, static_cast<int>(d.E));
    FillDropoutMask(mt.data(), key, DropoutTensor::kReadout, 0.3f, batch.tgt_steps, batch.size, 0,
                    static_cast<int>(d.O));
    masks = {mx.data(), my.data(), mt.data()};
  }
  ModelRef<double> ref(d, eps);
  RefParams<double> p(layout), g(layout);
  g.Zero();
  const double scale = 0.25;
  ref.Forward(p, batch, masks);
  ref.Backward(g, p, batch, masks, scale);
  std::vector<double>& x = p.data();
  for (const ParamSpec& s : layout.specs()) {
    const std::int64_t off = layout.Offset(s.name);
    std::vector<double> want, got;
    for (std::int64_t k = 0; k < s.size(); ++k) {
      const std::size_t i = static_cast<std::size_t>(off + k);
      const double saved = x[i];
      const double h = 1e-5;
      x[i] = saved + h;
      const double up = scale * ref.Forward(p, batch, masks);
      x[i] = saved - h;
      const double down = scale * ref.Forward(p, batch, masks);
      x[i] = saved;
      want.push_back((up - down) / (2 * h));
      got.push_back(g.data()[i]);
    }
    ExpectAllClose(got, want, 1e-7, "d " + s.name);
  }
}

TEST(ModelReference, GradientsMatchFiniteDifferences) {
  std::uint32_t seed = 400;
  for (const Variant& v : testing::AllVariants()) CheckFiniteDifferences(v, 0.0, false, seed += 10);
  CheckFiniteDifferences({"gru", "additive", 2, true}, 0.1, true, 500);
  CheckFiniteDifferences({"lstm", "general", 1, false}, 0.1, true, 510);
}

// The oneDNN model itself against central differences of its own float
// loss (Evaluate), on a sample of every tensor's parameters: float32
// differences are coarse (step h = 1e-2: rounding of the loss sum ~1e-6
// relative, divided by 2h; allowed: 2e-4 + 0.2% of the difference), so
// this is a check of the composition next to the exact ones above (op model vs the double
// reference, the reference vs finite differences in double).
TEST(Model, GradientsMatchFloatFiniteDifferences) {
  for (const Variant& v : {Variant{"gru", "additive", 2, false}, Variant{"lstm", "dot", 1, true},
                           Variant{"gru", "general", 1, false}}) {
    SCOPED_TRACE(v.Name());
    const ModelDims d = TinyDims(v);
    ParamSet params(d), grads(d);
    testing::RandomParams(params, 600);
    const Batch batch = TinyBatch(d, 601);
    ops::Context ctx(1);
    ModelOptions opt;
    opt.label_smoothing = 0.1f;
    Model model(ctx, d, opt);
    model.ForwardBackward(params, grads, batch, 1.0f, 0);
    int checked = 0;
    for (const ParamSpec& s : params.specs()) {
      float* x = params.Get(s.name);
      const float* g = grads.Get(s.name);
      for (std::int64_t k = 0; k < s.size(); k += 5) {
        const float saved = x[k], h = 1e-2f;
        x[k] = saved + h;
        const double up = model.Evaluate(params, batch).loss;
        x[k] = saved - h;
        const double down = model.Evaluate(params, batch).loss;
        x[k] = saved;
        const double numeric = (up - down) / (2.0 * h);
        const double err = std::abs(numeric - g[k]) / (2e-4 + 2e-3 * std::abs(numeric));
        EXPECT_LE(err, 1.0) << s.name << "[" << k << "]: numeric " << numeric << ", model " << g[k];
        ++checked;
      }
    }
    EXPECT_GT(checked, 150);
  }
}

// The FLOP count is the sum of what the ops report plus the readout, and
// for a one-layer GRU with additive attention it is the peer's formula
// (pytorch_rnnsearch.py, train_flops_per_step) transcribed literally.
TEST(Model, TrainingFlopsMatchOpsAndPeer) {
  ModelConfig m;  // the base shapes
  const ModelDims base = ModelDims::From(m, 10000, 10000);
  const double B = 64, S = 20, T = 20, E = 256, H = 256, D = 512, A = 512, O = 512, V = 10000;
  const double enc = 12 * B * S * H * (E + H), init = 4 * B * H * D, ua = 4 * B * S * H * A;
  const double per_tok = 2 * D * A + 2 * S * A + 4 * S * H + 6 * D * (E + 2 * H + D) +
                         2 * O * (D + 2 * H + E) + 2 * O * V;
  EXPECT_DOUBLE_EQ(TrainingFlops(base, 64, 20, 20), 3 * (enc + init + ua + B * T * per_tok));

  for (const Variant& v : testing::AllVariants()) {
    SCOPED_TRACE(v.Name());
    const ModelDims d = TinyDims(v);
    const int b = 3, tx = 7, ty = 5, C = static_cast<int>(2 * d.He), Hd = static_cast<int>(d.Hd);
    double sum = 0;
    for (int l = 0; l < d.enc_layers; ++l) {
      sum += ops::EncoderLayer::ForwardBackwardFlops(CellOf(d), b, tx, l == 0 ? 4 : C, 5);
    }
    sum += 3 * 2.0 * b * C * Hd;  // init
    sum += ops::Attention::ForwardBackwardFlops(AttentionOf(d), {ty, tx, b, C, Hd, 7});
    sum += ops::DecoderCell::ForwardBackwardFlops(CellOf(d), {ty, b, 4, C, Hd});
    sum += 3 * 2.0 * b * ty * static_cast<double>(d.O) * (Hd + C + 4 + d.Vt);  // readout, output
    EXPECT_DOUBLE_EQ(TrainingFlops(d, b, tx, ty), sum);
  }
}

}  // namespace
}  // namespace rnnsearch
