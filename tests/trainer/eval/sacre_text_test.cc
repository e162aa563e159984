// sacreBLEU's text handling: the 13a tokenizer and Python's str.lower(),
// str.split() and str.isspace() on code points. Expected strings are what
// Python 3.11 gives for sacreBLEU's regular expressions and str methods.
#include "trainer/eval/sacre_text.h"

#include <gtest/gtest.h>

#include <string>

namespace rnnsearch {
namespace {

std::string Tok(const std::string& line) {
  return sacre::EncodeUtf8(sacre::Tokenize13a(sacre::DecodeUtf8(line)));
}

TEST(Tokenize13a, PunctuationNumbersAndEscapes) {
  EXPECT_EQ(Tok("Hello, world!"), "Hello , world !");
  EXPECT_EQ(Tok("It cost $3.50, or 3,000 euros."), "It cost $ 3.50 , or 3,000 euros .");
  EXPECT_EQ(Tok("well-known 1990-2000 and 5-"), "well-known 1990 - 2000 and 5 -");
  EXPECT_EQ(Tok("&quot;Hi&quot; &amp; &lt;b&gt; &amp;quot;"), "\" Hi \" & < b > & quot ;");
  EXPECT_EQ(Tok("<skipped>word <skip>"), "word < skip >");
  EXPECT_EQ(Tok("Dr.Smith a.b 1.a a.,b 1,.2 .5 ,x"),
            "Dr . Smith a . b 1 . a a . , b 1 , . 2 . 5 , x");
  EXPECT_EQ(Tok("don't [x]{y}~z^_`|@#%*+=;:/\\"),
            "don't [ x ] { y } ~ z ^ _ ` | @ # % * + = ; : / \\");
  EXPECT_EQ(Tok("  many   spaces\there  "), "many spaces here");
  EXPECT_EQ(Tok(""), "");
  EXPECT_EQ(Tok("line-\nbreak\nnext"), "linebreak next");
}

TEST(Tokenize13a, UnicodePunctuationIsNotSplit) {
  // Only ASCII punctuation is padded: „ “ — … « » stay attached.
  EXPECT_EQ(Tok("„Hallo“, sagte er — leise… (wirklich?) «oui»"),
            "„Hallo“ , sagte er — leise… ( wirklich ? ) «oui»");
}

TEST(SacreText, PythonLower) {
  EXPECT_EQ(sacre::EncodeUtf8(sacre::Lower(sacre::DecodeUtf8("ΣΑΣ ΟΔΟΣ. İstanbul ǅ Σ ΑΣ'Σ ÀÉ"))),
            "σας οδος. i̇stanbul ǆ σ ασ'ς àé");  // final sigma; İ -> i + U+0307
  EXPECT_EQ(sacre::EncodeUtf8(sacre::Lower(sacre::DecodeUtf8("ABC xyz ÄÖÜ ẞ Ω Ⅻ Ａ"))),
            "abc xyz äöü ß ω ⅻ ａ");
}

TEST(SacreText, PythonWhitespace) {
  const std::u32string s = sacre::DecodeUtf8(
      "a\u00a0b\u3000c\u200bd\u2009e\x1c"
      "f ");
  const auto tokens = sacre::Split(s);
  ASSERT_EQ(tokens.size(), 5u);  // U+200B (zero width space) is not whitespace
  EXPECT_EQ(sacre::EncodeUtf8(tokens[2]), "c\u200bd");
  EXPECT_EQ(sacre::EncodeUtf8(tokens[4]), "f");
  EXPECT_TRUE(sacre::IsSpace(0x85));
  EXPECT_TRUE(sacre::IsSpace(0x202F));
  EXPECT_FALSE(sacre::IsSpace(0xFEFF));
  EXPECT_EQ(sacre::EncodeUtf8(sacre::RStrip(sacre::DecodeUtf8(" a b \t\u00a0\r"))), " a b");
  EXPECT_EQ(sacre::EncodeUtf8(sacre::Strip(sacre::DecodeUtf8("\u3000 a b \n"))), "a b");
  EXPECT_TRUE(sacre::Split(sacre::DecodeUtf8(" \t ")).empty());
}

TEST(SacreText, Utf8RoundTripAndInvalidBytes) {
  const std::string text = "aé€𝄞";
  const std::u32string cps = sacre::DecodeUtf8(text);
  EXPECT_EQ(cps, (std::u32string{U'a', 0xE9, 0x20AC, 0x1D11E}));
  EXPECT_EQ(sacre::EncodeUtf8(cps), text);
  EXPECT_EQ(sacre::DecodeUtf8("a\xff"
                              "b\xc3"),
            (std::u32string{U'a', 0xFFFD, U'b', 0xFFFD}));
  EXPECT_EQ(sacre::DecodeUtf8("\xed\xa0\x80"), (std::u32string(3, 0xFFFD)));  // a surrogate
}

}  // namespace
}  // namespace rnnsearch
