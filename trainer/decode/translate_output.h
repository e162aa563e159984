// The text `rnnsearch translate` writes for one input line (0-based
// index `line`):
//
// Translations, --nbest 1: one line per input line, the best hypothesis.
// --nbest N > 1: up to N lines per input line, best first,
//     LINE ||| TEXT ||| SCORE
//   LINE the 0-based input line, SCORE the ranking score (log-probability
//   over length^alpha). An input line without tokens gives one line with
//   an empty TEXT and score 0. (Line breaks inside a TEXT, which no
//   vocabulary should produce, are written as spaces.)
//
// Alignments (--alignments FILE): one JSON object per input line,
//   {"line": 0, "source": ["▁Das", "▁Haus", "</s>"],
//    "target": ["▁The", "▁house", "</s>"], "score": -1.2345,
//    "normalized": -0.4115, "finished": true,
//    "attention": [[0.91, 0.05, 0.04], [0.02, 0.95, 0.03], [0.01, 0.09, 0.9]]}
// source: the source pieces (Vocab::Piece) and </s>; target: the best
// hypothesis's pieces and </s> when it finished (not when cut at the
// length limit); attention[i][j]: the weight of source position j when
// target token i was produced (rows sum to 1). score and normalized are
// rounded to 6 decimals, the weights to 6 significant digits; NaN and
// infinities are null (json_text.h has the layout). A line without tokens
// has empty lists.
#pragma once

#include <cstdint>
#include <string>

#include "io/vocab.h"
#include "trainer/decode/translator.h"

namespace rnnsearch {

// The translation's output line(s), each ending with '\n'.
std::string FormatTranslation(const LineTranslation& t, std::int64_t line, int nbest);

// The alignments JSON line, ending with '\n'.
std::string FormatAlignment(const LineTranslation& t, std::int64_t line, const Vocab& src,
                            const Vocab& tgt);

}  // namespace rnnsearch
