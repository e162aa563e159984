#include "trainer/run/gradient_poison.h"

#include <charconv>
#include <cstdlib>
#include <limits>
#include <sstream>

#include "common/error.h"

namespace rnnsearch {
namespace {

// A whole non-negative number, or -1.
std::int64_t ParseStep(const std::string& s) {
  std::int64_t v = -1;
  const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  return r.ec == std::errc() && r.ptr == s.data() + s.size() && v >= 0 ? v : -1;
}

}  // namespace

GradientPoison::GradientPoison(const std::string& spec, int rank, int ranks)
    : spec_(spec), poisons_(rank == ranks - 1) {
  std::istringstream items(spec);
  for (std::string item; std::getline(items, item, ',');) {
    const auto eq = item.find('=');
    const std::string steps = item.substr(0, eq);
    const std::string value = eq == std::string::npos ? "nan" : item.substr(eq + 1);
    const auto dash = steps.find('-');
    Range r{ParseStep(steps.substr(0, dash)), -1, std::numeric_limits<float>::quiet_NaN()};
    r.last = dash == std::string::npos ? r.first : ParseStep(steps.substr(dash + 1));
    if (value == "inf") r.value = std::numeric_limits<float>::infinity();
    if ((value != "nan" && value != "inf") || r.first < 1 || r.last < r.first) {
      throw UserError(std::string(kVariable) + " (a test-only setting) = '" + spec +
                      "': cannot read '" + item +
                      "'; expected STEP or FIRST-LAST, each optionally followed by =nan or =inf, "
                      "separated by commas");
    }
    ranges_.push_back(r);
  }
}

GradientPoison GradientPoison::FromEnvironment(int rank, int ranks) {
  const char* spec = std::getenv(kVariable);
  return GradientPoison(spec == nullptr ? "" : spec, rank, ranks);
}

void GradientPoison::Apply(ParamSet& grads, std::int64_t step) const {
  if (!poisons_) return;
  for (const Range& r : ranges_) {
    if (step >= r.first && step <= r.last) {
      grads.Get("output.bias")[0] = r.value;
      return;
    }
  }
}

}  // namespace rnnsearch
