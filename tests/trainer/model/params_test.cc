// The parameter set: docs/model.md's names and shapes for every model option,
// aligned views into one flat buffer.
#include "trainer/model/params.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <set>

namespace rnnsearch {
namespace {

ModelDims Dims(const std::string& cell, const std::string& attention, bool tie, int layers) {
  ModelConfig m;
  m.cell = cell;
  m.attention = attention;
  m.tie_target_embeddings = tie;
  m.enc_layers = layers;
  m.emb_dim = 4;
  m.enc_dim = 5;
  m.dec_dim = 6;
  m.att_dim = 7;
  m.readout_dim = tie ? 4 : 8;
  return ModelDims::From(m, 11, 13);
}

std::vector<std::int64_t> Shape(const ParamSet& p, const std::string& name) {
  for (const ParamSpec& s : p.specs()) {
    if (s.name == name) return s.shape;
  }
  return {};
}

TEST(Params, GruAdditiveNamesAndShapes) {
  const ParamSet p(Dims("gru", "additive", false, 2));
  using V = std::vector<std::int64_t>;
  EXPECT_EQ(Shape(p, "src_embed.weight"), (V{11, 4}));
  EXPECT_EQ(Shape(p, "tgt_embed.weight"), (V{13, 4}));
  EXPECT_EQ(Shape(p, "encoder.0.fwd.weight_ih"), (V{15, 4}));
  EXPECT_EQ(Shape(p, "encoder.1.bwd.weight_ih"), (V{15, 10}));
  EXPECT_EQ(Shape(p, "encoder.1.bwd.weight_hh"), (V{15, 5}));
  EXPECT_EQ(Shape(p, "encoder.0.fwd.bias_hh"), (V{15}));
  EXPECT_EQ(Shape(p, "decoder.init.weight"), (V{6, 10}));
  EXPECT_EQ(Shape(p, "attention.W_a.weight"), (V{7, 6}));
  EXPECT_EQ(Shape(p, "attention.U_a.weight"), (V{7, 10}));
  EXPECT_EQ(Shape(p, "attention.v_a.weight"), (V{7}));
  EXPECT_EQ(Shape(p, "decoder.cell.weight_ih"), (V{18, 14}));
  EXPECT_EQ(Shape(p, "decoder.cell.weight_hh"), (V{18, 6}));
  EXPECT_EQ(Shape(p, "readout.weight"), (V{8, 6 + 10 + 4}));
  EXPECT_EQ(Shape(p, "output.weight"), (V{13, 8}));
  EXPECT_EQ(Shape(p, "output.bias"), (V{13}));
  EXPECT_EQ(p.specs().size(), 2u + 2 * 2 * 4 + 2 + 4 + 4 + 2 + 2);
}

TEST(Params, OptionsChangeTheSet) {
  const ParamSet lstm(Dims("lstm", "general", true, 1));
  EXPECT_EQ(Shape(lstm, "encoder.0.fwd.weight_ih")[0], 20);
  EXPECT_EQ(Shape(lstm, "decoder.cell.weight_hh")[0], 24);
  EXPECT_EQ(Shape(lstm, "attention.W_g.weight"), (std::vector<std::int64_t>{6, 10}));
  EXPECT_EQ(lstm.Find("attention.W_a.weight"), nullptr);
  EXPECT_EQ(lstm.Find("output.weight"), nullptr);  // tied
  const ParamSet dot(Dims("gru", "dot", false, 1));
  for (const ParamSpec& s : dot.specs())
    EXPECT_EQ(s.name.rfind("attention.", 0), std::string::npos);
}

TEST(Params, ViewsAreAlignedDisjointAndCoverEveryParameter) {
  ParamSet p(Dims("gru", "additive", false, 2));
  std::int64_t total = 0;
  std::set<std::int64_t> starts;
  for (const ParamSpec& s : p.specs()) {
    const std::int64_t off = p.Offset(s.name);
    EXPECT_EQ(off % 16, 0) << s.name;
    EXPECT_TRUE(starts.insert(off).second) << s.name;
    EXPECT_LE(off + s.size(), static_cast<std::int64_t>(p.size())) << s.name;
    total += s.size();
    // Writing a view touches only its own range.
    float* v = p.Get(s.name);
    for (std::int64_t i = 0; i < s.size(); ++i) v[i] += 1.0f;
  }
  EXPECT_EQ(p.count(), total);
  double sum = 0;
  for (std::size_t i = 0; i < p.size(); ++i) sum += p.data()[i];
  EXPECT_EQ(sum, static_cast<double>(total));  // each parameter written exactly once
}

TEST(Params, MovedToExternalStorageCopiesOwnTheirMemory) {
  ParamSet p(Dims("gru", "additive", false, 1));
  for (std::size_t i = 0; i < p.size(); ++i) p.data()[i] = static_cast<float>(i % 13);
  auto storage = std::make_shared<std::vector<float>>(p.size(), -1.0f);
  std::weak_ptr<std::vector<float>> alive = storage;
  p.MoveTo(storage->data(), storage);
  storage.reset();  // p keeps it
  ASSERT_FALSE(alive.expired());
  EXPECT_EQ(p.data(), alive.lock()->data());
  EXPECT_EQ(p.Get("output.bias"), p.data() + p.Offset("output.bias"));
  for (std::size_t i = 0; i < p.size(); ++i) ASSERT_EQ(p.data()[i], static_cast<float>(i % 13));

  ParamSet copy = p;  // ordinary memory, the same values
  EXPECT_NE(copy.data(), p.data());
  ASSERT_EQ(copy.size(), p.size());
  copy.data()[5] = 100.0f;
  EXPECT_EQ(p.data()[5], 5.0f);
  ParamSet assigned;
  assigned = p;
  EXPECT_NE(assigned.data(), p.data());
  EXPECT_EQ(assigned.data()[7], 7.0f);
  p.Zero();
  EXPECT_EQ(alive.lock()->at(7), 0.0f);
  EXPECT_EQ(assigned.data()[7], 7.0f);

  assigned.data()[7] = 70.0f;
  p = assigned;  // the values go into the external storage
  EXPECT_EQ(p.data(), alive.lock()->data());
  EXPECT_EQ(alive.lock()->at(7), 70.0f);

  const float* external = p.data();
  ParamSet moved = std::move(p);  // keeps the storage
  EXPECT_EQ(moved.data(), external);
  EXPECT_EQ(p.size(), 0u);
  moved = ParamSet();
  EXPECT_TRUE(alive.expired());
}

}  // namespace
}  // namespace rnnsearch
