#include "trainer/eval/sacre_text.h"

#include <algorithm>

#include "trainer/eval/unicode_case_data.h"

namespace rnnsearch::sacre {
namespace {

using unicode_data::Range;

bool InRanges(const Range* ranges, std::size_t n, char32_t c) {
  const Range* end = ranges + n;
  // The first range that ends at or after c.
  const Range* r =
      std::lower_bound(ranges, end, c, [](const Range& x, char32_t v) { return x.last < v; });
  return r != end && r->first <= c;
}

bool IsCaseIgnorable(char32_t c) {
  return InRanges(unicode_data::kCaseIgnorable, unicode_data::kNumCaseIgnorable, c);
}

bool IsCasedNotIgnorable(char32_t c) {
  return InRanges(unicode_data::kCasedNotIgnorable, unicode_data::kNumCasedNotIgnorable, c);
}

// Python's handle_capital_sigma: U+03A3 at `i` is final when a cased
// letter precedes it and none follows, case-ignorable characters skipped.
bool IsFinalSigma(std::u32string_view s, std::size_t i) {
  std::size_t j = i;
  while (j > 0 && IsCaseIgnorable(s[j - 1])) --j;
  if (j == 0 || !IsCasedNotIgnorable(s[j - 1])) return false;
  j = i + 1;
  while (j < s.size() && IsCaseIgnorable(s[j])) ++j;
  return j == s.size() || !IsCasedNotIgnorable(s[j]);
}

void AppendLower(char32_t c, std::u32string& out) {
  for (std::size_t k = 0; k < unicode_data::kNumSpecialLower; ++k) {
    const auto& sp = unicode_data::kSpecialLower[k];
    if (sp.code_point == c) {
      for (char32_t x : sp.lower) {
        if (x != 0) out += x;
      }
      return;
    }
  }
  const auto* runs = unicode_data::kLowerRuns;
  const auto* end = runs + unicode_data::kNumLowerRuns;
  const auto* r = std::lower_bound(
      runs, end, c, [](const unicode_data::LowerRun& x, char32_t v) { return x.last < v; });
  if (r != end && r->first <= c && (c - r->first) % static_cast<char32_t>(r->stride) == 0) {
    out += static_cast<char32_t>(static_cast<std::int32_t>(c) + r->delta);
  } else {
    out += c;
  }
}

void ReplaceAll(std::u32string& s, std::u32string_view from, std::u32string_view to) {
  std::u32string out;
  std::size_t pos = 0;
  for (std::size_t at; (at = s.find(from, pos)) != std::u32string::npos; pos = at + from.size()) {
    out.append(s, pos, at - pos);
    out.append(to);
  }
  if (pos == 0) return;
  out.append(s, pos);
  s = std::move(out);
}

bool IsDigit(char32_t c) { return c >= U'0' && c <= U'9'; }
bool IsPeriodOrComma(char32_t c) { return c == U'.' || c == U','; }

// The first regular expression's class [\{-\~\[-\` -\&\(-\+\:-\@\/].
bool IsPaddedPunct(char32_t c) {
  return (c >= 0x7B && c <= 0x7E) || (c >= 0x5B && c <= 0x60) || (c >= 0x20 && c <= 0x26) ||
         (c >= 0x28 && c <= 0x2B) || (c >= 0x3A && c <= 0x40) || c == 0x2F;
}

// re.sub of a two-character pattern: matches are found left to right and
// do not overlap; `emit` writes the replacement of the pair (a, b).
template <typename Match, typename Emit>
std::u32string SubPairs(std::u32string_view s, Match match, Emit emit) {
  std::u32string out;
  out.reserve(s.size() + s.size() / 2);
  std::size_t i = 0;
  while (i < s.size()) {
    if (i + 1 < s.size() && match(s[i], s[i + 1])) {
      emit(out, s[i], s[i + 1]);
      i += 2;
    } else {
      out += s[i++];
    }
  }
  return out;
}

}  // namespace

std::u32string DecodeUtf8(std::string_view text) {
  std::u32string out;
  out.reserve(text.size());
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  std::size_t i = 0;
  while (i < n) {
    const unsigned c = p[i];
    if (c < 0x80) {
      out += static_cast<char32_t>(c);
      ++i;
      continue;
    }
    std::size_t len = 0;
    char32_t cp = 0, min = 0;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2, cp = c & 0x1F, min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3, cp = c & 0x0F, min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4, cp = c & 0x07, min = 0x10000;
    }
    bool ok = len > 0 && i + len <= n;
    for (std::size_t k = 1; ok && k < len; ++k) {
      ok = (p[i + k] & 0xC0) == 0x80;
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    ok = ok && cp >= min && cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF);
    if (ok) {
      out += cp;
      i += len;
    } else {
      out += U'\uFFFD';
      ++i;
    }
  }
  return out;
}

std::string EncodeUtf8(std::u32string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char32_t c : text) {
    if (c < 0x80) {
      out += static_cast<char>(c);
    } else if (c < 0x800) {
      out += static_cast<char>(0xC0 | (c >> 6));
      out += static_cast<char>(0x80 | (c & 0x3F));
    } else if (c < 0x10000) {
      out += static_cast<char>(0xE0 | (c >> 12));
      out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (c & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (c >> 18));
      out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (c & 0x3F));
    }
  }
  return out;
}

bool IsSpace(char32_t c) {
  if (c == U' ') return true;
  if (c < 0x09 || (c > 0x20 && c < 0x85)) return false;  // the common case, fast
  return InRanges(unicode_data::kSpace, unicode_data::kNumSpace, c);
}

std::u32string Lower(std::u32string_view text) {
  std::u32string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char32_t c = text[i];
    if (c < 0x80) {
      out += (c >= U'A' && c <= U'Z') ? c + 32 : c;
    } else if (c == 0x3A3) {
      out += IsFinalSigma(text, i) ? char32_t{0x3C2} : char32_t{0x3C3};
    } else {
      AppendLower(c, out);
    }
  }
  return out;
}

std::u32string_view RStrip(std::u32string_view text) {
  std::size_t end = text.size();
  while (end > 0 && IsSpace(text[end - 1])) --end;
  return text.substr(0, end);
}

std::u32string_view Strip(std::u32string_view text) {
  text = RStrip(text);
  std::size_t begin = 0;
  while (begin < text.size() && IsSpace(text[begin])) ++begin;
  return text.substr(begin);
}

std::vector<std::u32string_view> Split(std::u32string_view text) {
  std::vector<std::u32string_view> tokens;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && IsSpace(text[i])) ++i;
    const std::size_t begin = i;
    while (i < text.size() && !IsSpace(text[i])) ++i;
    if (i > begin) tokens.push_back(text.substr(begin, i - begin));
  }
  return tokens;
}

std::u32string Tokenize13a(std::u32string_view line) {
  // The language-independent part, in sacreBLEU's order.
  std::u32string s(line);
  ReplaceAll(s, U"<skipped>", U"");
  ReplaceAll(s, U"-\n", U"");
  ReplaceAll(s, U"\n", U" ");
  ReplaceAll(s, U"&quot;", U"\"");
  ReplaceAll(s, U"&amp;", U"&");
  ReplaceAll(s, U"&lt;", U"<");
  ReplaceAll(s, U"&gt;", U">");
  // ([\{-\~\[-\` -\&\(-\+\:-\@\/]) -> ' \1 ' on " line " (the space
  // itself is in the class).
  s = U" " + s + U" ";
  std::u32string padded;
  padded.reserve(3 * s.size());
  for (const char32_t c : s) {
    if (IsPaddedPunct(c)) {
      padded += U' ';
      padded += c;
      padded += U' ';
    } else {
      padded += c;
    }
  }
  // ([^0-9])([\.,]) -> '\1 \2 '
  std::u32string t = SubPairs(
      padded, [](char32_t a, char32_t b) { return !IsDigit(a) && IsPeriodOrComma(b); },
      [](std::u32string& out, char32_t a, char32_t b) {
        out += {a, U' ', b, U' '};
      });
  // ([\.,])([^0-9]) -> ' \1 \2'
  t = SubPairs(
      t, [](char32_t a, char32_t b) { return IsPeriodOrComma(a) && !IsDigit(b); },
      [](std::u32string& out, char32_t a, char32_t b) {
        out += {U' ', a, U' ', b};
      });
  // ([0-9])(-) -> '\1 \2 '
  t = SubPairs(
      t, [](char32_t a, char32_t b) { return IsDigit(a) && b == U'-'; },
      [](std::u32string& out, char32_t a, char32_t b) {
        out += {a, U' ', b, U' '};
      });
  // ' '.join(line.strip().split())
  std::u32string joined;
  for (const std::u32string_view token : Split(t)) {
    if (!joined.empty()) joined += U' ';
    joined += token;
  }
  return joined;
}

}  // namespace rnnsearch::sacre
