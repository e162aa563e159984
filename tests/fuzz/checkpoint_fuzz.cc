// Fuzz target of the checkpoint reader (io/checkpoint*): a small valid
// checkpoint (written by SaveCheckpoint at start) is damaged as the input
// says, then read as `rnnsearch train --resume` and `translate` read it:
// CheckpointReader, the config and model it records, every tensor group
// into the model's buffers, VerifyTensors. Every input must be read or
// refused with a UserError.
//
// The first input byte picks the mode:
//   even: structured: the rest drives h5_mutate.h's mutations through the
//         HDF5 API, then the seal is rewritten (as a file sealed by hand),
//         so HDF5 and the reader see wrong contents in a sound file;
//   odd:  bytes: the rest is the whole file (its seed: the checkpoint's
//         bytes), flipped, cut and extended by libFuzzer, seal untouched.
#include <cstdint>
#include <string>
#include <vector>

#include "common/config.h"
#include "io/checkpoint.h"
#include "io/checkpoint_seal.h"
#include "tests/fuzz/fuzz_util.h"
#include "tests/fuzz/h5_mutate.h"

namespace rnnsearch::fuzz {
namespace {

struct Seed {
  std::vector<TensorSpec> specs;  // the model's tensors
  std::string bytes;              // the checkpoint file
  std::vector<H5Target> targets;
};

Vocab Words(const std::string& stem) {
  return Vocab::FromWords({stem + "1", stem + "2", stem + "3"}, "fuzz seed");
}

const Seed& TheSeed() {
  static const Seed* seed = [] {
    auto* s = new Seed;
    s->specs = {{"src_embed.weight", {7, 3}, 0}, {"output.bias", {7}, 21}, {"scale", {}, 28}};
    const std::vector<float> params = {0.5f, -1.0f, 2.0f, 1e-3f, 3.0f, 4.0f, 5.0f, 6.0f, 7.0f, 8.0f,
                                       9.0f, 1.0f,  2.0f, 3.0f,  4.0f, 5.0f, 6.0f, 7.0f, 8.0f, 9.0f,
                                       1.0f, 2.0f,  3.0f, 4.0f,  5.0f, 6.0f, 7.0f, 8.0f, 0.25f};
    Config config;
    config.model.emb_dim = 3;
    CheckpointContents c;
    c.meta.model = config.model;
    c.meta.config_yaml = ConfigToYaml(config);
    c.meta.src_vocab = Words("quelle");
    c.meta.tgt_vocab = Words("ziel");
    c.meta.state.step = 12;
    c.meta.state.position = {1, 3};
    c.meta.state.rng = {{"dropout", {1234, 5}}, {"sampler", {7}}};
    c.meta.state.best_metric = "bleu";
    c.meta.state.best_step = 10;
    c.meta.optimizer_kind = "adam";
    c.meta.optimizer_ints = {{"optimizer.step", 12}};
    c.meta.optimizer_reals = {{"schedule.factor", 0.5}};
    c.params = {s->specs, params};
    c.optimizer_buffers["adam.m"] = {s->specs, params};
    c.ema = ConstTensors{s->specs, params};
    const std::string path = ScratchDir() + "/seed.h5";
    SaveCheckpoint(path, c);
    s->bytes = ReadFileBytes(path);
    s->targets = ListH5Targets(path);
    return s;
  }();
  return *seed;
}

// What resuming and translating read from a checkpoint.
void ReadLikeTheTrainer(const std::string& path) {
  const CheckpointReader reader(path);
  const CheckpointInfo& info = reader.info();
  ConfigFromYamlText(info.meta.config_yaml, path + ":/config");
  Config model;
  model.model = info.meta.model;
  ConfigFromYamlText(ConfigToYaml(model), path + ":/model");
  std::vector<float> buffer(29);
  const MutableTensors into{TheSeed().specs, buffer};
  reader.ReadParams(into);
  reader.ReadOptimizerBuffer("adam.m", into);
  reader.ReadEma(into);
  reader.VerifyTensors();
}

void FuzzOne(Input in) {
  const Seed& seed = TheSeed();
  const std::string path = ScratchDir() + "/c.h5";
  if (in.Byte() % 2 == 0) {
    WriteFileBytes(path, seed.bytes);
    MutateH5(path, seed.targets, in);
    ckpt::WriteSeal(path, kCheckpointFormatVersion, path);
  } else {
    WriteFileBytes(path, in.Rest());
  }
  ExpectCleanRejection([&] { ReadLikeTheTrainer(path); });
}

}  // namespace
}  // namespace rnnsearch::fuzz

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  const auto& seed = rnnsearch::fuzz::TheSeed();
  std::vector<std::string> seeds = {std::string(1, '\1') + seed.bytes};
  // One structured seed per target: a mutation of each object and attribute.
  for (std::size_t i = 0; i < seed.targets.size(); ++i) {
    seeds.push_back(std::string{'\0', static_cast<char>(i), '\1'});
  }
  rnnsearch::fuzz::WriteSeeds(*argc, *argv, seeds);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  rnnsearch::fuzz::FuzzOne(rnnsearch::fuzz::Input(data, size));
  return 0;
}
