#include "io/checkpoint_dir.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include "common/error.h"
#include "common/log.h"
#include "io/checkpoint_h5.h"

namespace rnnsearch {
namespace {

namespace fs = std::filesystem;

constexpr const char* kPrefix = "ckpt-";
constexpr const char* kSuffix = ".h5";
constexpr const char* kBest = "best.h5";

// The step of "ckpt-<digits>.h5" (with `extra` after ".h5"), or -1.
std::int64_t StepOf(const std::string& name, const std::string& extra = "") {
  const std::string prefix = kPrefix, suffix = std::string(kSuffix) + extra;
  if (name.size() <= prefix.size() + suffix.size() || !name.starts_with(prefix) ||
      !name.ends_with(suffix)) {
    return -1;
  }
  const std::string digits =
      name.substr(prefix.size(), name.size() - prefix.size() - suffix.size());
  if (digits.size() > 18 ||
      !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return -1;
  }
  return std::stoll(digits);
}

void Remove(const std::string& path) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    throw UserError("cannot remove '" + path + "': " + std::strerror(errno));
  }
}

void Rename(const std::string& from, const std::string& to) {
  if (std::rename(from.c_str(), to.c_str()) != 0) {
    throw UserError("cannot rename '" + from + "' to '" + to + "': " + std::strerror(errno));
  }
}

// `to` becomes the same file as `from`: a hard link, or a flushed copy
// where the filesystem has no hard links.
void LinkOrCopy(const std::string& from, const std::string& to) {
  Remove(to);
  if (::link(from.c_str(), to.c_str()) == 0) return;
  std::error_code ec;
  fs::copy_file(from, to, fs::copy_options::overwrite_existing, ec);
  if (ec) {
    Remove(to);
    throw UserError("cannot copy '" + from + "' to '" + to + "': " + ec.message());
  }
  ckpt::FsyncPath(to, false, "cannot write '" + to + "'");
}

}  // namespace

CheckpointDir::CheckpointDir(std::string dir, std::int64_t keep)
    : dir_(std::move(dir)), keep_(keep) {
  if (keep_ < 1) throw std::invalid_argument("CheckpointDir: keep must be at least 1");
  std::error_code ec;
  if (fs::exists(dir_, ec) && !fs::is_directory(dir_, ec)) {
    throw UserError("the run directory '" + dir_ + "' exists and is not a directory");
  }
  fs::create_directories(dir_, ec);
  if (ec) throw UserError("cannot create the run directory '" + dir_ + "': " + ec.message());
  for (fs::directory_iterator it(dir_, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (StepOf(name, ".tmp") >= 0 || name == std::string(kBest) + ".tmp") {
      RNN_LOG(kWarn) << "removing '" << it->path().string()
                     << "', left by a checkpoint write that was interrupted";
      Remove(it->path().string());
    }
  }
  if (ec) throw UserError("cannot list the run directory '" + dir_ + "': " + ec.message());
}

std::string CheckpointDir::FileName(std::int64_t step) {
  return kPrefix + std::to_string(step) + kSuffix;
}

std::string CheckpointDir::PathOf(std::int64_t step) const { return dir_ + "/" + FileName(step); }

std::string CheckpointDir::BestPath() const { return dir_ + "/" + kBest; }

std::vector<CheckpointEntry> CheckpointDir::List() const {
  std::vector<CheckpointEntry> out;
  std::error_code ec;
  for (fs::directory_iterator it(dir_, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    const std::int64_t step = StepOf(name);
    if (step >= 0) out.push_back({step, dir_ + "/" + name});
  }
  if (ec) throw UserError("cannot list the run directory '" + dir_ + "': " + ec.message());
  std::sort(out.begin(), out.end(),
            [](const CheckpointEntry& a, const CheckpointEntry& b) { return a.step > b.step; });
  return out;
}

std::string CheckpointDir::Save(const CheckpointContents& contents, bool best) {
  const std::int64_t step = contents.meta.state.step;
  if (step < 0) throw std::invalid_argument("CheckpointDir::Save: negative step");
  const std::string path = PathOf(step);
  SaveCheckpoint(path, contents);
  if (best) {
    const std::string tmp = BestPath() + ".tmp";
    LinkOrCopy(path, tmp);
    Rename(tmp, BestPath());
  }
  Rotate(step);
  ckpt::FsyncPath(dir_, true, "cannot flush the run directory '" + dir_ + "'");
  return path;
}

void CheckpointDir::Rotate(std::int64_t saved_step) {
  // The new checkpoint is safe: a failure here costs disk space, not
  // training, so it is a warning.
  std::int64_t kept = 0;
  for (const CheckpointEntry& e : List()) {  // newest first
    try {
      if (e.step > saved_step) {
        const std::string aside = e.path + ".superseded";
        RNN_LOG(kWarn) << "moving '" << e.path << "' aside to '" << aside
                       << "': its step is after the checkpoint just written (step " << saved_step
                       << "), so it belongs to training that was resumed from an earlier point";
        Rename(e.path, aside);
      } else if (++kept > keep_) {
        Remove(e.path);
      }
    } catch (const UserError& error) {
      RNN_LOG(kWarn) << "checkpoint rotation: " << error.what();
    }
  }
}

std::optional<std::string> CheckpointDir::NewestValid() const {
  std::vector<std::string> candidates;
  std::vector<std::pair<dev_t, ino_t>> seen;
  auto add = [&](const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0) {
      const auto id = std::make_pair(st.st_dev, st.st_ino);
      if (std::find(seen.begin(), seen.end(), id) != seen.end()) return;  // best.h5 is a link
      seen.push_back(id);
    }
    candidates.push_back(path);
  };
  for (const CheckpointEntry& e : List()) add(e.path);
  if (fs::exists(BestPath())) add(BestPath());
  for (const std::string& path : candidates) {
    try {
      CheckpointReader reader(path);  // checks the seal: every byte of the file
      return path;
    } catch (const UserError& e) {
      RNN_LOG(kWarn) << "skipping the checkpoint '" << path << "': " << e.what();
    }
  }
  return std::nullopt;
}

}  // namespace rnnsearch
