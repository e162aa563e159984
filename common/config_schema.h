// Internal to common/config*.cc: the field table generated from the
// X-macro lists of config.h, with typed access to each field of a Config.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/config.h"

namespace rnnsearch::config_internal {

enum class Kind { kInt, kReal, kBool, kStr, kChoice };

struct Field {
  std::string section;
  std::string name;
  std::string key;  // section.name
  Kind kind;
  std::string doc;
  std::vector<std::string> choices;  // kChoice
  std::int64_t int_min = 0, int_max = 0;
  double real_min = 0, real_max = 0;
  std::function<std::int64_t&(Config&)> int_ref;
  std::function<double&(Config&)> real_ref;
  std::function<bool&(Config&)> bool_ref;
  std::function<std::string&(Config&)> str_ref;  // kStr and kChoice
};

// Every field, in declaration order.
const std::vector<Field>& Fields();
// The section names, in declaration order.
const std::vector<std::string>& Sections();
// The field with this section and name, or nullptr.
const Field* FindField(const std::string& section, const std::string& name);

// What a value of this field looks like, for messages ("an integer").
std::string ExpectedText(const Field& field);
// A number field's range, for messages ("an integer in [1, 65536]").
std::string RangeText(const Field& field);
// The shortest text that reads back as `v` ("0.999999999", "1e+09").
std::string NumberText(double v);
// Sets the field from scalar text; throws ConfigError "WHERE: KEY: expected
// ..., found '...'" when the text is not of the field's type (strings must
// be valid UTF-8), and "WHERE: KEY: expected RANGE, found TEXT (out of
// range)" for a number too large for any value of the type (a 20-digit
// integer).
void SetFromText(const Field& field, Config& config, const std::string& text,
                 const std::string& where);
// The field's value as YAML scalar text (strings double-quoted).
std::string ValueText(const Field& field, const Config& config);

// "WHERE: unknown key 'section.name' (did you mean ...?)", suggesting the
// same name in another section, or else the closest key.
std::string UnknownKeyMessage(const std::string& where, const std::string& section,
                              const std::string& name);
std::string UnknownSectionMessage(const std::string& where, const std::string& section);

}  // namespace rnnsearch::config_internal
