// The memory estimate and check of `rnnsearch train` (trainer/model/memory.h).
#include "trainer/model/memory.h"

#include <algorithm>
#include <cstdio>
#include <dnnl.hpp>
#include <filesystem>
#include <fstream>
#include <limits>
#include <new>
#include <sstream>

#include "common/error.h"

namespace rnnsearch {
namespace {

namespace fs = std::filesystem;

constexpr double kFloat = 4;
constexpr double kShapeCache = 2;       // ModelOptions::shape_cache
constexpr double kReadoutRows = 1024;   // ModelOptions::readout_rows
constexpr double kEncoderPerGate = 24;  // floats per B T G He of an encoder layer (model.h)

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The first number in a file (-1 if none, e.g. cgroup v2's "max").
std::int64_t ReadNumber(const fs::path& path) {
  std::ifstream in(path);
  std::int64_t value = -1;
  if (!(in >> value)) return -1;
  return value;
}

std::string WithCommas(std::int64_t n) {
  std::string s = std::to_string(n), out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (i > 0 && (s.size() - i) % 3 == 0) out += ',';
    out += s[i];
  }
  return out;
}

}  // namespace

std::int64_t CgroupMemoryRoom(const std::string& proc_self_cgroup, const std::string& cgroup_root,
                              std::string* source) {
  std::int64_t room = -1;
  std::istringstream in(proc_self_cgroup);
  for (std::string line; std::getline(in, line);) {
    const auto a = line.find(':'), b = line.find(':', a + 1);  // ID:CONTROLLERS:PATH
    if (a == std::string::npos || b == std::string::npos) continue;
    const std::string controllers = "," + line.substr(a + 1, b - a - 1) + ",";
    const bool v2 = controllers == ",,";
    if (!v2 && controllers.find(",memory,") == std::string::npos) continue;
    const std::string relative = fs::path(line.substr(b + 1)).relative_path().string();
    const fs::path top(cgroup_root);
    const std::vector<fs::path> roots =
        v2 ? std::vector<fs::path>{top, top / "unified"} : std::vector<fs::path>{top / "memory"};
    const char* limit_name = v2 ? "memory.max" : "memory.limit_in_bytes";
    const char* usage_name = v2 ? "memory.current" : "memory.usage_in_bytes";
    for (const fs::path& root : roots) {
      for (fs::path dir = (root / relative).lexically_normal();; dir = dir.parent_path()) {
        const std::int64_t limit = ReadNumber(dir / limit_name);
        const std::int64_t usage = ReadNumber(dir / usage_name);
        if (limit >= 0 && usage >= 0 && (room < 0 || limit - usage < room)) {
          room = std::max<std::int64_t>(0, limit - usage);
          *source = "the memory cgroup's limit " + FormatBytes(static_cast<double>(limit)) +
                    " less its usage " + FormatBytes(static_cast<double>(usage)) + ", " +
                    (dir / limit_name).string();
        }
        if (dir == root || dir.string().size() <= root.string().size()) break;
      }
    }
  }
  return room;
}

std::string FormatBytes(double bytes) {
  char buf[64];
  if (bytes >= 1024.0 * 1024 * 1024 * 1024) {
    std::snprintf(buf, sizeof buf, "%.1f TB", bytes / (1024.0 * 1024 * 1024 * 1024));
  } else if (bytes >= 1024.0 * 1024 * 1024) {
    std::snprintf(buf, sizeof buf, "%.1f GB", bytes / (1024.0 * 1024 * 1024));
  } else {
    std::snprintf(buf, sizeof buf, "%.1f MB", bytes / (1024.0 * 1024));
  }
  return buf;
}

std::int64_t ParameterFloats(const ModelDims& dims) {
  std::int64_t floats = 0;
  for (const ParamSpec& s : ParamSpecs(dims)) floats += (s.size() + 15) / 16 * 16;
  return floats;
}

MemoryEstimate EstimateTrainingMemory(const Config& config, std::int64_t src_vocab,
                                      std::int64_t tgt_vocab, int ranks, std::int64_t longest) {
  const ModelDims d = ModelDims::From(config.model, src_vocab, tgt_vocab);
  MemoryEstimate m;
  m.parameters = ParameterFloats(d);
  m.state_copies =
      2 + (ChoiceValue<OptimizerKind>(config.train.optimizer) == OptimizerKind::kAdam ? 2 : 0) +
      (config.train.ema_decay > 0 ? 1 : 0);
  m.state_bytes = kFloat * static_cast<double>(m.parameters) * m.state_copies;

  const DataConfig& data = config.data;
  m.steps = data.max_len + 1;  // </s> included
  if (longest > 0) m.steps = std::min(m.steps, longest);
  std::int64_t b = data.batch_tokens > 0 ? std::max<std::int64_t>(1, data.batch_tokens / m.steps)
                                         : data.batch_sentences;
  if (data.batch_sentences > 0) b = std::min(b, data.batch_sentences);
  m.batch_sentences = (b + ranks - 1) / ranks;

  const double B = static_cast<double>(m.batch_sentences), T = static_cast<double>(m.steps);
  const double E = static_cast<double>(d.E), He = static_cast<double>(d.He);
  const double Hd = static_cast<double>(d.Hd), A = static_cast<double>(d.A);
  const double O = static_cast<double>(d.O), Vt = static_cast<double>(d.Vt);
  const double G = static_cast<double>(d.gates()), C = 2 * He;
  const double L = static_cast<double>(d.enc_layers);
  // The model's buffers (model_parts.h): x, y with masks and gradients;
  // h per layer and two layer gradients; mean, s0; states, contexts and
  // their gradients; alphas; the readout dropout mask; the target ids.
  double floats = 6 * T * B * E + (L + 2) * T * B * C + 2 * B * C + B * Hd + 2 * (T + 1) * B * Hd +
                  2 * T * B * C + T * B * T + T * B * O + T * B;
  // One entry of each shape cache: the encoder layers (oneDNN), the
  // decoder cell and the attention.
  double encoder = 0;
  for (std::int64_t layer = 0; layer < d.enc_layers; ++layer) {
    const double in = layer == 0 ? E : C;
    encoder += kEncoderPerGate * B * T * G * He + 2 * B * T * in + 4 * G * He * (in + He);
  }
  const double keys = d.attention == AttentionScore::kAdditive  ? A
                      : d.attention == AttentionScore::kGeneral ? Hd
                                                                : 0;
  const double query = d.attention == AttentionScore::kAdditive ? A : 0;
  const double decoder = 4 * B * T * G * Hd + 2 * T * B * keys + 2 * T * B * query + B * T + B * A;
  floats += kShapeCache * (encoder + decoder);
  floats += kReadoutRows * (3 * O + Vt);
  m.activation_bytes = kFloat * floats;
  return m;
}

std::int64_t ParseMemAvailable(const std::string& meminfo) {
  std::istringstream in(meminfo);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("MemAvailable:", 0) != 0) continue;
    std::istringstream fields(line.substr(13));
    std::int64_t kb = -1;
    if (fields >> kb) return kb * 1024;
  }
  return -1;
}

AvailableMemory MachineAvailableMemory() {
  AvailableMemory a;
  a.bytes = ParseMemAvailable(ReadAll("/proc/meminfo"));
  if (a.bytes >= 0) a.source = "MemAvailable in /proc/meminfo";
  std::string source;
  const std::int64_t room =
      CgroupMemoryRoom(ReadAll("/proc/self/cgroup"), "/sys/fs/cgroup", &source);
  if (room >= 0 && (a.bytes < 0 || room < a.bytes)) {
    a.bytes = room;
    a.source = source;
  }
  return a;
}

void CheckMemoryFits(const MemoryEstimate& e, int ranks_here, const AvailableMemory& available) {
  const double need = e.total() * ranks_here;
  if (available.bytes < 0 || need <= static_cast<double>(available.bytes)) return;
  std::ostringstream out;
  out << "the run needs about " << FormatBytes(need) << " of memory";
  if (ranks_here > 1)
    out << " (" << ranks_here << " ranks on this node, " << FormatBytes(e.total()) << " each)";
  out << ", but " << FormatBytes(static_cast<double>(available.bytes)) << " is available ("
      << available.source << "). Estimate per rank: " << FormatBytes(e.state_bytes) << " for "
      << WithCommas(e.parameters) << " parameters x " << e.state_copies
      << " copies (parameters, gradients, train.optimizer's state, train.ema_decay's average; "
         "sized by model.emb_dim, model.enc_dim, model.dec_dim, model.att_dim, "
         "model.readout_dim, model.enc_layers and the vocabularies), "
      << FormatBytes(e.activation_bytes) << " for the activations of a batch of "
      << e.batch_sentences << " sentences x " << e.steps
      << " steps (data.batch_tokens, data.batch_sentences, data.max_len and the model's sizes; "
         "more ranks split the batch, not the parameters). Make the model or the batch smaller";
  throw UserError(out.str());
}

void CheckParametersFit(const ModelDims& dims, int ranks_here, const AvailableMemory& available,
                        const std::string& what) {
  const double need = kFloat * static_cast<double>(ParameterFloats(dims)) * ranks_here;
  if (available.bytes < 0 || need <= static_cast<double>(available.bytes)) return;
  throw UserError(
      what + " has " + WithCommas(ParameterFloats(dims)) + " parameters (model.emb_dim " +
      std::to_string(dims.E) + ", model.enc_dim " + std::to_string(dims.He) + ", model.dec_dim " +
      std::to_string(dims.Hd) + ", model.enc_layers " + std::to_string(dims.enc_layers) +
      ", vocabularies " + std::to_string(dims.Vs) + " and " + std::to_string(dims.Vt) +
      "): " + FormatBytes(need) + " for " + std::to_string(ranks_here) +
      " rank(s) on this node, but " + FormatBytes(static_cast<double>(available.bytes)) +
      " is available (" + available.source + ")");
}

void Allocating(const std::string& what, const std::function<void()>& allocate) {
  auto fail = [&](const std::string& error) {
    const AvailableMemory now = MachineAvailableMemory();
    throw UserError("out of memory while allocating " + what + " (" + error + ")" +
                    (now.bytes >= 0 ? "; " + FormatBytes(static_cast<double>(now.bytes)) +
                                          " is available now (" + now.source + ")"
                                    : std::string()));
  };
  try {
    allocate();
  } catch (const std::bad_alloc& e) {
    fail(e.what());
  } catch (const dnnl::error& e) {
    if (e.status != dnnl_out_of_memory) throw;
    fail(e.what());
  }
}

}  // namespace rnnsearch
