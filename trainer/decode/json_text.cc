#include "trainer/decode/json_text.h"

#include <cstdio>
#include <cstdlib>

namespace rnnsearch {

std::string OneLineJson(const nlohmann::ordered_json& value) {
  // With indent 0, nlohmann writes ": " after a key and a line break after
  // '{', '[' and ',' and before '}' and ']'; a string never holds a raw
  // line break (it is escaped). A break after ',' becomes a space, the
  // others are dropped.
  const std::string text =
      value.dump(0, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    if (c != '\n') {
      out += c;
    } else if (!out.empty() && out.back() == ',') {
      out += ' ';
    }
  }
  return out;
}

double PrintfRounded(const char* format, double x) {
  char buffer[400];  // "%.6f" of the largest double: 317 characters
  std::snprintf(buffer, sizeof buffer, format, x);
  return std::strtod(buffer, nullptr);
}

}  // namespace rnnsearch
