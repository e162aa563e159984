// The sacreBLEU-compatible scorer against Python itself: 400 generated
// hypothesis/reference pairs full of ASCII and unicode punctuation, digits,
// entities, Greek sigmas, unicode whitespace and combining marks are
// tokenized, lowercased, split and scored by tests/trainer/eval/sacre_oracle.py
// (Python's str and re) and by the C++ code, which must agree exactly on
// every string and statistic. Skipped when python3 is not installed.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "trainer/eval/bleu.h"
#include "trainer/eval/chrf.h"
#include "trainer/eval/sacre_text.h"

namespace rnnsearch {
namespace {

// Pieces that exercise each rule of 13a and of Python's str methods.
const std::vector<std::string> kWords = {
    "The",       "dog",     "BIT",       "man",        "it's",      "don't",    "3.50",   "1,000",
    "1990-2000", "5-",      "a.b",       "Dr.Smith",   ".5",        ",x",       "x,",     "e.g.",
    "&amp;",     "&quot;",  "&lt;b&gt;", "&amp;quot;", "<skipped>", "(hi)",     "[x]",    "{y}",
    "$",         "%",       "@",         "#",          "~",         "^",        "_",      "`",
    "|",         "\\",      "/",         "+",          "=",         "*",        ";",      ":",
    "?",         "!",       "\"",        "'",          "-",         "--",       "Äpfel",  "Straße",
    "ẞ",         "ΣΟΦΟΣ",   "ΌΣΑ",       "Σ",          "ὈΔΥΣΣΕΎΣ",  "İstanbul", "ǅ",      "„Hallo“",
    "—",         "…",       "«oui»",     "’",          "ﬁne",       "Ⅻ",        "日本語", "😀",
    "e\u0301",   "A\u0345", "x\u200by",  "so\u00adft", "ÀÉÎÕÜ",     "ΑΣ'Σ",     "Σ.",     "Ａ",
    "ǈ"};
const std::vector<std::string> kSpaces = {
    " ", " ", " ", "  ", "\t", "\u00a0", "\u3000", "\u2009", "\x1c", "\u0085", "\u2028", "\r", ""};

std::string RandomLine(std::mt19937& rng) {
  const int n = static_cast<int>(rng() % 14);
  std::string line;
  for (int i = 0; i < n; ++i) {
    if (i > 0 || rng() % 5 == 0) line += kSpaces[rng() % kSpaces.size()];
    line += kWords[rng() % kWords.size()];
  }
  if (rng() % 4 == 0) line += kSpaces[rng() % kSpaces.size()];
  return line;
}

// A reference that shares some of the hypothesis's pieces.
std::string Perturb(const std::string& hyp, std::mt19937& rng) {
  std::string ref;
  std::istringstream in(hyp);
  for (std::string w; in >> w;) {
    const unsigned r = rng() % 6;
    if (r == 0) continue;
    ref += (ref.empty() ? "" : " ") + (r == 1 ? kWords[rng() % kWords.size()] : w);
  }
  return ref.empty() ? RandomLine(rng) + "x" : ref;
}

std::vector<std::string> ReadLines(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::vector<double> Numbers(const std::string& line) {
  std::istringstream in(line);
  std::vector<double> v;
  for (double x; in >> x;) v.push_back(x);
  return v;
}

TEST(SacrePython, AgreesWithPythonOnGeneratedText) {
  if (std::system("command -v python3 >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "python3 is not installed";
  }
  const auto dir = std::filesystem::temp_directory_path() /
                   ("rnnsearch_sacre_python_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::mt19937 rng(20261121);
  std::vector<std::string> hyps, refs;
  for (int i = 0; i < 400; ++i) {
    hyps.push_back(i % 37 == 0 ? "" : RandomLine(rng));
    refs.push_back(Perturb(hyps.back(), rng));
  }
  {
    std::ofstream h(dir / "hyps.txt", std::ios::binary), r(dir / "refs.txt", std::ios::binary);
    for (std::size_t i = 0; i < hyps.size(); ++i) {
      h << hyps[i] << '\n';
      r << refs[i] << '\n';
    }
  }
  const std::string script =
      std::string(RNNSEARCH_SOURCE_DIR) + "/tests/trainer/eval/sacre_oracle.py";
  const std::string command = "python3 " + script + " " + (dir / "hyps.txt").string() + " " +
                              (dir / "refs.txt").string() + " " + (dir / "out.txt").string();
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  const std::vector<std::string> out = ReadLines(dir / "out.txt");
  std::filesystem::remove_all(dir);
  ASSERT_EQ(out.size(), 3 * hyps.size() + 4);

  for (std::size_t i = 0; i < hyps.size(); ++i) {
    const std::u32string h = sacre::DecodeUtf8(hyps[i]);
    ASSERT_EQ(sacre::EncodeUtf8(sacre::Tokenize13a(sacre::RStrip(h))), out[3 * i]) << hyps[i];
    ASSERT_EQ(sacre::EncodeUtf8(sacre::Lower(h)), out[3 * i + 1]) << hyps[i];
    std::string joined;
    for (const std::u32string_view t : sacre::Split(h)) {
      joined += (joined.empty() ? "" : "\u241f") + sacre::EncodeUtf8(t);
    }
    ASSERT_EQ(joined, out[3 * i + 2]) << hyps[i];
  }
  const std::size_t base = 3 * hyps.size();
  for (const bool lowercase : {false, true}) {
    BleuOptions bo;
    bo.lowercase = lowercase;
    const BleuScore b = CorpusBleu(hyps, {refs}, bo);
    std::vector<double> mine = {static_cast<double>(b.stats.sys_len),
                                static_cast<double>(b.stats.ref_len)};
    for (const std::int64_t c : b.stats.correct) mine.push_back(static_cast<double>(c));
    for (const std::int64_t t : b.stats.total) mine.push_back(static_cast<double>(t));
    std::vector<double> python = Numbers(out[base + (lowercase ? 1 : 0)]);
    ASSERT_EQ(python.size(), mine.size() + 1);
    EXPECT_NEAR(b.score, python.back(), 1e-9) << "BLEU, lowercase " << lowercase;
    python.pop_back();
    EXPECT_EQ(mine, python) << "BLEU statistics, lowercase " << lowercase;
    EXPECT_GT(b.score, 5.0);  // the references share enough to make this a real check

    ChrfOptions co;
    co.lowercase = lowercase;
    const ChrfScore c = CorpusChrf(hyps, {refs}, co);
    std::vector<double> py = Numbers(out[base + 2 + (lowercase ? 1 : 0)]);
    ASSERT_EQ(py.size(), c.stats.size() + 1);
    EXPECT_NEAR(c.score, py.back(), 1e-9) << "chrF, lowercase " << lowercase;
    py.pop_back();
    EXPECT_EQ(std::vector<double>(c.stats.begin(), c.stats.end()), py)
        << "chrF statistics, lowercase " << lowercase;
  }
}

}  // namespace
}  // namespace rnnsearch
