#include "io/checkpoint_seal.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <sstream>
#include <vector>

#include "common/error.h"
#include "common/file_read.h"
#include "io/checkpoint_h5.h"

namespace rnnsearch::ckpt {
namespace {

constexpr char kMagic[] = "rnnsearch-checkpoint\n";
constexpr char kHdf5Signature[] = "\x89HDF\r\n\x1a\n";

// Closes a file descriptor at the end of a scope.
struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

// Reads up to `n` bytes at `offset`; returns how many (fewer only at the end).
std::size_t ReadAt(int fd, char* out, std::size_t n, std::int64_t offset, const std::string& what) {
  std::size_t done = 0;
  while (done < n) {
    const ssize_t r = ::pread(fd, out + done, n - done, offset + static_cast<off_t>(done));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) throw UserError(what + ": " + std::strerror(errno));
    if (r == 0) break;
    done += static_cast<std::size_t>(r);
  }
  return done;
}

// CRC-32 of bytes [kSealBytes, size) of the file.
std::uint32_t ContentCrc(int fd, std::int64_t size, const std::string& what) {
  std::vector<char> buf(std::size_t{1} << 20);
  uLong crc = crc32(0L, Z_NULL, 0);
  for (std::int64_t at = kSealBytes; at < size;) {
    const std::size_t want = static_cast<std::size_t>(
        std::min<std::int64_t>(static_cast<std::int64_t>(buf.size()), size - at));
    const std::size_t got = ReadAt(fd, buf.data(), want, at, what);
    if (got == 0) throw UserError(what + ": the file shrank while it was read");
    crc = crc32_z(crc, reinterpret_cast<const Bytef*>(buf.data()), got);
    at += static_cast<std::int64_t>(got);
  }
  return static_cast<std::uint32_t>(crc);
}

}  // namespace

void WriteSeal(const std::string& path, std::int64_t format_version, const std::string& name) {
  const std::string what = "cannot write the checkpoint '" + name + "'";
  Fd f{::open(path.c_str(), O_RDWR | O_CLOEXEC)};
  if (f.fd < 0) throw UserError(what + ": " + std::strerror(errno));
  struct stat st {};
  if (::fstat(f.fd, &st) != 0) throw UserError(what + ": " + std::strerror(errno));
  const std::int64_t size = st.st_size;
  char crc_hex[16];
  std::snprintf(crc_hex, sizeof crc_hex, "%08x", ContentCrc(f.fd, size, what));
  std::string header = std::string(kMagic) + "format_version " + std::to_string(format_version) +
                       "\nbytes " + std::to_string(size) + "\ncrc32 " + crc_hex + "\n";
  header.resize(static_cast<std::size_t>(kSealBytes), '\0');
  for (std::size_t done = 0; done < header.size();) {
    const ssize_t n =
        ::pwrite(f.fd, header.data() + done, header.size() - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw UserError(what + ": " + std::strerror(n < 0 ? errno : ENOSPC));
    done += static_cast<std::size_t>(n);
  }
}

std::int64_t CheckSeal(const std::string& path, std::int64_t max_version) {
  const std::string file = "the checkpoint '" + path + "'";
  RefuseDirectory(path, "the checkpoint");
  Fd f{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (f.fd < 0) {
    throw UserError("cannot open the checkpoint '" + path + "': " + std::strerror(errno));
  }
  struct stat st {};
  if (::fstat(f.fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    throw UserError("cannot open the checkpoint '" + path + "': not a regular file");
  }
  const std::int64_t size = st.st_size;
  const std::string what = "cannot read the checkpoint '" + path + "'";
  std::string head(static_cast<std::size_t>(kSealBytes), '\0');
  head.resize(ReadAt(f.fd, head.data(), head.size(), 0, what));

  const std::string magic = kMagic;
  if (size == 0) throw UserError(file + " is empty (0 bytes)");
  if (!head.starts_with(magic)) {
    if (head.size() < magic.size() && magic.starts_with(head)) {
      throw UserError(file + " is truncated: it has " + std::to_string(size) + " bytes");
    }
    if (head.starts_with(kHdf5Signature)) {
      throw UserError(file +
                      " is an HDF5 file but not an rnnsearch checkpoint (it has no "
                      "rnnsearch header)");
    }
    throw UserError(file + " is not an rnnsearch checkpoint (it does not start with the line '" +
                    magic.substr(0, magic.size() - 1) + "')");
  }
  if (size < kSealBytes) {
    throw UserError(file + " is truncated: it has " + std::to_string(size) +
                    " bytes, fewer than its " + std::to_string(kSealBytes) + "-byte header");
  }
  std::istringstream in(head.substr(magic.size(), head.find('\0') - magic.size()));
  std::string k1, k2, k3, crc_hex;
  std::int64_t version = -1, bytes = -1;
  if (!(in >> k1 >> version >> k2 >> bytes >> k3 >> crc_hex) || k1 != "format_version" ||
      k2 != "bytes" || k3 != "crc32" || crc_hex.size() != 8 ||
      crc_hex.find_first_not_of("0123456789abcdef") != std::string::npos) {
    throw UserError(file + " is damaged: its header (the first 512 bytes) is malformed");
  }
  if (version > max_version) {
    throw UserError(file + " has format version " + std::to_string(version) +
                    ", newer than this rnnsearch reads (up to " + std::to_string(max_version) +
                    "); use a newer rnnsearch");
  }
  if (version < 1) {
    throw UserError(file + " is damaged: its header records format version " +
                    std::to_string(version));
  }
  if (size != bytes) {
    throw UserError(file + (size < bytes ? " is truncated" : " is damaged") + ": it has " +
                    std::to_string(size) + " bytes, its header records " + std::to_string(bytes) +
                    (size < bytes ? " (a write or copy that did not finish?)" : ""));
  }
  const std::uint32_t stored = static_cast<std::uint32_t>(std::stoul(crc_hex, nullptr, 16));
  const std::uint32_t computed = ContentCrc(f.fd, size, what);
  if (stored != computed) {
    throw UserError(file + " is corrupt: the CRC-32 of its contents is " + CrcText(computed) +
                    ", its header records " + CrcText(stored));
  }
  return version;
}

}  // namespace rnnsearch::ckpt
