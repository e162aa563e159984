// Reading corpus text files line by line, plain or gzip-compressed (told
// apart by the gzip magic bytes, not by the name).
//
// Offsets are positions in the uncompressed text. A LineReader starts at an
// offset that begins a line (0, or just after a '\n') and yields each line
// without its '\n' and without a trailing '\r'; a last line without '\n'
// is a line. Every failure (missing file, a directory, a read error,
// corrupt gzip data) throws UserError naming the file and the reason.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace rnnsearch {

// Whether the file starts with the gzip magic bytes. Throws UserError if it
// cannot be opened or is not a regular file.
bool IsGzipFile(const std::string& path);

// Size in bytes of a plain file (throws UserError like IsGzipFile).
std::uint64_t FileSize(const std::string& path);

// Plain files only: the first line start at or after `offset` (0 stays 0;
// otherwise the byte after the first '\n' at or after offset - 1), at most
// the file size.
std::uint64_t NextLineStart(const std::string& path, std::uint64_t offset);

// Plain files only: the lines that start in [begin, end), where both are
// line starts (or the file size).
std::int64_t CountLinesInRange(const std::string& path, std::uint64_t begin, std::uint64_t end);

// Lines of a whole file, plain or gzip.
std::int64_t CountLines(const std::string& path);

class LineReader {
 public:
  // Opens `path` and positions it at uncompressed byte `start_offset`.
  explicit LineReader(const std::string& path, std::uint64_t start_offset = 0);
  ~LineReader();
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

  // The next line into *line (valid until the next call); false at the end.
  bool Next(std::string_view* line);
  // Skips up to `n` lines; returns how many were skipped.
  std::int64_t Skip(std::int64_t n);

  const std::string& path() const { return path_; }
  bool gzip() const;

 private:
  class Source;
  // Refills the buffer, keeping [pos_, end_); false when nothing more came.
  bool Fill();

  std::string path_;
  std::unique_ptr<Source> source_;
  std::vector<char> buf_;
  std::size_t pos_ = 0, end_ = 0;
  bool eof_ = false;
};

}  // namespace rnnsearch
