#include "io/run_dir_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "common/error.h"
#include "common/log.h"

namespace rnnsearch {
namespace {

namespace fs = std::filesystem;

std::string Errno(int err) { return std::strerror(err); }

// "PID on host HOST" from a lock file's content, or what is known.
std::string HolderOf(int fd) {
  char buf[512] = {};
  const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
  const std::string text(buf, n > 0 ? static_cast<std::size_t>(n) : 0);
  const auto space = text.find(' ');
  const auto end = text.find('\n');
  if (space == std::string::npos || end == std::string::npos || space > end) {
    return "another process (it has not written its PID yet)";
  }
  return "process " + text.substr(0, space) + " on host " + text.substr(space + 1, end - space - 1);
}

bool SameFile(int fd, const std::string& path) {
  struct stat a {
  }, b{};
  return ::fstat(fd, &a) == 0 && ::stat(path.c_str(), &b) == 0 && a.st_dev == b.st_dev &&
         a.st_ino == b.st_ino;
}

}  // namespace

RunDirLock::RunDirLock(std::string dir) : dir_(std::move(dir)) {
  path_ = (fs::path(dir_) / kFileName).string();
  std::error_code ec;
  if (fs::exists(dir_, ec) && !fs::is_directory(dir_, ec)) {
    throw UserError("the run directory '" + dir_ + "' exists and is not a directory");
  }
  fs::path top = fs::absolute(dir_, ec);
  if (!top.has_filename()) top = top.parent_path();  // "run/"
  for (fs::path p = top; !p.empty() && !fs::exists(p, ec); p = p.parent_path()) {
    created_.push_back(p.string());
    if (p == p.parent_path()) break;
  }
  fs::create_directories(dir_, ec);
  if (ec) throw UserError("cannot create the run directory '" + dir_ + "': " + ec.message());
  try {
    Lock();
  } catch (...) {
    ::close(fd_);
    RemoveCreated();
    throw;
  }
}

void RunDirLock::Lock() {
  for (;;) {
    fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) throw UserError("cannot create the lock file '" + path_ + "': " + Errno(errno));
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      const int err = errno;
      if (err == EWOULDBLOCK) {
        throw UserError("run directory '" + dir_ + "' is in use by " + HolderOf(fd_) +
                        " (it holds the lock on '" + path_ +
                        "'); one trainer per run directory: wait for it to end, or give another "
                        "--run-dir");
      }
      RNN_LOG(kWarn) << "cannot lock '" << path_ << "' (" << Errno(err)
                     << "): this filesystem does not stop a second trainer on the run directory";
      break;
    }
    if (SameFile(fd_, path_)) break;
    ::close(fd_);  // removed by the trainer that held it just before: lock the new one
  }
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  const std::string text = std::to_string(::getpid()) + " " + host + "\n";
  if (::ftruncate(fd_, 0) != 0 ||
      ::pwrite(fd_, text.data(), text.size(), 0) != static_cast<ssize_t>(text.size())) {
    RNN_LOG(kWarn) << "cannot write '" << path_ << "': " << Errno(errno);
  }
}

RunDirLock::~RunDirLock() {
  ::unlink(path_.c_str());
  ::close(fd_);
  RemoveCreated();
}

void RunDirLock::RemoveCreated() {
  for (const std::string& d : created_) {
    if (::rmdir(d.c_str()) != 0) break;  // not empty: the run wrote something
  }
}

}  // namespace rnnsearch
