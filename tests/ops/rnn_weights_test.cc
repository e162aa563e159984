// The PyTorch <-> oneDNN conversion of recurrent weights (ops/rnn_weights.h):
// a known-value check of the gate mapping, the layouts and the bias
// convention; the round trip through the gradient map; and that gradients
// are added, not written.
#include "ops/rnn_weights.h"

#include <gtest/gtest.h>

#include <vector>

#include "tests/ops/check.h"

namespace rnnsearch::ops {
namespace {

constexpr int kIn = 4, kH = 5;

struct TorchParams {
  explicit TorchParams(CellType cell)
      : w_ih(GateCount(cell) * kH * kIn),
        w_hh(GateCount(cell) * kH * kH),
        b_ih(GateCount(cell) * kH),
        b_hh(GateCount(cell) * kH) {}
  RnnParams View() const { return {w_ih.data(), w_hh.data(), b_ih.data(), b_hh.data()}; }
  RnnGrads Mutable() { return {w_ih.data(), w_hh.data(), b_ih.data(), b_hh.data()}; }
  std::vector<float> w_ih, w_hh, b_ih, b_hh;
};

struct DnnlParams {
  explicit DnnlParams(CellType cell)
      : layer(DnnlWeightsLayerSize(cell, kIn, kH), -1.f),
        iter(DnnlWeightsIterSize(cell, kH), -1.f),
        bias(DnnlBiasSize(cell, kH), -1.f) {}
  std::vector<float> layer, iter, bias;
};

// Every value names its own position: gate * 10000 + unit * 100 + column
// (+ 0.5 in weight_hh, + 0.25 in the biases of weight_hh's side).
TorchParams Labelled(CellType cell) {
  TorchParams p(cell);
  for (int g = 0; g < GateCount(cell); ++g) {
    for (int o = 0; o < kH; ++o) {
      const float base = static_cast<float>(g * 10000 + o * 100);
      for (int i = 0; i < kIn; ++i) p.w_ih[(g * kH + o) * kIn + i] = base + i;
      for (int j = 0; j < kH; ++j) p.w_hh[(g * kH + o) * kH + j] = base + j + 0.5f;
      p.b_ih[g * kH + o] = base;
      p.b_hh[g * kH + o] = 0.25f;
    }
  }
  return p;
}

// ldigo with L = D = 1: [rows, G, H].
float At(const std::vector<float>& ldigo, CellType cell, int row, int gate, int unit) {
  return ldigo[(row * GateCount(cell) + gate) * kH + unit];
}

TEST(RnnWeights, GruKnownValues) {
  const CellType cell = CellType::kGru;
  const TorchParams p = Labelled(cell);
  DnnlParams d(cell);
  PackDnnlWeights(d.layer.data(), d.iter.data(), d.bias.data(), cell, p.View(), kIn, kH);
  // oneDNN's GRU gates are u (= PyTorch's z, gate 1), r (gate 0), o (= n, gate 2).
  const int torch_gate_of[3] = {1, 0, 2};
  for (int dg = 0; dg < 3; ++dg) {
    const int g = torch_gate_of[dg];
    for (int o = 0; o < kH; ++o) {
      for (int i = 0; i < kIn; ++i) {
        EXPECT_EQ(At(d.layer, cell, i, dg, o), g * 10000 + o * 100 + i) << dg << o << i;
      }
      for (int j = 0; j < kH; ++j) {
        EXPECT_EQ(At(d.iter, cell, j, dg, o), g * 10000 + o * 100 + j + 0.5f) << dg << o << j;
      }
    }
  }
  // Bias rows: u = b_iz + b_hz, r = b_ir + b_hr, o = b_in, u' = b_hn.
  for (int o = 0; o < kH; ++o) {
    EXPECT_EQ(d.bias[0 * kH + o], 10000 + o * 100 + 0.25f);
    EXPECT_EQ(d.bias[1 * kH + o], o * 100 + 0.25f);
    EXPECT_EQ(d.bias[2 * kH + o], 20000 + o * 100);
    EXPECT_EQ(d.bias[3 * kH + o], 0.25f);
  }
}

TEST(RnnWeights, LstmKnownValues) {
  const CellType cell = CellType::kLstm;
  const TorchParams p = Labelled(cell);
  DnnlParams d(cell);
  PackDnnlWeights(d.layer.data(), d.iter.data(), d.bias.data(), cell, p.View(), kIn, kH);
  // Same gate order i, f, g(= c), o; one bias per gate, b_ih + b_hh.
  for (int g = 0; g < 4; ++g) {
    for (int o = 0; o < kH; ++o) {
      for (int i = 0; i < kIn; ++i) EXPECT_EQ(At(d.layer, cell, i, g, o), g * 10000 + o * 100 + i);
      for (int j = 0; j < kH; ++j) {
        EXPECT_EQ(At(d.iter, cell, j, g, o), g * 10000 + o * 100 + j + 0.5f);
      }
      EXPECT_EQ(d.bias[g * kH + o], g * 10000 + o * 100 + 0.25f);
    }
  }
}

// Packing then mapping the packed values back as "gradients" returns the
// weights exactly (the weight map is a permutation and the gradient map its
// inverse); each summed bias comes back in both bias_ih and bias_hh.
TEST(RnnWeights, RoundTripIsExact) {
  for (const CellType cell : {CellType::kGru, CellType::kLstm}) {
    const int G = GateCount(cell);
    TorchParams p(cell);
    p.w_ih = testing::RandomVector<float>(p.w_ih.size(), 11);
    p.w_hh = testing::RandomVector<float>(p.w_hh.size(), 12);
    p.b_ih = testing::RandomVector<float>(p.b_ih.size(), 13);
    p.b_hh = testing::RandomVector<float>(p.b_hh.size(), 14);
    DnnlParams d(cell);
    PackDnnlWeights(d.layer.data(), d.iter.data(), d.bias.data(), cell, p.View(), kIn, kH);
    TorchParams back(cell);  // zero-initialised
    AddDnnlGradients(back.Mutable(), cell, d.layer.data(), d.iter.data(), d.bias.data(), kIn, kH);
    EXPECT_EQ(back.w_ih, p.w_ih);
    EXPECT_EQ(back.w_hh, p.w_hh);
    for (int k = 0; k < G * kH; ++k) {
      const bool separate = cell == CellType::kGru && k >= 2 * kH;  // the GRU's n gate
      EXPECT_EQ(back.b_ih[k], separate ? p.b_ih[k] : p.b_ih[k] + p.b_hh[k]) << k;
      EXPECT_EQ(back.b_hh[k], separate ? p.b_hh[k] : p.b_ih[k] + p.b_hh[k]) << k;
    }
  }
}

TEST(RnnWeights, GradientsAreAdded) {
  for (const CellType cell : {CellType::kGru, CellType::kLstm}) {
    DnnlParams d(cell);
    d.layer = testing::RandomVector<float>(d.layer.size(), 21);
    d.iter = testing::RandomVector<float>(d.iter.size(), 22);
    d.bias = testing::RandomVector<float>(d.bias.size(), 23);
    TorchParams once(cell), twice(cell);
    AddDnnlGradients(once.Mutable(), cell, d.layer.data(), d.iter.data(), d.bias.data(), kIn, kH);
    for (int rep = 0; rep < 2; ++rep) {
      AddDnnlGradients(twice.Mutable(), cell, d.layer.data(), d.iter.data(), d.bias.data(), kIn,
                       kH);
    }
    for (auto* v : {&once.w_ih, &once.w_hh, &once.b_ih, &once.b_hh}) {
      for (float& e : *v) e *= 2;  // x + x == 2x exactly in float
    }
    EXPECT_EQ(twice.w_ih, once.w_ih);
    EXPECT_EQ(twice.w_hh, once.w_hh);
    EXPECT_EQ(twice.b_ih, once.b_ih);
    EXPECT_EQ(twice.b_hh, once.b_hh);
  }
}

// Sizes large enough for several transpose tiles in both dimensions.
TEST(RnnWeights, RoundTripOnTiledSizes) {
  const int in = 70, H = 45;
  const CellType cell = CellType::kGru;
  const int G = GateCount(cell);
  std::vector<float> w_ih = testing::RandomVector<float>(G * H * in, 31);
  std::vector<float> w_hh = testing::RandomVector<float>(G * H * H, 32);
  std::vector<float> b(G * H, 0.f);
  std::vector<float> layer(DnnlWeightsLayerSize(cell, in, H)), iter(DnnlWeightsIterSize(cell, H));
  std::vector<float> bias(DnnlBiasSize(cell, H));
  PackDnnlWeights(layer.data(), iter.data(), bias.data(), cell,
                  {w_ih.data(), w_hh.data(), b.data(), b.data()}, in, H);
  // Spot check: PyTorch (gate r, unit 44, column 69) is oneDNN [69][1][44].
  EXPECT_EQ(layer[(69 * G + 1) * H + 44], w_ih[(0 * H + 44) * in + 69]);
  std::vector<float> back_ih(w_ih.size()), back_hh(w_hh.size()), db_ih(b.size()), db_hh(b.size());
  AddDnnlGradients({back_ih.data(), back_hh.data(), db_ih.data(), db_hh.data()}, cell, layer.data(),
                   iter.data(), bias.data(), in, H);
  EXPECT_EQ(back_ih, w_ih);
  EXPECT_EQ(back_hh, w_hh);
}

}  // namespace
}  // namespace rnnsearch::ops
