#include "io/text_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/error.h"
#include "common/file_read.h"

namespace rnnsearch {
namespace {

constexpr std::size_t kBlock = 1 << 20;

std::string Errno(int err) { return std::strerror(err); }

// Opens `path` read-only, refusing directories and other non-files.
int OpenRegular(const std::string& path) {
  RefuseDirectory(path);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw UserError("cannot open '" + path + "': " + Errno(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw UserError("cannot read '" + path + "': not a regular file");
  }
  return fd;
}

class Fd {
 public:
  explicit Fd(const std::string& path) : fd_(OpenRegular(path)) {}
  ~Fd() { ::close(fd_); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// pread that retries on EINTR and throws on error; returns bytes read.
std::size_t PreadSome(int fd, char* dst, std::size_t n, std::uint64_t offset,
                      const std::string& path) {
  for (;;) {
    const ssize_t got = ::pread(fd, dst, n, static_cast<off_t>(offset));
    if (got >= 0) return static_cast<std::size_t>(got);
    if (errno != EINTR) throw UserError("cannot read '" + path + "': " + Errno(errno));
  }
}

}  // namespace

bool IsGzipFile(const std::string& path) {
  Fd fd(path);
  unsigned char magic[2] = {0, 0};
  const std::size_t n = PreadSome(fd.get(), reinterpret_cast<char*>(magic), 2, 0, path);
  return n == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
}

std::uint64_t FileSize(const std::string& path) {
  Fd fd(path);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) throw UserError("cannot stat '" + path + "': " + Errno(errno));
  return static_cast<std::uint64_t>(st.st_size);
}

std::uint64_t NextLineStart(const std::string& path, std::uint64_t offset) {
  if (offset == 0) return 0;
  Fd fd(path);
  std::vector<char> buf(1 << 16);
  std::uint64_t at = offset - 1;
  for (;;) {
    const std::size_t n = PreadSome(fd.get(), buf.data(), buf.size(), at, path);
    if (n == 0) return at;  // end of file
    const void* nl = std::memchr(buf.data(), '\n', n);
    if (nl != nullptr) return at + (static_cast<const char*>(nl) - buf.data()) + 1;
    at += n;
  }
}

std::int64_t CountLinesInRange(const std::string& path, std::uint64_t begin, std::uint64_t end) {
  if (end <= begin) return 0;
  Fd fd(path);
  std::vector<char> buf(kBlock);
  std::int64_t lines = 0;
  char last = '\n';
  for (std::uint64_t at = begin; at < end;) {
    const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(kBlock, end - at));
    const std::size_t n = PreadSome(fd.get(), buf.data(), want, at, path);
    if (n == 0) break;
    lines += std::count(buf.data(), buf.data() + n, '\n');
    last = buf[n - 1];
    at += n;
  }
  return lines + (last != '\n' ? 1 : 0);
}

std::int64_t CountLines(const std::string& path) {
  LineReader reader(path);
  return reader.Skip(INT64_MAX);
}

// A byte stream: plain file or gzip.
class LineReader::Source {
 public:
  explicit Source(const std::string& path) : path_(path), fd_(OpenRegular(path)) {
    unsigned char magic[2] = {0, 0};
    gzip_ = PreadSome(fd_, reinterpret_cast<char*>(magic), 2, 0, path) == 2 && magic[0] == 0x1f &&
            magic[1] == 0x8b;
    if (gzip_) {
      gz_ = gzdopen(fd_, "rb");
      if (gz_ == nullptr) {
        ::close(fd_);
        throw UserError("cannot read '" + path + "': cannot start gzip decompression");
      }
      gzbuffer(gz_, 1 << 18);
    }
  }
  ~Source() {
    if (gzip_) {
      gzclose_r(gz_);  // closes fd_ too
    } else {
      ::close(fd_);
    }
  }
  Source(const Source&) = delete;
  Source& operator=(const Source&) = delete;

  void Seek(std::uint64_t offset) {
    if (gzip_) {
      // Emulated by decompressing forward; an offset past the end stops there.
      if (gzseek(gz_, static_cast<z_off_t>(offset), SEEK_SET) < 0) GzFail();
    } else {
      offset_ = offset;
    }
  }

  std::size_t Read(char* dst, std::size_t n) {
    if (gzip_) {
      const int got = gzread(gz_, dst, static_cast<unsigned>(std::min<std::size_t>(n, 1u << 30)));
      int code = Z_OK;
      // At the end, a stream cut short shows only as Z_BUF_ERROR.
      if (got < 0 || (got == 0 && (gzerror(gz_, &code), code != Z_OK))) GzFail();
      return static_cast<std::size_t>(got);
    }
    const std::size_t got = PreadSome(fd_, dst, n, offset_, path_);
    offset_ += got;
    return got;
  }

  bool gzip() const { return gzip_; }

 private:
  [[noreturn]] void GzFail() {
    int code = 0;
    const char* msg = gzerror(gz_, &code);
    if (code == Z_ERRNO) msg = std::strerror(errno);
    throw UserError("cannot read '" + path_ + "': corrupt or truncated gzip data (" +
                    (msg ? msg : "unknown zlib error") + ")");
  }

  std::string path_;
  int fd_;
  bool gzip_ = false;
  gzFile gz_ = nullptr;
  std::uint64_t offset_ = 0;
};

LineReader::LineReader(const std::string& path, std::uint64_t start_offset)
    : path_(path), source_(std::make_unique<Source>(path)), buf_(kBlock) {
  source_->Seek(start_offset);
}

LineReader::~LineReader() = default;

bool LineReader::gzip() const { return source_->gzip(); }

bool LineReader::Fill() {
  if (eof_) return false;
  if (pos_ > 0) {
    std::memmove(buf_.data(), buf_.data() + pos_, end_ - pos_);
    end_ -= pos_;
    pos_ = 0;
  }
  if (end_ == buf_.size()) buf_.resize(buf_.size() * 2);  // a line longer than the buffer
  const std::size_t got = source_->Read(buf_.data() + end_, buf_.size() - end_);
  if (got == 0) {
    eof_ = true;
    return false;
  }
  end_ += got;
  return true;
}

bool LineReader::Next(std::string_view* line) {
  std::size_t searched = pos_;
  for (;;) {
    const void* nl = std::memchr(buf_.data() + searched, '\n', end_ - searched);
    if (nl != nullptr) {
      const std::size_t at = static_cast<const char*>(nl) - buf_.data();
      std::size_t len = at - pos_;
      if (len > 0 && buf_[at - 1] == '\r') --len;
      *line = std::string_view(buf_.data() + pos_, len);
      pos_ = at + 1;
      return true;
    }
    const std::size_t kept = end_ - pos_;
    if (!Fill()) {
      if (pos_ == end_) return false;
      std::size_t len = end_ - pos_;
      if (buf_[end_ - 1] == '\r') --len;
      *line = std::string_view(buf_.data() + pos_, len);
      pos_ = end_;
      return true;
    }
    searched = pos_ + kept;
  }
}

std::int64_t LineReader::Skip(std::int64_t n) {
  std::int64_t skipped = 0;
  std::string_view line;
  while (skipped < n && Next(&line)) ++skipped;
  return skipped;
}

}  // namespace rnnsearch
