// The text handling of sacreBLEU (2.x), reproduced exactly: the Python str
// operations it relies on (lower(), isspace(), split(), rstrip(), all on
// code points with Python's Unicode tables, trainer/eval/unicode_case_data.h)
// and its default '13a' tokenizer (mteval-v13a's regular expressions).
//
// Text is handled as UTF-32 code points, as Python's str; inputs are UTF-8.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace rnnsearch::sacre {

// UTF-8 -> code points; each byte of an invalid sequence becomes U+FFFD
// (callers that need strictness check with FindInvalidUtf8 first).
std::u32string DecodeUtf8(std::string_view text);
std::string EncodeUtf8(std::u32string_view text);

// str.isspace(): Unicode White_Space as Python defines it (bidi class WS,
// B or S, or category Zs), e.g. tab, newline, U+00A0, U+2009, U+3000.
bool IsSpace(char32_t c);

// str.lower(): full lowercase mapping (U+0130 becomes two code points) and
// the Final_Sigma rule for U+03A3.
std::u32string Lower(std::u32string_view text);

// str.rstrip() and str.strip() without arguments.
std::u32string_view RStrip(std::u32string_view text);
std::u32string_view Strip(std::u32string_view text);

// str.split() without arguments: the runs of non-space code points.
std::vector<std::u32string_view> Split(std::u32string_view text);

// sacreBLEU's Tokenizer13a on one line: unescapes &quot; &amp; &lt; &gt;,
// drops <skipped>, pads ASCII punctuation with spaces except for periods
// and commas next to digits, and dashes after a digit, then joins the
// tokens with single spaces.
std::u32string Tokenize13a(std::u32string_view line);

}  // namespace rnnsearch::sacre
