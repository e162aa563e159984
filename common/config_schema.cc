// The field table, typed parsing of values and key suggestions.
#include "common/config_schema.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "common/error.h"
#include "common/utf8.h"

namespace rnnsearch::config_internal {
namespace {

std::vector<std::string> SplitChoices(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, '|')) out.push_back(item);
  return out;
}

std::vector<Field> BuildFields() {
  std::vector<Field> fields;
  auto base = [&](const char* sec, const char* name, Kind kind, const char* doc) -> Field& {
    Field f;
    f.section = sec;
    f.name = name;
    f.key = std::string(sec) + "." + name;
    f.kind = kind;
    f.doc = doc;
    fields.push_back(std::move(f));
    return fields.back();
  };
  // Each REG_* macro runs inside a block where S is the section struct,
  // `sec` its name and `sm` the member of Config that holds it.
#define REG_INT(name, def, lo, hi, doc)                                    \
  {                                                                        \
    Field& f = base(sec, #name, Kind::kInt, doc);                          \
    f.int_min = lo;                                                        \
    f.int_max = hi;                                                        \
    f.int_ref = [sm](Config& c) -> std::int64_t& { return (c.*sm).name; }; \
  }
#define REG_REAL(name, def, lo, hi, doc)                              \
  {                                                                   \
    Field& f = base(sec, #name, Kind::kReal, doc);                    \
    f.real_min = lo;                                                  \
    f.real_max = hi;                                                  \
    f.real_ref = [sm](Config& c) -> double& { return (c.*sm).name; }; \
  }
#define REG_BOOL(name, def, doc)                                    \
  {                                                                 \
    Field& f = base(sec, #name, Kind::kBool, doc);                  \
    f.bool_ref = [sm](Config& c) -> bool& { return (c.*sm).name; }; \
  }
#define REG_STR(name, def, doc)                                           \
  {                                                                       \
    Field& f = base(sec, #name, Kind::kStr, doc);                         \
    f.str_ref = [sm](Config& c) -> std::string& { return (c.*sm).name; }; \
  }
#define REG_CHOICE(name, def, choice_list, doc)                           \
  {                                                                       \
    Field& f = base(sec, #name, Kind::kChoice, doc);                      \
    f.choices = SplitChoices(choice_list);                                \
    f.str_ref = [sm](Config& c) -> std::string& { return (c.*sm).name; }; \
  }
#define REG_SECTION(section, FIELDS, Struct)                 \
  {                                                          \
    const char* sec = #section;                              \
    Struct Config::*sm = &Config::section;                   \
    FIELDS(REG_INT, REG_REAL, REG_BOOL, REG_STR, REG_CHOICE) \
  }
  RNNSEARCH_CONFIG_SECTIONS(REG_SECTION)
#undef REG_SECTION
#undef REG_INT
#undef REG_REAL
#undef REG_BOOL
#undef REG_STR
#undef REG_CHOICE
  return fields;
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::size_t EditDistance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

std::string Join(const std::vector<std::string>& items, const char* sep) {
  std::string out;
  for (const auto& s : items) {
    if (!out.empty()) out += sep;
    out += s;
  }
  return out;
}

}  // namespace

const std::vector<Field>& Fields() {
  static const std::vector<Field> fields = BuildFields();
  return fields;
}

const std::vector<std::string>& Sections() {
  static const std::vector<std::string> sections = [] {
    std::vector<std::string> out;
    for (const Field& f : Fields()) {
      if (std::find(out.begin(), out.end(), f.section) == out.end()) out.push_back(f.section);
    }
    return out;
  }();
  return sections;
}

const Field* FindField(const std::string& section, const std::string& name) {
  for (const Field& f : Fields()) {
    if (f.section == section && f.name == name) return &f;
  }
  return nullptr;
}

std::string ExpectedText(const Field& field) {
  switch (field.kind) {
    case Kind::kInt: return "an integer";
    case Kind::kReal: return "a number";
    case Kind::kBool: return "true or false";
    case Kind::kStr: return "a string";
    case Kind::kChoice: return "one of " + Join(field.choices, ", ");
  }
  return "?";
}

std::string RangeText(const Field& field) {
  if (field.kind == Kind::kInt) {
    return "an integer in [" + std::to_string(field.int_min) + ", " +
           std::to_string(field.int_max) + "]";
  }
  return "a number in [" + NumberText(field.real_min) + ", " + NumberText(field.real_max) + "]";
}

std::string NumberText(double v) {
  char buf[64];
  const auto result = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, result.ptr);
}

void SetFromText(const Field& field, Config& config, const std::string& text,
                 const std::string& where) {
  auto fail = [&](std::errc ec) {
    if (ec == std::errc::result_out_of_range) {
      throw ConfigError(where + ": " + field.key + ": expected " + RangeText(field) + ", found " +
                        text + " (out of range)");
    }
    throw ConfigError(where + ": " + field.key + ": expected " + ExpectedText(field) + ", found '" +
                      text + "'");
  };
  const char* first = text.data();
  const char* last = text.data() + text.size();
  switch (field.kind) {
    case Kind::kInt: {
      std::int64_t v = 0;
      if (!text.empty() && *first == '+') ++first;
      auto [ptr, ec] = std::from_chars(first, last, v);
      if (ec != std::errc() || ptr != last || text.empty()) fail(ptr == last ? ec : std::errc());
      field.int_ref(config) = v;
      return;
    }
    case Kind::kReal: {
      double v = 0;
      if (!text.empty() && *first == '+') ++first;
      auto [ptr, ec] = std::from_chars(first, last, v);
      if (ec != std::errc() || ptr != last || text.empty() || !std::isfinite(v)) {
        fail(ptr == last ? ec : std::errc());
      }
      field.real_ref(config) = v;
      return;
    }
    case Kind::kBool: {
      const std::string t = Lower(text);
      if (t == "true" || t == "yes" || t == "on") {
        field.bool_ref(config) = true;
      } else if (t == "false" || t == "no" || t == "off") {
        field.bool_ref(config) = false;
      } else {
        fail(std::errc());
      }
      return;
    }
    case Kind::kStr:
    case Kind::kChoice: {
      // ConfigToYaml (a checkpoint's /config) could not write it back.
      const std::size_t bad = FindInvalidUtf8(text);
      if (bad != std::string::npos) {
        char byte[8];
        std::snprintf(byte, sizeof byte, "0x%02x", static_cast<unsigned char>(text[bad]));
        throw ConfigError(where + ": " + field.key + ": expected UTF-8 text, found the byte " +
                          byte + " at offset " + std::to_string(bad));
      }
      field.str_ref(config) = text;  // choices are checked by Validate
      return;
    }
  }
}

std::string ValueText(const Field& field, const Config& config) {
  Config& c = const_cast<Config&>(config);  // the refs only read here
  switch (field.kind) {
    case Kind::kInt: return std::to_string(field.int_ref(c));
    case Kind::kReal: {
      // Shortest text that reads back as the same double; plain decimals
      // for ordinary magnitudes (0.0005, not 5e-04).
      const double v = field.real_ref(c);
      const double mag = std::abs(v);
      const auto format = (v == 0 || (mag >= 1e-4 && mag < 1e15)) ? std::chars_format::fixed
                                                                  : std::chars_format::scientific;
      char buf[128];
      auto [ptr, ec] = std::to_chars(buf, buf + sizeof buf, v, format);
      std::string s(buf, ptr);
      if (s.find_first_of(".eE") == std::string::npos) s += ".0";
      return s;
    }
    case Kind::kBool: return field.bool_ref(c) ? "true" : "false";
    case Kind::kChoice: return field.str_ref(c);
    case Kind::kStr: {
      YAML::Emitter out;
      out << YAML::DoubleQuoted << field.str_ref(c);
      return out.c_str();
    }
  }
  return "";
}

std::string UnknownKeyMessage(const std::string& where, const std::string& section,
                              const std::string& name) {
  std::string msg = where + ": unknown key '" + section + "." + name + "'";
  // The same name in another section is the likeliest mistake.
  for (const Field& f : Fields()) {
    if (f.name == name) return msg + " (did you mean '" + f.key + "'?)";
  }
  std::vector<std::string> keys;
  for (const Field& f : Fields()) keys.push_back(f.key);
  const std::string guess = ClosestMatch(section + "." + name, keys);
  if (!guess.empty()) return msg + " (did you mean '" + guess + "'?)";
  std::vector<std::string> in_section;
  for (const Field& f : Fields()) {
    if (f.section == section) in_section.push_back(f.name);
  }
  return msg + "; known keys of '" + section + "': " + Join(in_section, ", ");
}

std::string UnknownSectionMessage(const std::string& where, const std::string& section) {
  std::string msg = where + ": unknown section '" + section + "'";
  const std::string guess = ClosestMatch(section, Sections());
  if (!guess.empty()) msg += " (did you mean '" + guess + "'?)";
  return msg + "; sections are " + Join(Sections(), ", ");
}

}  // namespace rnnsearch::config_internal

namespace rnnsearch {

std::string ClosestMatch(const std::string& word, const std::vector<std::string>& candidates) {
  std::string best;
  std::size_t best_distance = std::string::npos;
  for (const std::string& c : candidates) {
    const std::size_t d =
        config_internal::EditDistance(config_internal::Lower(word), config_internal::Lower(c));
    if (d < best_distance) {
      best_distance = d;
      best = c;
    }
  }
  const std::size_t limit = std::max<std::size_t>(2, word.size() / 3);
  return best_distance <= limit ? best : std::string();
}

}  // namespace rnnsearch
