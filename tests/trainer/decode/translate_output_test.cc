// The alignments line of rnnsearch translate (trainer/decode/translate_output.h):
// its exact layout, and every field read back by a JSON parser, with pieces
// that need escapes and a score that is not a number.
#include "trainer/decode/translate_output.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "io/vocab.h"

namespace rnnsearch {
namespace {

using Json = nlohmann::ordered_json;

double Printed(const char* format, double x) {
  char text[64];
  std::snprintf(text, sizeof text, format, x);
  return std::strtod(text, nullptr);
}

TEST(FormatAlignment, Layout) {
  const Vocab src = Vocab::FromWords({"a"}, "src");
  const Vocab tgt = Vocab::FromWords({"x"}, "tgt");
  LineTranslation t;
  t.source = {4};
  t.nbest.push_back({"x", {4}, true, -1.5, -0.75});
  t.attention = {0.25f, 0.75f, 1.0f, 0.0f};
  EXPECT_EQ(FormatAlignment(t, 0, src, tgt),
            R"({"line": 0, "source": ["a", "</s>"], "target": ["x", "</s>"], "score": -1.5, )"
            R"("normalized": -0.75, "finished": true, "attention": [[0.25, 0.75], [1.0, 0.0]]})"
            "\n");
  LineTranslation empty;
  empty.nbest.push_back({"", {}, true, 0, 0});
  EXPECT_EQ(FormatAlignment(empty, 3, src, tgt),
            R"({"line": 3, "source": [], "target": [], "score": 0.0, "normalized": 0.0, )"
            R"("finished": true, "attention": []})"
            "\n");
}

TEST(FormatAlignment, RoundTripsThroughAParser) {
  // Pieces with a quote, a backslash, control characters, non-ASCII UTF-8
  // and a byte that is no UTF-8 (written as U+FFFD).
  const std::vector<std::string> words = {"say\"hi\"", "back\\slash", "ctl\x01\x1f\x7f",
                                          "\xc3\xa4\xe6\x97\xa5\xf0\x9f\x98\x80", "bad\xff"};
  const Vocab src = Vocab::FromWords(words, "src");
  const Vocab tgt = Vocab::FromWords({"x", "y"}, "tgt");
  LineTranslation t;
  t.source = {4, 5, 6, 7, 8};
  t.nbest.push_back({"y x", {5, 4}, false, std::nan(""), -0.12345678});
  const std::size_t rows = 2, cols = 6;
  for (std::size_t i = 0; i < rows * cols; ++i) t.attention.push_back(1.0f / (3.0f + i));
  const std::string line = FormatAlignment(t, 7, src, tgt);
  ASSERT_EQ(line.find('\n'), line.size() - 1) << line;

  const Json j = Json::parse(line);
  std::vector<std::string> keys;
  for (const auto& [key, value] : j.items()) keys.push_back(key);
  EXPECT_EQ(keys, (std::vector<std::string>{"line", "source", "target", "score", "normalized",
                                            "finished", "attention"}));
  EXPECT_TRUE(j.at("line").is_number_integer());
  EXPECT_EQ(j.at("line"), 7);
  std::vector<std::string> source = words;
  source.back() = "bad\xef\xbf\xbd";
  source.push_back("</s>");
  EXPECT_EQ(j.at("source").get<std::vector<std::string>>(), source);
  EXPECT_EQ(j.at("target").get<std::vector<std::string>>(), (std::vector<std::string>{"y", "x"}));
  EXPECT_TRUE(j.at("score").is_null()) << line;
  EXPECT_EQ(j.at("normalized").get<double>(), -0.123457);
  EXPECT_EQ(j.at("finished"), false);
  const Json& attention = j.at("attention");
  ASSERT_EQ(attention.size(), rows);
  for (std::size_t r = 0; r < rows; ++r) {
    ASSERT_EQ(attention[r].size(), cols);
    for (std::size_t c = 0; c < cols; ++c) {
      EXPECT_EQ(attention[r][c].get<double>(), Printed("%.6g", t.attention[r * cols + c]))
          << r << "," << c;
    }
  }
}

}  // namespace
}  // namespace rnnsearch
