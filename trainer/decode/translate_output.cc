// Output formats of rnnsearch translate (trainer/decode/translate_output.h).
#include "trainer/decode/translate_output.h"

#include <cstdio>
#include <vector>

#include "trainer/decode/json_text.h"

namespace rnnsearch {
namespace {

std::string OneLine(std::string text) {
  for (char& c : text) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return text;
}

std::string Number(const char* format, double x) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, x);
  return buf;
}

}  // namespace

std::string FormatTranslation(const LineTranslation& t, std::int64_t line, int nbest) {
  if (nbest <= 1) return OneLine(t.nbest.front().text) + "\n";
  std::string out;
  for (const TextHypothesis& h : t.nbest) {
    out += std::to_string(line) + " ||| " + OneLine(h.text) + " ||| " +
           Number("%.6f", h.normalized) + "\n";
  }
  return out;
}

std::string FormatAlignment(const LineTranslation& t, std::int64_t line, const Vocab& src,
                            const Vocab& tgt) {
  const TextHypothesis& best = t.nbest.front();
  const bool decoded = !t.source.empty();
  std::vector<std::string> source, target;
  if (decoded) {
    for (std::int32_t id : t.source) source.push_back(src.Piece(id));
    source.push_back("</s>");
    for (std::int32_t id : best.tokens) target.push_back(tgt.Piece(id));
    if (best.finished) target.push_back("</s>");
  }
  nlohmann::ordered_json j;
  j["line"] = line;
  j["source"] = source;
  j["target"] = target;
  j["score"] = PrintfRounded("%.6f", best.score);
  j["normalized"] = PrintfRounded("%.6f", best.normalized);
  j["finished"] = best.finished;
  nlohmann::ordered_json& attention = j["attention"] = nlohmann::ordered_json::array();
  const std::size_t cols = source.size(), rows = target.size();
  if (rows * cols > 0 && t.attention.size() == rows * cols) {
    for (std::size_t r = 0; r < rows; ++r) {
      nlohmann::ordered_json& row = attention.emplace_back(nlohmann::ordered_json::array());
      for (std::size_t c = 0; c < cols; ++c) {
        row.push_back(PrintfRounded("%.6g", t.attention[r * cols + c]));
      }
    }
  }
  return OneLineJson(j) + "\n";
}

}  // namespace rnnsearch
