// LoadTranslationModel (trainer/decode/translation_model.h).
#include "trainer/decode/translation_model.h"

#include <algorithm>
#include <filesystem>
#include <optional>
#include <regex>
#include <tuple>
#include <utility>
#include <vector>

#include "common/config.h"
#include "common/error.h"
#include "common/log.h"
#include "io/checkpoint.h"
#include "io/collective.h"
#include "trainer/model/memory.h"
#include "trainer/model/param_tensors.h"

namespace rnnsearch {
namespace {

namespace fs = std::filesystem;

// best.h5, then ckpt-<step>.h5 newest first; the first that opens.
CheckpointReader OpenRunCheckpoint(const std::string& dir, const std::string& who) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    throw UserError(who + ": --run-dir " + dir +
                    (fs::exists(dir, ec) ? ": not a directory" : ": no such directory"));
  }
  std::vector<std::pair<std::int64_t, std::string>> steps;
  const std::regex name("ckpt-([0-9]+)\\.h5");
  for (const fs::directory_entry& e : fs::directory_iterator(dir, ec)) {
    std::smatch m;
    const std::string file = e.path().filename().string();
    if (std::regex_match(file, m, name)) {
      steps.emplace_back(std::stoll(m[1].str()), e.path().string());
    }
  }
  if (ec) throw UserError(who + ": --run-dir " + dir + ": " + ec.message());
  std::sort(steps.begin(), steps.end(), std::greater<>());
  std::vector<std::string> candidates;
  const std::string best = (fs::path(dir) / "best.h5").string();
  if (fs::exists(best, ec)) candidates.push_back(best);
  for (const auto& s : steps) candidates.push_back(s.second);
  for (const std::string& path : candidates) {
    try {
      return CheckpointReader(path);  // checks the seal: every byte of the file
    } catch (const UserError& e) {
      RNN_LOG(kWarn) << "skipping the checkpoint '" << path << "': " << e.what();
    }
  }
  throw UserError(who + ": --run-dir " + dir +
                  (candidates.empty() ? " has no checkpoint (best.h5 or ckpt-<step>.h5)"
                                      : " has no valid checkpoint (every one was skipped)"));
}

// data.max_len of the checkpoint's config, 0 if it cannot be read (a
// config written by another version).
std::int64_t TrainMaxLen(const std::string& config_yaml, const std::string& path) {
  try {
    return ConfigFromYamlText(config_yaml, path + ":/config").data.max_len;
  } catch (const UserError&) {
    return 0;
  }
}

}  // namespace

TranslationModel LoadTranslationModel(const std::string& model_path, const std::string& run_dir,
                                      const std::string& weights, Comm& comm,
                                      const std::string& command) {
  const std::string who = "rnnsearch " + command;
  TranslationModel m;
  std::optional<CheckpointReader> reader;
  std::string model_yaml, src_kind, src_bytes, tgt_kind, tgt_bytes;
  std::int64_t sizes[5] = {0, 0, 0, 0, 0};  // Vs, Vt, step, ema, train max_len
  RunCollectively(comm, [&] {
    if (comm.rank() != 0) return;
    if (!model_path.empty()) {
      reader.emplace(model_path);
    } else {
      reader.emplace(OpenRunCheckpoint(run_dir, who));
    }
    const CheckpointInfo& info = reader->info();
    const bool ema = weights == "ema" || (weights == "auto" && info.has_ema);
    if (ema && !info.has_ema) {
      throw UserError(who + ": --weights ema: the checkpoint '" + info.path +
                      "' has no moving average of the parameters (train.ema_decay was 0); use "
                      "--weights params");
    }
    Config c;
    c.model = info.meta.model;
    model_yaml = ConfigToYaml(c);
    src_kind = info.meta.src_vocab.kind_name();
    src_bytes = info.meta.src_vocab.bytes();
    tgt_kind = info.meta.tgt_vocab.kind_name();
    tgt_bytes = info.meta.tgt_vocab.bytes();
    m.path = info.path;
    sizes[0] = info.meta.src_vocab.size();
    sizes[1] = info.meta.tgt_vocab.size();
    sizes[2] = info.meta.state.step;
    sizes[3] = ema ? 1 : 0;
    sizes[4] = TrainMaxLen(info.meta.config_yaml, info.path);
  });
  comm.Broadcast(sizes, sizeof sizes, 0);
  for (std::string* s : {&model_yaml, &src_kind, &src_bytes, &tgt_kind, &tgt_bytes, &m.path}) {
    comm.BroadcastString(*s, 0);
  }
  RunCollectively(comm, [&] {
    const ModelConfig model = ConfigFromYamlText(model_yaml, m.path + ":/model").model;
    m.src_vocab = Vocab::Deserialize(src_kind, std::move(src_bytes), m.path + ":/vocab/src");
    m.tgt_vocab = Vocab::Deserialize(tgt_kind, std::move(tgt_bytes), m.path + ":/vocab/tgt");
    const ModelDims dims = ModelDims::From(model, sizes[0], sizes[1]);
    CheckParametersFit(dims, comm.local_size(), MachineAvailableMemory(),
                       who + ": the checkpoint '" + m.path + "'");
    Allocating("the parameters of '" + m.path + "'", [&] { m.params = ParamSet(dims); });
    if (comm.rank() != 0) return;
    if (sizes[3] != 0) {
      reader->ReadEma(MutableTensorsOf(m.params));
    } else {
      reader->ReadParams(MutableTensorsOf(m.params));
    }
  });
  comm.Broadcast(m.params.data(), sizeof(float) * m.params.size(), 0);
  m.step = sizes[2];
  m.ema = sizes[3] != 0;
  m.train_max_len = sizes[4];
  return m;
}

std::vector<TranslationModel> LoadEnsembleMembers(const TranslationModel& model,
                                                  const std::vector<std::string>& paths,
                                                  const std::string& weights, Comm& comm,
                                                  const std::string& command) {
  std::vector<TranslationModel> others;
  for (const std::string& path : paths) {
    others.push_back(LoadTranslationModel(path, "", weights, comm, command));
    const TranslationModel& other = others.back();
    for (const auto& [side, mine, theirs] :
         {std::tuple{"source", &model.src_vocab, &other.src_vocab},
          std::tuple{"target", &model.tgt_vocab, &other.tgt_vocab}}) {
      if (!(*mine == *theirs)) {
        throw UserError("rnnsearch " + command + ": --ensemble '" + path + "': its " + side +
                        " vocabulary (" + theirs->kind_name() + ", " +
                        std::to_string(theirs->size()) + " ids, hash " + theirs->hash_hex() +
                        ") differs from that of '" + model.path + "' (" + mine->kind_name() + ", " +
                        std::to_string(mine->size()) + " ids, hash " + mine->hash_hex() +
                        "): an ensemble needs the same vocabularies");
      }
    }
  }
  return others;
}

void LogLoadedModels(const std::string& command, const TranslationModel& model,
                     const std::vector<TranslationModel>& others) {
  auto weights = [](const TranslationModel& m) { return m.ema ? "moving average" : "parameters"; };
  RNN_LOG(kInfo) << command << ": " << model.path << " (step " << model.step << ", "
                 << weights(model) << ")";
  for (const TranslationModel& other : others) {
    RNN_LOG(kInfo) << command << ": ensemble member " << other.path << " (step " << other.step
                   << ", " << weights(other) << ")";
  }
}

}  // namespace rnnsearch
