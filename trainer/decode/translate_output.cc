// Output formats of rnnsearch translate (trainer/decode/translate_output.h).
#include "trainer/decode/translate_output.h"

#include <cstdio>
#include <vector>

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

std::string JsonQuote(const std::string& s) {
  std::string out = "\"";
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char u[8];
          std::snprintf(u, sizeof u, "\\u%04x", c);
          out += u;
        } else {
          out += ch;  // UTF-8 bytes as they are
        }
    }
  }
  return out + "\"";
}

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
  auto list = [](const std::vector<std::string>& pieces) {
    std::string s = "[";
    for (std::size_t k = 0; k < pieces.size(); ++k) s += (k ? ", " : "") + JsonQuote(pieces[k]);
    return s + "]";
  };
  std::string out = "{\"line\": " + std::to_string(line) + ", \"source\": " + list(source) +
                    ", \"target\": " + list(target) + ", \"score\": " + Number("%.6f", best.score) +
                    ", \"normalized\": " + Number("%.6f", best.normalized) +
                    ", \"finished\": " + (best.finished ? "true" : "false") + ", \"attention\": [";
  const std::size_t cols = source.size(), rows = target.size();
  if (rows * cols > 0 && t.attention.size() == rows * cols) {
    for (std::size_t r = 0; r < rows; ++r) {
      out += r ? ", [" : "[";
      for (std::size_t c = 0; c < cols; ++c) {
        out += (c ? ", " : "") + Number("%.6g", t.attention[r * cols + c]);
      }
      out += "]";
    }
  }
  return out + "]}\n";
}

}  // namespace rnnsearch
