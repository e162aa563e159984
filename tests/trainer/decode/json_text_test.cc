// The one-line JSON layout of the alignments file and the bench figures
// (trainer/decode/json_text.h), and printf's rounding of numbers.
#include "trainer/decode/json_text.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace rnnsearch {
namespace {

using Json = nlohmann::ordered_json;

TEST(OneLineJson, SpacesAfterCommasAndColonsOnly) {
  Json j;
  j["name"] = "a, b: [c]";
  j["n"] = 2;
  j["x"] = 0.25;
  j["whole"] = 2.0;
  j["list"] = Json::array({1, Json::array(), Json::array({"x", ","})});
  j["empty"] = Json::object();
  j["nested"] = Json::object({{"k", nullptr}, {"t", true}});
  EXPECT_EQ(
      OneLineJson(j),
      R"({"name": "a, b: [c]", "n": 2, "x": 0.25, "whole": 2.0, "list": [1, [], ["x", ","]], )"
      R"("empty": {}, "nested": {"k": null, "t": true}})");
  EXPECT_EQ(OneLineJson(Json::array()), "[]");
  EXPECT_EQ(OneLineJson(Json("x")), R"("x")");
}

TEST(OneLineJson, EscapesStringsAndWritesNonFiniteAsNull) {
  Json j;
  // A line break and a comma in a string stay inside the string, escaped.
  j["s"] = "q\"\\,\n,\r\t\x01\x1f \xc3\xa4";
  j["bad"] = "x\xff";
  j["nan"] = std::nan("");
  j["inf"] = -std::numeric_limits<double>::infinity();
  const std::string line = OneLineJson(j);
  EXPECT_EQ(line,
            "{\"s\": \"q\\\"\\\\,\\n,\\r\\t\\u0001\\u001f \xc3\xa4\", \"bad\": \"x\xef\xbf\xbd\", "
            "\"nan\": null, \"inf\": null}");
  const Json back = Json::parse(line);
  EXPECT_EQ(back.at("s"), j.at("s"));
  EXPECT_TRUE(back.at("nan").is_null());
}

TEST(PrintfRounded, TheValueTheTextReadsBackAs) {
  EXPECT_EQ(PrintfRounded("%.6g", 0.123456789), 0.123457);
  EXPECT_EQ(PrintfRounded("%.6g", 1.25e-7), 1.25e-7);
  EXPECT_EQ(PrintfRounded("%.6f", -1.0000004), -1.0);
  EXPECT_EQ(PrintfRounded("%.6f", -0.1034904), -0.10349);
  EXPECT_EQ(PrintfRounded("%.6f", 1e300), 1e300);  // 301 digits before the point
  EXPECT_TRUE(std::isnan(PrintfRounded("%.6f", std::nan(""))));
  EXPECT_EQ(PrintfRounded("%.6g", -std::numeric_limits<double>::infinity()),
            -std::numeric_limits<double>::infinity());
}

}  // namespace
}  // namespace rnnsearch
