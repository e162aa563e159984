// Text input: UTF-8 validation, plain and gzip line reading from offsets,
// the byte-range line counting that splits input over ranks, checksums
// and base64.
#include "io/text_file.h"

#include <gtest/gtest.h>

#include "common/error.h"
#include "common/utf8.h"
#include "io/checksum.h"
#include "tests/io/io_fixture.h"

namespace rnnsearch {
namespace {

using testing::Contains;
using testing::TempDir;

std::vector<std::string> ReadAll(const std::string& path, std::uint64_t offset = 0) {
  LineReader r(path, offset);
  std::vector<std::string> lines;
  std::string_view l;
  while (r.Next(&l)) lines.emplace_back(l);
  return lines;
}

std::string ErrorOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const UserError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(Utf8, AcceptsValidAndFindsFirstInvalidByte) {
  EXPECT_EQ(FindInvalidUtf8("plain ascii text, long enough for the fast path"),
            std::string_view::npos);
  EXPECT_EQ(FindInvalidUtf8("Grüße, 日本語, 🙂"), std::string_view::npos);
  EXPECT_EQ(FindInvalidUtf8("abc\xff"), 3u);
  EXPECT_EQ(FindInvalidUtf8("abcdefghij\xc3"), 10u);     // truncated sequence
  EXPECT_EQ(FindInvalidUtf8("x\xc0\xaf"), 1u);           // overlong '/'
  EXPECT_EQ(FindInvalidUtf8("\xed\xa0\x80"), 0u);        // surrogate
  EXPECT_EQ(FindInvalidUtf8("ok\xf4\x90\x80\x80"), 2u);  // above U+10FFFF
  EXPECT_EQ(FindInvalidUtf8("\xe2\x82"), 0u);            // cut short
  EXPECT_EQ(FindInvalidUtf8("\xe2\x28\xa1"), 0u);        // bad continuation
}

TEST(LineReader, PlainAndGzipGiveTheSameLines) {
  TempDir dir("lines");
  const std::string text = "first\r\nsecond\n\nfourth without newline";
  testing::WriteText(dir / "a.txt", text);
  testing::WriteGzip(dir / "a.gz", text);
  const std::vector<std::string> want = {"first", "second", "", "fourth without newline"};
  EXPECT_EQ(ReadAll(dir / "a.txt"), want);
  EXPECT_EQ(ReadAll(dir / "a.gz"), want);
  EXPECT_FALSE(IsGzipFile(dir / "a.txt"));
  EXPECT_TRUE(IsGzipFile(dir / "a.gz"));
  EXPECT_EQ(CountLines(dir / "a.txt"), 4);
  EXPECT_EQ(CountLines(dir / "a.gz"), 4);
  // Starting at an offset (the start of "second") works for both.
  EXPECT_EQ(ReadAll(dir / "a.txt", 7), std::vector<std::string>(want.begin() + 1, want.end()));
  EXPECT_EQ(ReadAll(dir / "a.gz", 7), std::vector<std::string>(want.begin() + 1, want.end()));
  LineReader r(dir / "a.gz");
  EXPECT_EQ(r.Skip(2), 2);
  std::string_view l;
  ASSERT_TRUE(r.Next(&l));
  EXPECT_EQ(l, "");
  EXPECT_EQ(r.Skip(10), 1);
}

TEST(LineReader, LinesLongerThanTheBuffer) {
  TempDir dir("long");
  const std::string long_line(3 << 20, 'x');
  testing::WriteText(dir / "long.txt", "a\n" + long_line + "\nb\n");
  const auto lines = ReadAll(dir / "long.txt");
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[1], long_line);
  EXPECT_EQ(lines[2], "b");
}

TEST(LineReader, ByteRangesCountEveryLineOnce) {
  TempDir dir("ranges");
  auto [src, tgt] = testing::MakePairs(500, 7);
  std::string text = testing::JoinLines(src);
  text.append("no newline at the end");
  testing::WriteText(dir / "s.txt", text);
  const std::string path = dir / "s.txt";
  const std::uint64_t size = FileSize(path);
  for (int n : {1, 2, 3, 7, 64}) {
    std::int64_t total = 0;
    std::vector<std::string> joined;
    for (int k = 0; k < n; ++k) {
      const std::uint64_t b = NextLineStart(path, size * k / n);
      const std::uint64_t e = NextLineStart(path, size * (k + 1) / n);
      const std::int64_t count = CountLinesInRange(path, b, e);
      total += count;
      LineReader r(path, b);
      std::string_view l;
      for (std::int64_t i = 0; i < count && r.Next(&l); ++i) joined.emplace_back(l);
    }
    EXPECT_EQ(total, 501) << n << " ranges";
    EXPECT_EQ(joined, ReadAll(path)) << n << " ranges";
  }
}

TEST(LineReader, ErrorsNameTheFileAndTheReason) {
  TempDir dir("errors");
  EXPECT_TRUE(Contains(ErrorOf([&] { LineReader r(dir / "missing.txt"); }),
                       "cannot open '" + (dir / "missing.txt") + "': No such file or directory"));
  EXPECT_TRUE(Contains(ErrorOf([&] { LineReader r(dir.path()); }),
                       "'" + dir.path() + "' is a directory, not a file"));
  // A gzip file cut in the middle.
  std::string big;
  for (int i = 0; i < 20000; ++i) big += "line " + std::to_string(i * 7919) + "\n";
  testing::WriteGzip(dir / "full.gz", big);
  std::ifstream in(dir / "full.gz", std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  testing::WriteText(dir / "cut.gz", bytes.substr(0, bytes.size() / 2));
  EXPECT_TRUE(Contains(ErrorOf([&] { CountLines(dir / "cut.gz"); }),
                       "cannot read '" + (dir / "cut.gz") + "': corrupt or truncated gzip data"));
}

TEST(Checksum, Base64RoundTripAndErrors) {
  std::string bytes;
  for (int i = 0; i < 1000; ++i) bytes += static_cast<char>((i * 37) & 0xFF);
  for (std::size_t n : {0u, 1u, 2u, 3u, 4u, 100u, 1000u}) {
    const std::string enc = Base64Encode(bytes.substr(0, n), true);
    EXPECT_EQ(Base64Decode(enc, "test"), bytes.substr(0, n)) << n;
  }
  EXPECT_EQ(Base64Encode("Man", false), "TWFu");
  EXPECT_EQ(Base64Encode("Ma", false), "TWE=");
  EXPECT_TRUE(Contains(ErrorOf([] { Base64Decode("TW!u", "vocab.src.base64"); }),
                       "vocab.src.base64: expected base64 text, found the character '!'"));
  EXPECT_EQ(Hex64(Fnv1a64("")), "cbf29ce484222325");  // the FNV-1a offset basis
  EXPECT_EQ(Hex64(Fnv1a64("a")), "af63dc4c8601ec8c");
}

}  // namespace
}  // namespace rnnsearch
