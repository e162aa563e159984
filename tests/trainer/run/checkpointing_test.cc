// The trainer's checkpoint adapter (trainer/run/checkpointing.h): the whole
// run state round-trips bit for bit through a checkpoint file, and the
// mismatches a resume can meet are refused with messages naming the key.
#include "trainer/run/checkpointing.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <random>

#include "common/error.h"
#include "tests/trainer/model_fixture.h"

namespace rnnsearch {
namespace {

namespace fs = std::filesystem;

Config TinyConfig(const std::string& optimizer, double ema) {
  Config c;
  c.model.emb_dim = 4;
  c.model.enc_dim = 5;
  c.model.dec_dim = 6;
  c.model.att_dim = 7;
  c.model.readout_dim = 8;
  c.train.optimizer = optimizer;
  c.train.ema_decay = ema;
  c.train.lr_schedule = "plateau";
  return c;
}

void Fill(ParamSet& s, std::uint32_t seed) { testing::RandomParams(s, seed, 1.0); }

bool Same(const ParamSet& a, const ParamSet& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

class Checkpointing : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("rnnsearch_ckpting_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Save(const Config& config, RunState& s) {
    const std::string path = (dir_ / "c.h5").string();
    SaveCheckpoint(path, MakeCheckpointContents(config, src_, tgt_, s));
    return path;
  }
  fs::path dir_;
  Vocab src_ = Vocab::FromWords({"a", "b", "c", "d", "e", "f", "g"}, "src");
  Vocab tgt_ = Vocab::FromWords({"A", "B", "C", "D", "E", "F", "G", "H", "I"}, "tgt");
};

TEST_F(Checkpointing, WholeStateRoundTripsBitForBit) {
  const Config config = TinyConfig("adam", 0.99);
  const ModelDims d = ModelDims::From(config.model, src_.size(), tgt_.size());
  RunState a(d, config.train);
  Fill(a.params, 1);
  Fill(a.ema->params(), 2);
  StateRefs refs = a.Refs();
  std::uint32_t seed = 3;
  for (auto& b : refs.buffers) {
    if (b.name != "ema") Fill(*b.set, seed++);
  }
  std::mt19937_64 rng(5);
  for (auto& i : refs.ints) *i.value = static_cast<std::int64_t>(rng() % 1000);
  for (auto& r : refs.reals) *r.value = std::ldexp(static_cast<double>(rng()), -70);
  a.training.step = 77;
  a.training.epoch = 3;
  a.training.position = {3, 12};
  a.training.best_metric = "bleu";
  a.training.best_value = 0.1 + 0.2;
  a.training.best_step = 70;
  a.training.bad_validations = 2;
  a.training.bad_steps = 1;
  a.training.skipped_steps = 6;
  a.training.elapsed_seconds = 12.5;
  a.batches_done = 154;
  const std::string path = Save(config, a);

  RunState b(d, config.train);
  const CheckpointReader reader(path);
  EXPECT_EQ(reader.info().meta.model, config.model);
  EXPECT_EQ(reader.info().meta.tgt_vocab, tgt_);
  LoadRunState(reader, b);
  EXPECT_TRUE(Same(a.params, b.params));
  EXPECT_TRUE(Same(a.ema->params(), b.ema->params()));
  const StateRefs ra = a.Refs(), rb = b.Refs();
  ASSERT_EQ(ra.buffers.size(), 3u);  // adam.m, adam.v, ema
  for (std::size_t k = 0; k < ra.buffers.size(); ++k) {
    EXPECT_TRUE(Same(*ra.buffers[k].set, *rb.buffers[k].set)) << ra.buffers[k].name;
  }
  for (std::size_t k = 0; k < ra.ints.size(); ++k) {
    EXPECT_EQ(*ra.ints[k].value, *rb.ints[k].value) << ra.ints[k].name;
  }
  for (std::size_t k = 0; k < ra.reals.size(); ++k) {
    EXPECT_EQ(std::memcmp(ra.reals[k].value, rb.reals[k].value, sizeof(double)), 0)
        << ra.reals[k].name;
  }
  EXPECT_EQ(a.training, b.training);
  EXPECT_EQ(b.batches_done, 154u);
  // The single-process broadcast changes nothing.
  const auto comm = MakeLocalComm();
  BroadcastRunState(*comm, b);
  EXPECT_TRUE(Same(a.params, b.params));
  EXPECT_EQ(b.batches_done, 154u);
}

TEST_F(Checkpointing, MismatchesAreRefusedOrBridged) {
  const Config adam = TinyConfig("adam", 0.0);
  const ModelDims d = ModelDims::From(adam.model, src_.size(), tgt_.size());
  RunState a(d, adam.train);
  Fill(a.params, 9);
  const std::string path = Save(adam, a);
  const CheckpointReader reader(path);

  // Another optimizer: refused, naming the key.
  RunState sgd(d, TinyConfig("sgd", 0.0).train);
  try {
    LoadRunState(reader, sgd);
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("train.optimizer adam, the config has sgd"),
              std::string::npos)
        << e.what();
  }
  // Another seed: refused, naming the key.
  Config seeded = adam;
  seeded.train.seed = 99;
  RunState other_seed(d, seeded.train);
  try {
    LoadRunState(reader, other_seed);
    FAIL() << "no error";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("train.seed 1234, the config has 99"), std::string::npos)
        << e.what();
  }
  // A moving average switched on at resume starts from the parameters.
  RunState with_ema(d, TinyConfig("adam", 0.9).train);
  LoadRunState(reader, with_ema);
  EXPECT_TRUE(Same(with_ema.ema->params(), a.params));
  // Parameters only (--init-from): the optimizer state stays fresh.
  RunState init(d, TinyConfig("adam", 0.9).train);
  LoadRunParams(reader, init);
  EXPECT_TRUE(Same(init.params, a.params));
  EXPECT_TRUE(Same(init.ema->params(), a.params));
  EXPECT_EQ(init.optimizer.step(), 0);
}

// Choices a checkpoint stores for the resume that the config does not
// know (a damaged file, or one from a later version) are refused, naming
// the file, the attribute and the key.
TEST_F(Checkpointing, UnknownStoredChoicesAreRefused) {
  const Config adam = TinyConfig("adam", 0.0);
  const ModelDims d = ModelDims::From(adam.model, src_.size(), tgt_.size());
  RunState a(d, adam.train);
  const std::string path = (dir_ / "c.h5").string();
  auto error = [&](const CheckpointContents& c) -> std::string {
    SaveCheckpoint(path, c);
    RunState b(d, adam.train);
    try {
      LoadRunState(CheckpointReader(path), b);
    } catch (const UserError& e) {
      return e.what();
    }
    return "(no error)";
  };
  CheckpointContents c = MakeCheckpointContents(adam, src_, tgt_, a);
  c.meta.optimizer_kind = "adagrad";
  EXPECT_EQ(error(c), "the checkpoint '" + path +
                          "' has /optimizer attribute kind 'adagrad', expected adam|sgd "
                          "(train.optimizer)");
  c = MakeCheckpointContents(adam, src_, tgt_, a);
  c.meta.state.best_metric = "chrf";
  c.meta.state.best_step = 10;
  EXPECT_EQ(error(c), "the checkpoint '" + path +
                          "' has /state attribute best_metric 'chrf', expected "
                          "bleu|perplexity|loss (train.early_stop_metric)");
  c.meta.state.best_metric = "loss";
  EXPECT_EQ(error(c), "(no error)");
}

TEST(CheckpointingSpecs, TensorSpecsFollowTheParamSet) {
  const ModelDims d = testing::TinyDims({"lstm", "general", 2, true});
  ParamSet p(d);
  const auto specs = TensorSpecsOf(p);
  ASSERT_EQ(specs.size(), p.specs().size());
  for (std::size_t k = 0; k < specs.size(); ++k) {
    EXPECT_EQ(specs[k].name, p.specs()[k].name);
    EXPECT_EQ(specs[k].shape, p.specs()[k].shape);
    EXPECT_EQ(specs[k].offset, p.Offset(specs[k].name));
    EXPECT_LE(specs[k].offset + specs[k].size(), static_cast<std::int64_t>(p.size()));
  }
}

}  // namespace
}  // namespace rnnsearch
