#include "trainer/run/checkpointing.h"

#include <algorithm>
#include <cstring>

#include "common/error.h"
#include "common/log.h"

namespace rnnsearch {
namespace {

// A little binary packer for the broadcast of the training state.
class Packer {
 public:
  template <class T>
  void Put(const T& v) {
    const char* p = reinterpret_cast<const char*>(&v);
    bytes_.append(p, sizeof v);
  }
  void PutString(const std::string& s) {
    Put(static_cast<std::uint64_t>(s.size()));
    bytes_ += s;
  }
  std::string& bytes() { return bytes_; }

 private:
  std::string bytes_;
};

class Unpacker {
 public:
  explicit Unpacker(const std::string& bytes) : bytes_(bytes) {}
  template <class T>
  T Get() {
    T v;
    std::memcpy(&v, bytes_.data() + pos_, sizeof v);
    pos_ += sizeof v;
    return v;
  }
  std::string GetString() {
    const auto n = static_cast<std::size_t>(Get<std::uint64_t>());
    std::string s = bytes_.substr(pos_, n);
    pos_ += n;
    return s;
  }

 private:
  const std::string& bytes_;
  std::size_t pos_ = 0;
};

std::string PackTraining(const TrainingState& t) {
  Packer p;
  p.Put(t.step);
  p.Put(t.epoch);
  p.Put(t.position.epoch);
  p.Put(t.position.batch);
  p.PutString(t.best_metric);
  p.Put(t.best_value);
  p.Put(t.best_step);
  p.Put(t.bad_validations);
  p.Put(t.bad_steps);
  p.Put(t.skipped_steps);
  p.Put(t.elapsed_seconds);
  p.Put(static_cast<std::uint64_t>(t.rng.size()));
  for (const auto& [name, values] : t.rng) {
    p.PutString(name);
    p.Put(static_cast<std::uint64_t>(values.size()));
    for (std::uint64_t v : values) p.Put(v);
  }
  return std::move(p.bytes());
}

TrainingState UnpackTraining(const std::string& bytes) {
  Unpacker u(bytes);
  TrainingState t;
  t.step = u.Get<std::int64_t>();
  t.epoch = u.Get<std::int64_t>();
  t.position.epoch = u.Get<std::int64_t>();
  t.position.batch = u.Get<std::int64_t>();
  t.best_metric = u.GetString();
  t.best_value = u.Get<double>();
  t.best_step = u.Get<std::int64_t>();
  t.bad_validations = u.Get<std::int64_t>();
  t.bad_steps = u.Get<std::int64_t>();
  t.skipped_steps = u.Get<std::int64_t>();
  t.elapsed_seconds = u.Get<double>();
  const auto n = u.Get<std::uint64_t>();
  for (std::uint64_t k = 0; k < n; ++k) {
    const std::string name = u.GetString();
    std::vector<std::uint64_t> values(static_cast<std::size_t>(u.Get<std::uint64_t>()));
    for (auto& v : values) v = u.Get<std::uint64_t>();
    t.rng[name] = std::move(values);
  }
  return t;
}

void BroadcastSet(Comm& comm, ParamSet& set) {
  comm.Broadcast(set.data(), set.size() * sizeof(float), 0);
}

}  // namespace

CheckpointContents MakeCheckpointContents(const Config& config, const Vocab& src_vocab,
                                          const Vocab& tgt_vocab, RunState& state) {
  state.StoreRng();
  CheckpointContents c;
  c.meta.model = config.model;
  c.meta.config_yaml = ConfigToYaml(config);
  c.meta.src_vocab = src_vocab;
  c.meta.tgt_vocab = tgt_vocab;
  c.meta.state = state.training;
  c.meta.optimizer_kind = ChoiceName(state.optimizer.options().kind);
  const StateRefs refs = state.Refs();
  for (const auto& i : refs.ints) c.meta.optimizer_ints[i.name] = *i.value;
  for (const auto& r : refs.reals) c.meta.optimizer_reals[r.name] = *r.value;
  c.params = ConstTensorsOf(state.params);
  for (const auto& b : refs.buffers) {
    if (b.name == "ema") {
      c.ema = ConstTensorsOf(*b.set);
    } else {
      c.optimizer_buffers[b.name] = ConstTensorsOf(*b.set);
    }
  }
  return c;
}

void LoadRunParams(const CheckpointReader& reader, RunState& state) {
  reader.ReadParams(MutableTensorsOf(state.params));
  if (state.ema) state.ema->params() = state.params;
}

void LoadRunState(const CheckpointReader& reader, RunState& state) {
  const CheckpointInfo& info = reader.info();
  CheckStoredChoice(info.path, "/optimizer attribute kind", "train.optimizer",
                    info.meta.optimizer_kind);
  if (!info.meta.state.best_metric.empty()) {  // "": no validation yet
    CheckStoredChoice(info.path, "/state attribute best_metric", "train.early_stop_metric",
                      info.meta.state.best_metric);
  }
  const OptimizerKind kind = state.optimizer.options().kind;
  if (ChoiceValue<OptimizerKind>(info.meta.optimizer_kind) != kind) {
    throw ConfigError("the checkpoint '" + info.path + "' was trained with train.optimizer " +
                      info.meta.optimizer_kind + ", the config has " +
                      std::string(ChoiceName(kind)) +
                      ": the optimizer cannot change when training continues (--init-from "
                      "starts a new run from the parameters alone)");
  }
  reader.ReadParams(MutableTensorsOf(state.params));
  const StateRefs refs = state.Refs();
  for (const auto& b : refs.buffers) {
    if (b.name == "ema") {
      if (info.has_ema) {
        reader.ReadEma(MutableTensorsOf(*b.set));
      } else {
        RNN_LOG(kWarn) << "the checkpoint '" << info.path
                       << "' has no moving average (/ema): train.ema_decay > 0 starts it from "
                          "the parameters";
        *b.set = state.params;
      }
      continue;
    }
    if (info.optimizer_buffers.count(b.name) == 0) {
      throw UserError("the checkpoint '" + info.path + "' is incomplete: it has no /optimizer/" +
                      b.name);
    }
    reader.ReadOptimizerBuffer(b.name, MutableTensorsOf(*b.set));
  }
  auto missing = [&](const std::string& name) {
    return UserError("the checkpoint '" + info.path + "' has no /optimizer attribute '" + name +
                     "' (written by another version of the trainer?)");
  };
  for (const auto& i : refs.ints) {
    const auto it = info.meta.optimizer_ints.find(i.name);
    if (it == info.meta.optimizer_ints.end()) throw missing(i.name);
    *i.value = it->second;
  }
  for (const auto& r : refs.reals) {
    const auto it = info.meta.optimizer_reals.find(r.name);
    if (it == info.meta.optimizer_reals.end()) throw missing(r.name);
    *r.value = it->second;
  }
  state.training = info.meta.state;
  state.LoadRng(info.path);
}

void BroadcastRunState(Comm& comm, RunState& state) {
  if (comm.size() == 1) return;
  BroadcastSet(comm, state.params);
  const StateRefs refs = state.Refs();
  for (const auto& b : refs.buffers) BroadcastSet(comm, *b.set);
  std::vector<std::int64_t> ints;
  for (const auto& i : refs.ints) ints.push_back(*i.value);
  std::vector<double> reals;
  for (const auto& r : refs.reals) reals.push_back(*r.value);
  comm.Broadcast(ints.data(), ints.size() * sizeof(std::int64_t), 0);
  comm.Broadcast(reals.data(), reals.size() * sizeof(double), 0);
  for (std::size_t k = 0; k < ints.size(); ++k) *refs.ints[k].value = ints[k];
  for (std::size_t k = 0; k < reals.size(); ++k) *refs.reals[k].value = reals[k];
  state.StoreRng();
  std::string training = PackTraining(state.training);
  comm.BroadcastString(training, 0);
  state.training = UnpackTraining(training);
  const auto& rng = state.training.rng.at("dropout");
  state.batches_done = rng.at(1);
}

}  // namespace rnnsearch
