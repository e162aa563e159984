// The random streams of a run, pinned to values recorded from the code:
// the batch plan (io/batch_plan.h), the dropout masks (dropout.h) and the
// initial parameters (init.h). Checkpoints, resumed runs and the batch
// order depend on these exact values, so any change to the generator
// behind them fails here.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "io/batch_plan.h"
#include "trainer/model/dropout.h"
#include "trainer/model/init.h"
#include "trainer/model/params.h"

namespace rnnsearch {
namespace {

// Two shards of sorted lengths: 40 sentences of target lengths 2..41 and
// 25 of 3..27.
std::vector<BatchSpan> Plan(std::uint64_t seed, std::int64_t epoch) {
  static const std::vector<std::vector<std::int32_t>> tgt = [] {
    std::vector<std::vector<std::int32_t>> t(2);
    for (int i = 0; i < 40; ++i) t[0].push_back(2 + i);
    for (int i = 0; i < 25; ++i) t[1].push_back(3 + i);
    return t;
  }();
  const std::vector<ShardLengths> shards = {{tgt[0], tgt[0]}, {tgt[1], tgt[1]}};
  BatchingOptions o;
  o.batch_tokens = 120;
  o.seed = seed;
  return PlanEpoch(shards, o, epoch);
}

std::string PlanText(const std::vector<BatchSpan>& plan) {
  std::ostringstream s;
  for (const BatchSpan& b : plan) s << b.shard << ":" << b.first << "+" << b.count << " ";
  return s.str();
}

TEST(RngStreams, BatchPlan) {
  EXPECT_EQ(PlanText(Plan(1234, 0)),
            "1:19+4 0:23+4 0:33+3 0:27+3 0:30+3 1:7+7 0:36+3 1:0+7 0:18+5 1:23+2 0:3+9 0:39+1 "
            "0:12+6 1:14+5 0:0+3 ");
  EXPECT_EQ(PlanText(Plan(1234, 3)),
            "0:6+8 0:27+3 1:0+1 1:10+6 0:23+4 1:1+9 0:19+4 1:21+4 0:30+3 0:14+5 0:39+1 0:33+3 "
            "0:36+3 1:16+5 0:0+6 ");
  EXPECT_EQ(PlanText(Plan(7, 0)),
            "1:0+8 0:0+8 0:15+5 1:8+7 0:37+2 1:20+4 1:15+5 1:24+1 0:34+3 0:39+1 0:28+3 0:31+3 "
            "0:20+4 0:8+7 0:24+4 ");
}

// The mask as 0 (dropped) and 1 (kept), one row (t, b) per group.
std::string MaskText(const DropoutKey& key, DropoutTensor tensor, float p) {
  const int T = 3, B = 2, dim = 16;
  std::vector<float> m(static_cast<std::size_t>(T * B * dim));
  FillDropoutMask(m.data(), key, tensor, p, T, B, 5, dim);
  std::string s;
  for (std::size_t i = 0; i < m.size(); ++i) {
    if (i > 0 && i % dim == 0) s += ' ';
    s += m[i] == 0.0f ? '0' : '1';
  }
  return s;
}

TEST(RngStreams, DropoutMask) {
  EXPECT_EQ(MaskText({1234, 7}, DropoutTensor::kSourceEmbedding, 0.5f),
            "1111000011110000 1001100100010111 0000100100001010 1101010000011100 "
            "1100010101000011 1100111001011010");
  EXPECT_EQ(MaskText({1234, 7}, DropoutTensor::kTargetEmbedding, 0.5f),
            "0000001011000100 1000001001010111 0100011000111001 1111001110110011 "
            "0000110100001111 1101010100000100");
  EXPECT_EQ(MaskText({1234, 8}, DropoutTensor::kReadout, 0.2f),
            "1111111011100111 1111111111011010 0001101101111111 1111111101111001 "
            "1111010101100010 1111111110101111");
  EXPECT_EQ(MaskText({99, 0}, DropoutTensor::kReadout, 0.7f),
            "0000000010000001 1000000101000100 1100100000001000 1001100111100010 "
            "1001100010000100 1100010001000000");
}

std::string Hex(double x) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%a", x);
  return buf;
}

TEST(RngStreams, CounterDraws) {
  EXPECT_EQ(NameStream("src_embed.weight"), 16888918241335011149u);
  std::ostringstream u, n;
  for (std::uint64_t i = 0; i < 4; ++i) {
    u << Hex(CounterUniform(1234, NameStream("readout.weight"), i)) << " ";
    n << Hex(CounterNormal(1234, NameStream("src_embed.weight"), i)) << " ";
  }
  EXPECT_EQ(u.str(),
            "0x1.60ea440069d3cp-3 0x1.2394097326ff6p-2 0x1.599736a9f9abp-3 0x1.922277cf3cb1ap-2 ");
  EXPECT_EQ(n.str(),
            "0x1.5f631717a2844p-2 0x1.5ac3201e48a6fp+0 0x1.0af3dd5f742a4p-2 0x1.b2cebebf25003p+0 ");
}

// The first two values of every tensor of a small model (the same for
// both cells: a value depends on the tensor's name and index only), and a
// hash of the whole buffer.
TEST(RngStreams, InitialParameters) {
  const std::string first_values =
      "src_embed.weight: 0x1.5f6318p-2 0x1.5ac32p+0\n"
      "tgt_embed.weight: -0x1.205e9p+0 -0x1.8c3558p+0\n"
      "encoder.0.fwd.weight_ih: -0x1.c246b4p-2 0x1.a23f4cp-3\n"
      "encoder.0.fwd.weight_hh: -0x1.423004p-4 -0x1.566d5ep-2\n"
      "encoder.0.fwd.bias_ih: 0x0p+0 0x0p+0\n"
      "encoder.0.fwd.bias_hh: 0x0p+0 0x0p+0\n"
      "encoder.0.bwd.weight_ih: -0x1.38aa86p-3 0x1.7c6c26p-1\n"
      "encoder.0.bwd.weight_hh: 0x1.36f2bp-2 -0x1.10f04ap-3\n"
      "encoder.0.bwd.bias_ih: 0x0p+0 0x0p+0\n"
      "encoder.0.bwd.bias_hh: 0x0p+0 0x0p+0\n"
      "decoder.init.weight: -0x1.b6e716p-2 0x1.513206p-2\n"
      "decoder.init.bias: 0x0p+0 0x0p+0\n"
      "attention.W_a.weight: -0x1.071fa4p-3 -0x1.a967a4p-2\n"
      "attention.W_a.bias: 0x0p+0 0x0p+0\n"
      "attention.U_a.weight: 0x1.47ed98p-1 0x1.251bfcp-2\n"
      "attention.v_a.weight: -0x1.b0b172p-1 -0x1.002aep-6\n"
      "decoder.cell.weight_ih: -0x1.11ce22p-1 0x1.d36fc4p-2\n"
      "decoder.cell.weight_hh: -0x1.1b134ap-2 0x1.2fbe36p-2\n"
      "decoder.cell.bias_ih: 0x0p+0 0x0p+0\n"
      "decoder.cell.bias_hh: 0x0p+0 0x0p+0\n"
      "readout.weight: -0x1.33ea34p-3 -0x1.948bb4p-4\n"
      "readout.bias: 0x0p+0 0x0p+0\n"
      "output.weight: 0x1.8d5ddp-3 -0x1.dd96a2p-3\n"
      "output.bias: 0x0p+0 0x0p+0\n";
  const std::pair<std::string, std::uint64_t> cells[] = {{"gru", 9897750077832566251u},
                                                         {"lstm", 18071228032572078590u}};
  for (const auto& [cell, hash] : cells) {
    ModelConfig m;
    m.cell = cell;
    m.emb_dim = 6;
    m.enc_dim = 4;
    m.dec_dim = 5;
    m.att_dim = 3;
    m.readout_dim = 7;
    ParamSet p(ModelDims::From(m, 20, 30));
    InitParams(p, 1234);
    std::ostringstream s;
    for (const ParamSpec& spec : p.specs()) {
      const float* x = p.Get(spec.name);
      s << spec.name << ":";
      for (std::int64_t i = 0; i < 2 && i < spec.size(); ++i) s << " " << Hex(x[i]);
      s << "\n";
    }
    EXPECT_EQ(s.str(), first_values) << cell;
    // FNV-1a over the bytes of the whole buffer.
    std::uint64_t h = 1469598103934665603ULL;
    const auto* bytes = reinterpret_cast<const unsigned char*>(p.data());
    for (std::size_t i = 0; i < p.size() * sizeof(float); ++i)
      h = (h ^ bytes[i]) * 1099511628211ULL;
    EXPECT_EQ(h, hash) << cell;
  }
}

}  // namespace
}  // namespace rnnsearch
