// SaveCheckpoint: PATH.tmp written through HDF5's sec2 driver straight from
// the caller's buffers (no in-memory image of the whole state), flushed to
// disk, renamed to PATH.
//
// HDF5 cannot recover from a failed write inside its own flush: the file
// stays open in the library and the process crashes at exit. So (1) the
// room needed is checked before anything is written (file size limit, free
// space), and (2) when a write fails anyway, HDF5's file descriptor is
// pointed at an anonymous memory file before the file is closed, so the
// close succeeds (into memory) and the library stays usable; the temporary
// file is then removed and the error reported.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <set>
#include <stdexcept>

#include "common/error.h"
#include "common/version.h"
#include "io/checkpoint.h"
#include "io/checkpoint_h5.h"
#include "io/checkpoint_seal.h"
#include "io/hdf5_util.h"

namespace rnnsearch {
namespace {

using ckpt::WriteChecked;
using ckpt::WriteFixedStringAttr;
using ckpt::WriteRealAttr;

void Require(bool ok, const std::string& message) {
  if (!ok) throw std::invalid_argument("SaveCheckpoint: " + message);
}

void RequireName(const std::string& name, const std::string& what) {
  Require(!name.empty() && name != "." && name.find('/') == std::string::npos,
          what + " name '" + name + "' is empty or contains '/'");
}

void RequireTensors(const ConstTensors& t, const std::string& what) {
  std::set<std::string> names;
  for (const TensorSpec& s : t.specs) {
    RequireName(s.name, what);
    Require(names.insert(s.name).second, what + ": '" + s.name + "' appears twice");
    for (std::int64_t d : s.shape) Require(d >= 0, what + ": '" + s.name + "' has a negative dim");
    Require(s.offset >= 0 && s.offset + s.size() <= static_cast<std::int64_t>(t.data.size()),
            what + ": '" + s.name + "' lies outside its buffer");
  }
}

void RequireValid(const CheckpointContents& c) {
  RequireTensors(c.params, "parameter");
  for (const auto& [name, t] : c.optimizer_buffers) {
    RequireName(name, "optimizer buffer");
    RequireTensors(t, "optimizer buffer '" + name + "'");
  }
  if (c.ema) RequireTensors(*c.ema, "EMA");
  for (const auto& [name, v] : c.meta.state.rng) RequireName(name, "RNG");
  for (const auto& [name, v] : c.meta.optimizer_ints) {
    RequireName(name, "optimizer scalar");
    Require(name != "kind" && !c.meta.optimizer_reals.contains(name),
            "optimizer scalar '" + name + "' is reserved or given twice");
  }
  for (const auto& [name, v] : c.meta.optimizer_reals) {
    RequireName(name, "optimizer scalar");
    Require(name != "kind", "optimizer scalar 'kind' is reserved");
  }
  Require(c.meta.src_vocab.size() > 0 && c.meta.tgt_vocab.size() > 0,
          "both vocabularies are required");
}

// An upper bound of the file's size: the data plus generous room for the
// HDF5 metadata of every object.
std::uint64_t EstimateBytes(const CheckpointContents& c) {
  std::uint64_t bytes = 1 << 16, objects = 16;
  auto add = [&](const ConstTensors& t) {
    for (const TensorSpec& s : t.specs) bytes += 4 * static_cast<std::uint64_t>(s.size());
    objects += t.specs.size();
  };
  add(c.params);
  for (const auto& [name, t] : c.optimizer_buffers) add(t);
  if (c.ema) add(*c.ema);
  for (const auto& [name, v] : c.meta.state.rng) {
    bytes += 8 * v.size();
    ++objects;
  }
  bytes +=
      c.meta.config_yaml.size() + c.meta.src_vocab.bytes().size() + c.meta.tgt_vocab.bytes().size();
  return bytes + objects * 4096;
}

void CheckRoom(const std::string& path, std::uint64_t bytes) {
  const std::string what = "cannot write the checkpoint '" + path + "': it needs about " +
                           std::to_string(bytes) + " bytes, ";
  rlimit limit{};
  if (::getrlimit(RLIMIT_FSIZE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY &&
      bytes > limit.rlim_cur) {
    throw UserError(what + "more than the file size limit of " + std::to_string(limit.rlim_cur) +
                    " bytes (ulimit -f)");
  }
  const std::string dir = std::filesystem::path(path).parent_path().string();
  struct statvfs fs {};
  if (::statvfs(dir.empty() ? "." : dir.c_str(), &fs) == 0 && fs.f_blocks > 0) {
    const std::uint64_t avail = static_cast<std::uint64_t>(fs.f_bavail) * fs.f_frsize;
    if (bytes > avail) {
      throw UserError(what + "but its filesystem has " + std::to_string(avail) +
                      " bytes free: No space left on device");
    }
  }
}

// The temporary file while HDF5 writes it.
class TempH5File {
 public:
  TempH5File(const std::string& tmp, const std::string& path) : path_(path) {
    const std::string what =
        "cannot write the checkpoint '" + path + "': cannot create '" + tmp + "'";
    H5Id fcpl(H5Check(H5Pcreate(H5P_FILE_CREATE), what), H5Pclose);
    ckpt::TrackCreationOrder(fcpl.get(), tmp);
    // Room for the seal (io/checkpoint_seal.h) in front of the HDF5 data.
    H5Check(H5Pset_userblock(fcpl.get(), static_cast<hsize_t>(ckpt::kSealBytes)), what);
    H5Id fapl(H5Check(H5Pcreate(H5P_FILE_ACCESS), what), H5Pclose);
    H5Check(H5Pset_fapl_sec2(fapl.get()), what);
    // Superblock v2 and object headers v2: HDF5 checksums its metadata.
    H5Check(H5Pset_libver_bounds(fapl.get(), H5F_LIBVER_V18, H5F_LIBVER_LATEST), what);
    // One writer, a private name: no locks (flock fails on some cluster filesystems).
    H5Check(H5Pset_file_locking(fapl.get(), false, true), what);
    file_ = H5Fcreate(tmp.c_str(), H5F_ACC_TRUNC, fcpl.get(), fapl.get());
    if (file_ < 0) throw UserError(what + ": " + ckpt::SystemReason(Hdf5ErrorText()));
    void* handle = nullptr;
    if (H5Fget_vfd_handle(file_, fapl.get(), &handle) < 0 || handle == nullptr) {
      Abandon();
      H5Check(-1, what);
    }
    fd_ = *static_cast<int*>(handle);
  }
  ~TempH5File() { Abandon(); }
  TempH5File(const TempH5File&) = delete;
  TempH5File& operator=(const TempH5File&) = delete;

  hid_t get() const { return file_; }

  // Writes everything HDF5 still holds and closes the file.
  void Finish() {
    if (H5Fflush(file_, H5F_SCOPE_GLOBAL) < 0) {
      throw UserError("cannot write the checkpoint '" + path_ +
                      "': " + ckpt::SystemReason(Hdf5ErrorText()));
    }
    const hid_t f = file_;
    file_ = -1;
    if (H5Fclose(f) < 0) {
      throw UserError("cannot write the checkpoint '" + path_ +
                      "': " + ckpt::SystemReason(Hdf5ErrorText()));
    }
  }

  // After a failure: closes the file into an anonymous memory file.
  void Abandon() noexcept {
    if (file_ < 0) return;
    const int mem = ::memfd_create("rnnsearch-abandoned-checkpoint", MFD_CLOEXEC);
    if (mem >= 0 && fd_ >= 0) {
      ::dup2(mem, fd_);
      ::close(mem);
    }
    H5Fclose(file_);
    H5Eclear2(H5E_DEFAULT);
    file_ = -1;
  }

 private:
  std::string path_;
  hid_t file_ = -1;
  int fd_ = -1;
};

void WriteTensors(hid_t loc, const char* group, const ConstTensors& t, const std::string& path) {
  H5Id g = ckpt::CreateGroup(loc, group, path);
  for (const TensorSpec& s : t.specs) {
    WriteChecked(g.get(), s.name, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, s.shape,
                 t.data.data() + s.offset, 4 * static_cast<std::size_t>(s.size()), path);
  }
}

void WriteVocab(hid_t group, const char* name, const Vocab& v, const std::string& path) {
  const std::string& bytes = v.bytes();
  WriteChecked(group, name, H5T_STD_U8LE, H5T_NATIVE_UINT8,
               {static_cast<std::int64_t>(bytes.size())}, bytes.data(), bytes.size(), path);
  H5Id d(H5Check(H5Dopen2(group, name, H5P_DEFAULT), "cannot write '" + path + "'"), H5Dclose);
  WriteFixedStringAttr(d.get(), "kind", v.kind_name(), path);
  WriteIntAttr(d.get(), "size", v.size(), path);
  WriteFixedStringAttr(d.get(), "hash", v.hash_hex(), path);
}

void WriteContents(hid_t root, const CheckpointContents& c, const std::string& path) {
  const CheckpointMeta& m = c.meta;
  WriteFixedStringAttr(root, "format", kCheckpointFormat, path);
  WriteIntAttr(root, "format_version", kCheckpointFormatVersion, path);
  WriteFixedStringAttr(root, "rnnsearch_version", Version(), path);
  WriteFixedStringAttr(root, "git_revision", GitRevision(), path);

  {
    H5Id g = ckpt::CreateGroup(root, "model", path);
    const hid_t id = g.get();
#define W_INT(name, def, lo, hi, doc) WriteIntAttr(id, #name, m.model.name, path);
#define W_REAL(name, def, lo, hi, doc) WriteRealAttr(id, #name, m.model.name, path);
#define W_BOOL(name, def, doc) WriteIntAttr(id, #name, m.model.name ? 1 : 0, path);
#define W_STR(name, def, doc) WriteFixedStringAttr(id, #name, m.model.name, path);
#define W_CHOICE(name, def, choices, doc) WriteFixedStringAttr(id, #name, m.model.name, path);
    RNNSEARCH_MODEL_FIELDS(W_INT, W_REAL, W_BOOL, W_STR, W_CHOICE)
#undef W_INT
#undef W_REAL
#undef W_BOOL
#undef W_STR
#undef W_CHOICE
    WriteIntAttr(id, "src_vocab_size", m.src_vocab.size(), path);
    WriteIntAttr(id, "tgt_vocab_size", m.tgt_vocab.size(), path);
  }

  // The YAML as one fixed-length UTF-8 string (h5dump prints it).
  {
    const std::string what = "cannot write the checkpoint '" + path + "'";
    H5Id type(H5Check(H5Tcopy(H5T_C_S1), what), H5Tclose);
    H5Check(H5Tset_size(type.get(), m.config_yaml.empty() ? 1 : m.config_yaml.size()), what);
    H5Check(H5Tset_strpad(type.get(), H5T_STR_NULLPAD), what);
    H5Check(H5Tset_cset(type.get(), H5T_CSET_UTF8), what);
    const char zero = '\0';
    WriteChecked(root, "config", type.get(), type.get(), {},
                 m.config_yaml.empty() ? &zero : m.config_yaml.data(),
                 m.config_yaml.empty() ? 1 : m.config_yaml.size(), path);
  }

  {
    H5Id g = ckpt::CreateGroup(root, "vocab", path);
    WriteVocab(g.get(), "src", m.src_vocab, path);
    if (m.tgt_vocab == m.src_vocab) {  // a joint vocabulary is stored once
      H5Check(H5Lcreate_hard(g.get(), "src", g.get(), "tgt", H5P_DEFAULT, H5P_DEFAULT),
              "cannot write '" + path + "'");
    } else {
      WriteVocab(g.get(), "tgt", m.tgt_vocab, path);
    }
  }

  {
    const TrainingState& s = m.state;
    H5Id g = ckpt::CreateGroup(root, "state", path);
    const hid_t id = g.get();
    WriteIntAttr(id, "step", s.step, path);
    WriteIntAttr(id, "epoch", s.epoch, path);
    WriteIntAttr(id, "data_epoch", s.position.epoch, path);
    WriteIntAttr(id, "data_batch", s.position.batch, path);
    WriteFixedStringAttr(id, "best_metric", s.best_metric, path);
    WriteRealAttr(id, "best_value", s.best_value, path);
    WriteIntAttr(id, "best_step", s.best_step, path);
    WriteIntAttr(id, "bad_validations", s.bad_validations, path);
    WriteIntAttr(id, "bad_steps", s.bad_steps, path);
    WriteIntAttr(id, "skipped_steps", s.skipped_steps, path);
    WriteRealAttr(id, "elapsed_seconds", s.elapsed_seconds, path);
    H5Id rng = ckpt::CreateGroup(id, "rng", path);
    for (const auto& [name, values] : s.rng) {
      WriteChecked(rng.get(), name, H5T_STD_U64LE, H5T_NATIVE_UINT64,
                   {static_cast<std::int64_t>(values.size())}, values.data(), 8 * values.size(),
                   path);
    }
  }

  WriteTensors(root, "params", c.params, path);

  {
    H5Id g = ckpt::CreateGroup(root, "optimizer", path);
    WriteFixedStringAttr(g.get(), "kind", m.optimizer_kind, path);
    for (const auto& [name, v] : m.optimizer_ints) WriteIntAttr(g.get(), name.c_str(), v, path);
    for (const auto& [name, v] : m.optimizer_reals) WriteRealAttr(g.get(), name.c_str(), v, path);
    for (const auto& [name, t] : c.optimizer_buffers) WriteTensors(g.get(), name.c_str(), t, path);
  }

  if (c.ema) WriteTensors(root, "ema", *c.ema, path);
}

}  // namespace

std::int64_t TensorSpec::size() const {
  std::int64_t n = 1;
  for (std::int64_t d : shape) {
    if (d == 0) return 0;  // before a product of the others could overflow
    n *= d;
  }
  return n;
}

void SaveCheckpoint(const std::string& path, const CheckpointContents& contents) {
  RequireValid(contents);
  SilenceHdf5Errors();
  const std::string tmp = path + ".tmp";
  CheckRoom(path, EstimateBytes(contents));
  const std::string what = "cannot write the checkpoint '" + path + "'";
  try {
    {
      TempH5File file(tmp, path);
      try {
        WriteContents(file.get(), contents, path);
        file.Finish();
      } catch (...) {
        file.Abandon();
        throw;
      }
    }
    ckpt::WriteSeal(tmp, kCheckpointFormatVersion, path);
    ckpt::FsyncPath(tmp, false, what);
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
      throw UserError("cannot rename '" + tmp + "' to '" + path + "': " + std::strerror(errno));
    }
  } catch (...) {
    ::unlink(tmp.c_str());
    throw;
  }
  const std::string dir = std::filesystem::path(path).parent_path().string();
  ckpt::FsyncPath(dir.empty() ? "." : dir, true, what + " (flushing its directory)");
}

}  // namespace rnnsearch
