// Reading, overriding, validating and writing the Config.
#include "common/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <set>
#include <sstream>
#include <stdexcept>

#include "common/config_schema.h"
#include "common/error.h"
#include "common/file_read.h"

namespace rnnsearch {

using config_internal::Field;
using config_internal::Fields;
using config_internal::FindField;
using config_internal::Kind;

namespace {

std::string Where(const std::string& path, const YAML::Mark& mark) {
  if (mark.is_null()) return path;
  return path + ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
}

const char* NodeKind(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map: return "a map";
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Null: return "nothing";
    default: return "a scalar";
  }
}

// The text of a map key, which YAML allows to be a list or a map ("? [a]").
std::string KeyText(const YAML::Node& key, const std::string& where, const char* what) {
  if (!key.IsScalar()) {
    throw ConfigError(where + ": expected " + what + ", found " + NodeKind(key) + " as a key");
  }
  return key.Scalar();
}

// The text of line `line` (0-based) of `text`.
std::string LineOf(const std::string& text, int line) {
  std::istringstream in(text);
  std::string s;
  for (int i = 0; i <= line && std::getline(in, s); ++i) {
  }
  return s;
}

void MergeYaml(const std::string& text, const std::string& path, Config& config,
               ConfigOrigins& origins) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    std::string msg = Where(path, e.mark) + ": malformed YAML: " + e.msg;
    const std::string line = e.mark.is_null() ? "" : LineOf(text, e.mark.line);
    if (line.find('\t') != std::string::npos) {
      msg += " (this line contains a tab; YAML indentation must use spaces)";
    }
    throw ConfigError(msg);
  }
  if (root.IsNull()) return;  // an empty file changes nothing
  if (!root.IsMap()) {
    throw ConfigError(Where(path, root.Mark()) +
                      ": expected a map of sections (model, data, train, checkpoint, dist), "
                      "found " +
                      NodeKind(root));
  }
  std::set<std::string> seen_sections;
  for (const auto& sec : root) {
    const std::string where = Where(path, sec.first.Mark());
    const std::string section = KeyText(sec.first, where, "a section name");
    const auto& sections = config_internal::Sections();
    if (std::find(sections.begin(), sections.end(), section) == sections.end()) {
      throw ConfigError(config_internal::UnknownSectionMessage(where, section));
    }
    if (!seen_sections.insert(section).second) {
      throw ConfigError(where + ": section '" + section + "' appears twice");
    }
    if (sec.second.IsNull()) continue;
    if (!sec.second.IsMap()) {
      throw ConfigError(where + ": section '" + section + "': expected a map of keys, found " +
                        NodeKind(sec.second));
    }
    std::set<std::string> seen_keys;
    for (const auto& kv : sec.second) {
      const std::string key_where = Where(path, kv.first.Mark());
      const std::string name = KeyText(kv.first, key_where, "a key name");
      const Field* field = FindField(section, name);
      if (field == nullptr) {
        throw ConfigError(config_internal::UnknownKeyMessage(key_where, section, name));
      }
      if (!seen_keys.insert(name).second) {
        throw ConfigError(key_where + ": key '" + field->key + "' appears twice");
      }
      const YAML::Node& value = kv.second;
      const std::string value_where = Where(path, value.Mark());
      if (value.IsNull() && field->kind == Kind::kStr) {
        field->str_ref(config).clear();
      } else if (!value.IsScalar()) {
        throw ConfigError(value_where + ": " + field->key + ": expected " +
                          config_internal::ExpectedText(*field) + ", found " + NodeKind(value));
      } else {
        config_internal::SetFromText(*field, config, value.Scalar(), value_where);
      }
      origins[field->key] = value_where;
    }
  }
}

}  // namespace

const std::vector<ConfigFieldInfo>& ConfigFields() {
  static const std::vector<ConfigFieldInfo> infos = [] {
    std::vector<ConfigFieldInfo> out;
    const Config defaults;
    for (const Field& f : Fields()) {
      ConfigFieldInfo info;
      info.key = f.key;
      switch (f.kind) {
        case Kind::kInt:
          info.type = "integer " + std::to_string(f.int_min) + ".." + std::to_string(f.int_max);
          break;
        case Kind::kReal:
          info.type = "number " + config_internal::NumberText(f.real_min) + ".." +
                      config_internal::NumberText(f.real_max);
          break;
        case Kind::kBool: info.type = "boolean"; break;
        case Kind::kStr: info.type = "string"; break;
        case Kind::kChoice:
          for (const auto& c : f.choices) info.type += (info.type.empty() ? "" : "|") + c;
          break;
      }
      info.default_text = config_internal::ValueText(f, defaults);
      info.description = f.doc;
      out.push_back(std::move(info));
    }
    return out;
  }();
  return infos;
}

void MergeConfigFile(const std::string& path, Config& config, ConfigOrigins& origins) {
  MergeYaml(ReadWholeFile(path, "config file"), path, config, origins);
}

void ApplyConfigOverride(const std::string& assignment, Config& config, ConfigOrigins& origins) {
  const auto eq = assignment.find('=');
  const auto dot = assignment.find('.');
  if (eq == std::string::npos || dot == std::string::npos || dot > eq) {
    throw UsageError("--set '" + assignment + "': expected section.key=value, for example " +
                     "--set train.lr=0.001");
  }
  const std::string section = assignment.substr(0, dot);
  const std::string name = assignment.substr(dot + 1, eq - dot - 1);
  std::string value = assignment.substr(eq + 1);
  const std::string where = "--set " + assignment;
  const auto& sections = config_internal::Sections();
  if (std::find(sections.begin(), sections.end(), section) == sections.end()) {
    throw ConfigError(config_internal::UnknownSectionMessage(where, section));
  }
  const Field* field = FindField(section, name);
  if (field == nullptr) throw ConfigError(config_internal::UnknownKeyMessage(where, section, name));
  // Accept YAML-style quoting on the command line: --set data.train="a b".
  if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
      value.back() == value.front()) {
    value = value.substr(1, value.size() - 2);
  }
  config_internal::SetFromText(*field, config, value, where);
  origins[field->key] = where;
}

void Validate(const Config& config, const ConfigOrigins& origins) {
  auto origin = [&](const std::string& key) {
    auto it = origins.find(key);
    return it == origins.end() ? std::string("default") : it->second;
  };
  Config& c = const_cast<Config&>(config);  // the field refs only read here
  for (const Field& f : Fields()) {
    std::string found;
    bool bad = false;
    switch (f.kind) {
      case Kind::kInt: {
        const std::int64_t v = f.int_ref(c);
        bad = v < f.int_min || v > f.int_max;
        found = std::to_string(v);
        break;
      }
      case Kind::kReal: {
        const double v = f.real_ref(c);
        bad = !(v >= f.real_min && v <= f.real_max);
        found = config_internal::ValueText(f, config);
        break;
      }
      case Kind::kChoice: {
        const std::string& v = f.str_ref(c);
        bad = std::find(f.choices.begin(), f.choices.end(), v) == f.choices.end();
        found = "'" + v + "'";
        if (bad) {
          throw ConfigError(origin(f.key) + ": " + f.key + ": expected " +
                            config_internal::ExpectedText(f) + ", found " + found);
        }
        break;
      }
      case Kind::kBool:
      case Kind::kStr: break;
    }
    if (bad) {
      throw ConfigError(origin(f.key) + ": " + f.key + ": expected " +
                        config_internal::RangeText(f) + ", found " + found);
    }
  }
  // Rules between fields.
  const ModelConfig& m = config.model;
  if (m.attention == "dot" && m.dec_dim != 2 * m.enc_dim) {
    throw ConfigError(origin("model.attention") + ": model.attention: 'dot' needs " +
                      "model.dec_dim = 2 * model.enc_dim, found dec_dim " +
                      std::to_string(m.dec_dim) + " and enc_dim " + std::to_string(m.enc_dim));
  }
  if (m.tie_target_embeddings && m.readout_dim != m.emb_dim) {
    throw ConfigError(origin("model.tie_target_embeddings") +
                      ": model.tie_target_embeddings: needs model.readout_dim = model.emb_dim, " +
                      "found readout_dim " + std::to_string(m.readout_dim) + " and emb_dim " +
                      std::to_string(m.emb_dim));
  }
  if (config.train.lr_schedule == "inverse_sqrt" && config.train.warmup_steps == 0) {
    throw ConfigError(origin("train.warmup_steps") + ": train.warmup_steps: the inverse_sqrt " +
                      "schedule (train.lr_schedule) needs at least 1 warm-up step, found 0");
  }
  const DataConfig& d = config.data;
  if (d.batch_tokens == 0 && d.batch_sentences == 0) {
    throw ConfigError(origin("data.batch_tokens") +
                      ": data.batch_tokens: expected data.batch_tokens or data.batch_sentences " +
                      "to be positive, found both 0");
  }
  if (d.batch_tokens > 0 && d.batch_tokens < d.max_len + 1) {
    throw ConfigError(origin("data.batch_tokens") + ": data.batch_tokens: expected at least " +
                      "data.max_len + 1 = " + std::to_string(d.max_len + 1) +
                      " so that the longest sentence fits in a batch, found " +
                      std::to_string(d.batch_tokens));
  }
}

Config LoadConfig(const std::string& file, const std::vector<std::string>& overrides) {
  Config config;
  ConfigOrigins origins;
  if (!file.empty()) MergeConfigFile(file, config, origins);
  for (const std::string& o : overrides) ApplyConfigOverride(o, config, origins);
  Validate(config, origins);
  return config;
}

Config ConfigFromYamlText(const std::string& text, const std::string& name) {
  Config config;
  ConfigOrigins origins;
  MergeYaml(text, name, config, origins);
  Validate(config, origins);
  return config;
}

std::string ConfigToYaml(const Config& config) {
  std::ostringstream out;
  out << "# rnnsearch configuration. Keys and defaults: rnnsearch train --help.\n";
  std::string section;
  for (const Field& f : Fields()) {
    if (f.section != section) {
      section = f.section;
      out << section << ":\n";
    }
    std::string line = "  " + f.name + ": " + config_internal::ValueText(f, config);
    if (line.size() < 40) line.resize(40, ' ');
    out << line << "  # " << f.doc;
    if (f.kind == Kind::kChoice) {
      out << " (";
      for (std::size_t i = 0; i < f.choices.size(); ++i) out << (i ? " | " : "") << f.choices[i];
      out << ")";
    }
    out << "\n";
  }
  return out.str();
}

void ThrowNotAChoice(std::string_view key, std::string_view value) {
  throw std::invalid_argument(std::string(key) + ": expected " + std::string(ChoicesText(key)) +
                              ", found '" + std::string(value) + "'");
}

}  // namespace rnnsearch
