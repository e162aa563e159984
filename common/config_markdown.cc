#include "common/config_markdown.h"

#include <sstream>

#include "common/config.h"
#include "common/config_schema.h"

namespace rnnsearch {
namespace {

using config_internal::Field;
using config_internal::Kind;

// Text for a table cell: a '|' would end the cell and '<unk>' would be read
// as an HTML tag.
std::string Cell(const std::string& text) {
  std::string out;
  for (const char c : text) {
    if (c == '|' || c == '<') out += '\\';
    out += c;
  }
  return out;
}

std::string TypeText(const Field& f) {
  switch (f.kind) {
    case Kind::kInt:
      return "integer, " + std::to_string(f.int_min) + " to " + std::to_string(f.int_max);
    case Kind::kReal:
      return "number, " + config_internal::NumberText(f.real_min) + " to " +
             config_internal::NumberText(f.real_max);
    case Kind::kBool: return "boolean";
    case Kind::kStr: return "string";
    case Kind::kChoice: {
      std::string out = "one of ";
      for (std::size_t i = 0; i < f.choices.size(); ++i) {
        out += (i == 0 ? "`" : ", `") + f.choices[i] + "`";
      }
      return out;
    }
  }
  return "";
}

}  // namespace

std::string ConfigKeysMarkdown() {
  const Config defaults;
  std::ostringstream out;
  out << "# Configuration keys\n\n"
      << "<!-- Generated from common/config.h; do not edit. -->\n\n"
      << "Every key of a config file (a YAML section per part, as in\n"
      << "[configs/example.yaml](../configs/example.yaml)) and of\n"
      << "`--set section.key=value`, with its type, its default and what it does.\n"
      << "Precedence, `--print-config` and error messages: the README's\n"
      << "[Configuration](../README.md#configuration).\n\n"
      << "This file is generated from `common/config.h`:\n\n"
      << "    build/launch/rnnsearch train --config-keys-markdown > docs/config.md\n\n"
      << "and the test `common_readme_test` fails when it differs from what the\n"
      << "code generates.\n";
  for (const std::string& section : config_internal::Sections()) {
    out << "\n## `" << section << "`\n\n"
        << "| key | type | default | description |\n"
        << "| --- | --- | --- | --- |\n";
    for (const Field& f : config_internal::Fields()) {
      if (f.section != section) continue;
      out << "| `" << f.key << "` | " << TypeText(f) << " | `"
          << config_internal::ValueText(f, defaults) << "` | " << Cell(f.doc) << " |\n";
    }
  }
  return out.str();
}

}  // namespace rnnsearch
