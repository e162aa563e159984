// Whole loads (resume, --init-from) and the checks a trainer makes before
// it trusts a checkpoint: the same model.* keys, the same vocabularies.
#include <cstdio>

#include "common/error.h"
#include "io/checkpoint.h"

namespace rnnsearch {
namespace {

[[maybe_unused]] std::string RealText(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

std::string Describe(const Vocab& v) {
  return v.kind_name() + ", " + std::to_string(v.size()) + " ids, hash " + v.hash_hex();
}

}  // namespace

CheckpointInfo LoadCheckpoint(const std::string& path, const CheckpointTargets& targets) {
  CheckpointReader reader(path);
  reader.ReadParams(targets.params);
  for (const auto& [name, out] : targets.optimizer_buffers) reader.ReadOptimizerBuffer(name, out);
  if (targets.ema) reader.ReadEma(*targets.ema);
  return reader.info();
}

CheckpointInfo LoadParams(const std::string& path, const MutableTensors& params) {
  CheckpointReader reader(path);
  reader.ReadParams(params);
  return reader.info();
}

std::vector<std::string> ModelDifferences(const ModelConfig& checkpoint,
                                          const ModelConfig& config) {
  std::vector<std::string> out;
  auto compare = [&](const char* key, const std::string& a, const std::string& b) {
    if (a != b)
      out.push_back("model." + std::string(key) + ": checkpoint has " + a + ", config has " + b);
  };
#define D_INT(name, ...) \
  compare(#name, std::to_string(checkpoint.name), std::to_string(config.name));
#define D_REAL(name, ...) compare(#name, RealText(checkpoint.name), RealText(config.name));
#define D_BOOL(name, ...) \
  compare(#name, checkpoint.name ? "true" : "false", config.name ? "true" : "false");
#define D_STR(name, ...) compare(#name, checkpoint.name, config.name);
  RNNSEARCH_MODEL_FIELDS(D_INT, D_REAL, D_BOOL, D_STR, D_STR)
#undef D_INT
#undef D_REAL
#undef D_BOOL
#undef D_STR
  return out;
}

void CheckSameModel(const std::string& path, const ModelConfig& checkpoint,
                    const ModelConfig& config) {
  const std::vector<std::string> diffs = ModelDifferences(checkpoint, config);
  if (diffs.empty()) return;
  std::string text;
  for (const std::string& d : diffs) text += (text.empty() ? "" : "; ") + d;
  throw ConfigError("the checkpoint '" + path + "' holds a model of another shape than the " +
                    "config describes (the model cannot change when training continues): " + text);
}

void CheckStoredChoice(const std::string& path, const std::string& where, std::string_view key,
                       const std::string& value) {
  if (IsChoice(ChoicesText(key), value)) return;
  throw UserError("the checkpoint '" + path + "' has " + where + " '" + value + "', expected " +
                  std::string(ChoicesText(key)) + " (" + std::string(key) + ")");
}

void CheckSameVocabularies(const std::string& path, const CheckpointMeta& checkpoint,
                           const Vocab& src, const Vocab& tgt) {
  auto check = [&](const char* side, const Vocab& stored, const Vocab& corpus) {
    if (stored == corpus) return;
    throw UserError("the checkpoint '" + path + "' was trained with another " + side +
                    " vocabulary than the corpus has: checkpoint " + Describe(stored) +
                    "; corpus " + Describe(corpus));
  };
  check("source", checkpoint.src_vocab, src);
  check("target", checkpoint.tgt_vocab, tgt);
}

}  // namespace rnnsearch
