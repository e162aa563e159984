// JSON lines in the layout people and scripts read: the alignments file
// (translate_output.h) and the figures of `rnnsearch bench`, written by
// nlohmann/json.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace rnnsearch {

// `value` on one line, without a newline, with ", " and ": " between items:
//   {"a": [1, 2.5], "b": "x\"y", "c": null}
// Strings are escaped (control characters as \n, \t, ... or \u00XX;
// non-ASCII UTF-8 as it is; invalid UTF-8 replaced by U+FFFD); numbers in
// the shortest form that reads back to the same double (2.0 for a whole
// double, 2 for an integer); NaN and infinities as null.
std::string OneLineJson(const nlohmann::ordered_json& value);

// `x` as a reader gets it back from printf's text of it with `format`, one
// double conversion (e.g. "%.6g": rounded to 6 significant digits). NaN
// and infinities stay as they are.
double PrintfRounded(const char* format, double x);

}  // namespace rnnsearch
