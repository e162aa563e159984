// Unicode tables taken from Python (scripts/gen_unicode_case_data.py), so
// that the sacreBLEU-compatible scorer lowercases, splits at whitespace and
// applies the Final_Sigma rule exactly as Python's str methods do.
// Tables are sorted by code point; ranges are closed.
#pragma once

#include <cstddef>
#include <cstdint>

namespace rnnsearch::unicode_data {

// Every stride-th code point in [first, last] lowercases to itself + delta.
struct LowerRun {
  char32_t first, last;
  std::int32_t delta;
  std::int32_t stride;
};

// A code point whose lowercase is several code points (zero-padded).
struct SpecialLower {
  char32_t code_point;
  char32_t lower[3];
};

struct Range {
  char32_t first, last;
};

extern const char* const kUnicodeVersion;  // of the Python that made the tables
extern const LowerRun kLowerRuns[];
extern const std::size_t kNumLowerRuns;
extern const SpecialLower kSpecialLower[];
extern const std::size_t kNumSpecialLower;
extern const Range kSpace[];  // str.isspace()
extern const std::size_t kNumSpace;
extern const Range kCaseIgnorable[];  // Case_Ignorable, as str.lower() uses it
extern const std::size_t kNumCaseIgnorable;
extern const Range kCasedNotIgnorable[];  // Cased and not Case_Ignorable
extern const std::size_t kNumCasedNotIgnorable;

}  // namespace rnnsearch::unicode_data
