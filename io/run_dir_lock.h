// One trainer per run directory (rank 0 of `rnnsearch train` holds it).
//
// The lock is an exclusive flock(2) on DIR/train.lock, taken without
// waiting before anything in DIR is written. The kernel releases it when
// the process ends in any way (a crash, SIGKILL), so a lock file left by a
// killed trainer does not stop the next one: its content is overwritten.
// The file holds "PID HOST\n" of the holder, which a second trainer reads
// for its message. On NFS, Linux takes flock as a lock of the server
// (NLM), which every client sees; on a filesystem that refuses locks
// (ENOLCK, EOPNOTSUPP) the trainer warns and runs without one, and on NFS
// mounted with `nolock` the lock only excludes trainers on the same host.
//
// Ending (the destructor): the lock file is removed while still locked
// (a trainer that opened it just before checks, after locking, that it
// locked the file that is there, and retries otherwise), then the
// directories this lock created, if they are empty: a failed first start
// leaves nothing behind, a directory that existed before stays.
#pragma once

#include <string>
#include <vector>

namespace rnnsearch {

class RunDirLock {
 public:
  static constexpr const char* kFileName = "train.lock";

  // Creates `dir` (and missing parents) and locks it. Throws UserError
  // "run directory 'DIR' is in use by process PID on host HOST" when
  // another process holds the lock, or naming DIR and the system's reason
  // when it cannot be created.
  explicit RunDirLock(std::string dir);
  ~RunDirLock();
  RunDirLock(const RunDirLock&) = delete;
  RunDirLock& operator=(const RunDirLock&) = delete;

  const std::string& path() const { return path_; }  // DIR/train.lock

 private:
  // Opens and locks path_ into fd_, and writes the holder into it.
  void Lock();
  // Removes the directories in created_ that are empty, deepest first.
  void RemoveCreated();

  std::string dir_, path_;
  std::vector<std::string> created_;  // directories made here, deepest first
  int fd_ = -1;
};

}  // namespace rnnsearch
