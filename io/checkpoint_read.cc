// CheckpointReader: opens a checkpoint, checks what it is, reads the meta
// and reads tensors into the caller's buffers, verifying every checksum.
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>
#include <stdexcept>

#include "common/error.h"
#include "io/checkpoint.h"
#include "io/checkpoint_h5.h"
#include "io/checkpoint_seal.h"
#include "io/hdf5_util.h"

namespace rnnsearch {

struct CheckpointReader::File {
  H5Id id;
  std::int64_t bytes = 0;  // the file's size
};

namespace {

using ckpt::CannotRead;
using ckpt::ShapeText;

// HDF5 could not open a sealed file.
// (The seal was right, so this is unlikely: a file sealed by hand?)
[[noreturn]] void ThrowOpenError(const std::string& path, const std::string& hdf5) {
  throw UserError("the checkpoint '" + path + "' is damaged: HDF5 cannot open it: " + hdf5);
}

// Opens the group or dataset `name` in `loc`; `object` is its full path.
H5Id OpenObject(hid_t loc, const std::string& name, const std::string& object, bool dataset,
                const std::string& path) {
  const htri_t exists = H5Lexists(loc, name.c_str(), H5P_DEFAULT);
  H5Check(exists, CannotRead(path, object));
  if (exists == 0) {
    throw UserError("the checkpoint '" + path + "' is incomplete: it has no " + object);
  }
  if (dataset) {
    return H5Id(H5Check(H5Dopen2(loc, name.c_str(), H5P_DEFAULT), CannotRead(path, object)),
                H5Dclose);
  }
  return H5Id(H5Check(H5Gopen2(loc, name.c_str(), H5P_DEFAULT), CannotRead(path, object)),
              H5Gclose);
}

// Bytes of a dataset of `shape` with elements of `element_bytes`, checked
// against the size of the file that holds it (`file_bytes`): a dimension
// or a product larger than that is damage, refused before anything is
// allocated for it (and before a product can overflow).
std::int64_t StoredBytes(const std::vector<std::int64_t>& shape, std::int64_t element_bytes,
                         std::int64_t file_bytes, const std::string& path,
                         const std::string& object) {
  bool fits = true, empty = false;
  for (const std::int64_t d : shape) {
    fits = fits && d >= 0 && d <= file_bytes;
    empty = empty || d == 0;
  }
  std::int64_t n = element_bytes;
  for (std::size_t i = 0; fits && !empty && i < shape.size(); ++i) {
    fits = n <= file_bytes / shape[i];
    n *= shape[i];
  }
  if (!fits || n > file_bytes) {
    throw UserError("the checkpoint '" + path + "' is damaged: " + object + " has shape " +
                    ShapeText(shape) + " (" + std::to_string(element_bytes) +
                    "-byte elements), too large for a file of " + std::to_string(file_bytes) +
                    " bytes");
  }
  return empty ? 0 : n;
}

bool IsType(hid_t dataset, hid_t expected) {
  H5Id type(H5Dget_type(dataset), H5Tclose);
  return type.get() >= 0 && H5Tequal(type.get(), expected) > 0;
}

std::string ReadConfigText(hid_t root, std::int64_t file_bytes, const std::string& path) {
  H5Id d = OpenObject(root, "config", "/config", true, path);
  H5Id type(H5Check(H5Dget_type(d.get()), CannotRead(path, "/config")), H5Tclose);
  if (H5Tget_class(type.get()) != H5T_STRING || H5Tis_variable_str(type.get()) > 0) {
    throw UserError("the checkpoint '" + path +
                    "' is damaged: /config is not a fixed-length string");
  }
  const auto size = static_cast<std::int64_t>(H5Tget_size(type.get()));
  std::string text(static_cast<std::size_t>(StoredBytes({}, size, file_bytes, path, "/config")),
                   '\0');
  ckpt::ReadChecked(d.get(), type.get(), text.data(), text.size(), path, "/config");
  text.erase(text.find_last_not_of('\0') + 1);
  return text;
}

Vocab ReadVocab(hid_t group, const char* name, std::int64_t file_bytes, const std::string& path) {
  const std::string object = std::string("/vocab/") + name;
  H5Id d = OpenObject(group, name, object, true, path);
  if (!IsType(d.get(), H5T_STD_U8LE)) {
    throw UserError("the checkpoint '" + path + "' is damaged: " + object + " is not uint8");
  }
  const std::vector<std::int64_t> shape = ckpt::DatasetShape(d.get(), CannotRead(path, object));
  if (shape.size() != 1) {
    throw UserError("the checkpoint '" + path + "' is damaged: " + object + " is not 1-D");
  }
  std::string bytes(static_cast<std::size_t>(StoredBytes(shape, 1, file_bytes, path, object)),
                    '\0');
  ckpt::ReadChecked(d.get(), H5T_NATIVE_UINT8, bytes.data(), bytes.size(), path, object);
  const std::string kind = ReadStringAttr(d.get(), "kind", path);
  Vocab v = Vocab::Deserialize(kind, std::move(bytes), "the checkpoint '" + path + "' " + object);
  if (v.size() != ReadIntAttr(d.get(), "size", path) ||
      v.hash_hex() != ReadStringAttr(d.get(), "hash", path)) {
    throw UserError("the checkpoint '" + path + "' is damaged: " + object +
                    " does not match its size and hash attributes");
  }
  return v;
}

ModelConfig ReadModel(hid_t root, const std::string& path) {
  H5Id g = OpenObject(root, "model", "/model", false, path);
  const hid_t id = g.get();
  ModelConfig m;  // a key missing from the file (added later) keeps its default
#define R_INT(name, def, lo, hi, doc) \
  if (ckpt::HasAttr(id, #name, path)) m.name = ReadIntAttr(id, #name, path);
#define R_REAL(name, def, lo, hi, doc) \
  if (ckpt::HasAttr(id, #name, path)) m.name = ckpt::ReadRealAttr(id, #name, path);
#define R_BOOL(name, def, doc) \
  if (ckpt::HasAttr(id, #name, path)) m.name = ReadIntAttr(id, #name, path) != 0;
#define R_STR(name, def, doc) \
  if (ckpt::HasAttr(id, #name, path)) m.name = ReadStringAttr(id, #name, path);
#define R_CHOICE(name, def, choices, doc)                                       \
  if (ckpt::HasAttr(id, #name, path)) {                                         \
    m.name = ReadStringAttr(id, #name, path);                                   \
    CheckStoredChoice(path, "/model attribute " #name, "model." #name, m.name); \
  }
  RNNSEARCH_MODEL_FIELDS(R_INT, R_REAL, R_BOOL, R_STR, R_CHOICE)
#undef R_INT
#undef R_REAL
#undef R_BOOL
#undef R_STR
#undef R_CHOICE
  return m;
}

TrainingState ReadState(hid_t root, std::int64_t file_bytes, const std::string& path) {
  H5Id g = OpenObject(root, "state", "/state", false, path);
  const hid_t id = g.get();
  TrainingState s;
  s.step = ReadIntAttr(id, "step", path);
  s.epoch = ReadIntAttr(id, "epoch", path);
  s.position.epoch = ReadIntAttr(id, "data_epoch", path);
  s.position.batch = ReadIntAttr(id, "data_batch", path);
  s.best_metric = ReadStringAttr(id, "best_metric", path);
  s.best_value = ckpt::ReadRealAttr(id, "best_value", path);
  s.best_step = ReadIntAttr(id, "best_step", path);
  s.bad_validations = ReadIntAttr(id, "bad_validations", path);
  // Added later: a file without them had skipped no step.
  if (ckpt::HasAttr(id, "bad_steps", path)) s.bad_steps = ReadIntAttr(id, "bad_steps", path);
  if (ckpt::HasAttr(id, "skipped_steps", path)) {
    s.skipped_steps = ReadIntAttr(id, "skipped_steps", path);
  }
  s.elapsed_seconds = ckpt::ReadRealAttr(id, "elapsed_seconds", path);
  H5Id rng = OpenObject(id, "rng", "/state/rng", false, path);
  for (const std::string& name : ckpt::LinkNames(rng.get(), CannotRead(path, "/state/rng"))) {
    const std::string object = "/state/rng/" + name;
    H5Id d = OpenObject(rng.get(), name, object, true, path);
    const std::vector<std::int64_t> shape = ckpt::DatasetShape(d.get(), CannotRead(path, object));
    if (shape.size() != 1 || !IsType(d.get(), H5T_STD_U64LE)) {
      throw UserError("the checkpoint '" + path + "' is damaged: " + object +
                      " is not a 1-D uint64 dataset");
    }
    std::vector<std::uint64_t>& values = s.rng[name];
    values.resize(static_cast<std::size_t>(StoredBytes(shape, 8, file_bytes, path, object) / 8));
    ckpt::ReadChecked(d.get(), H5T_NATIVE_UINT64, values.data(), 8 * values.size(), path, object);
  }
  return s;
}

// Names and shapes of the datasets in group `loc` (offsets packed).
std::vector<TensorSpec> ListTensors(hid_t loc, const std::string& group, std::int64_t file_bytes,
                                    const std::string& path) {
  std::vector<TensorSpec> specs;
  std::int64_t offset = 0;
  for (const std::string& name : ckpt::LinkNames(loc, CannotRead(path, group))) {
    const std::string object = group + "/" + name;
    H5Id d = OpenObject(loc, name, object, true, path);
    TensorSpec s{name, ckpt::DatasetShape(d.get(), CannotRead(path, object)), offset};
    StoredBytes(s.shape, 4, file_bytes, path, object);  // float32
    offset += s.size();
    specs.push_back(std::move(s));
  }
  return specs;
}

// Attributes of /optimizer by type, and its buffers.
void ReadOptimizer(hid_t root, std::int64_t file_bytes, const std::string& path,
                   CheckpointInfo& info) {
  H5Id g = OpenObject(root, "optimizer", "/optimizer", false, path);
  info.meta.optimizer_kind = ReadStringAttr(g.get(), "kind", path);
  std::vector<std::string> names;
  auto add = [](hid_t, const char* name, const H5A_info_t*, void* out) -> herr_t {
    static_cast<std::vector<std::string>*>(out)->emplace_back(name);
    return 0;
  };
  hsize_t at = 0;
  H5Check(H5Aiterate2(g.get(), H5_INDEX_NAME, H5_ITER_INC, &at, add, &names),
          CannotRead(path, "/optimizer"));
  for (const std::string& name : names) {
    if (name == "kind") continue;
    H5Id attr(H5Check(H5Aopen(g.get(), name.c_str(), H5P_DEFAULT), CannotRead(path, "/optimizer")),
              H5Aclose);
    H5Id type(H5Check(H5Aget_type(attr.get()), CannotRead(path, "/optimizer")), H5Tclose);
    const H5T_class_t cls = H5Tget_class(type.get());
    if (cls == H5T_INTEGER) {
      info.meta.optimizer_ints[name] = ReadIntAttr(g.get(), name.c_str(), path);
    } else if (cls == H5T_FLOAT) {
      info.meta.optimizer_reals[name] = ckpt::ReadRealAttr(g.get(), name.c_str(), path);
    } else {
      throw UserError("the checkpoint '" + path + "' is damaged: /optimizer attribute '" + name +
                      "' is neither an integer nor a number");
    }
  }
  for (const std::string& name : ckpt::LinkNames(g.get(), CannotRead(path, "/optimizer"))) {
    H5Id b = OpenObject(g.get(), name, "/optimizer/" + name, false, path);
    info.optimizer_buffers[name] = ListTensors(b.get(), "/optimizer/" + name, file_bytes, path);
  }
}

// Reads the float32 datasets of `group` (a path from the root) into `out`,
// after checking that names and shapes match exactly.
void ReadTensorGroup(hid_t root, const std::string& group, const MutableTensors& out,
                     std::int64_t file_bytes, const std::string& path) {
  H5Id g = OpenObject(root, group.substr(1), group, false, path);
  const std::vector<TensorSpec> stored = ListTensors(g.get(), group, file_bytes, path);
  std::vector<std::string> problems;
  std::set<std::string> wanted;
  for (const TensorSpec& s : out.specs) {
    if (s.offset < 0 || s.offset + s.size() > static_cast<std::int64_t>(out.data.size())) {
      throw std::invalid_argument("CheckpointReader: '" + s.name + "' lies outside its buffer");
    }
    wanted.insert(s.name);
    const auto it = std::find_if(stored.begin(), stored.end(),
                                 [&](const TensorSpec& t) { return t.name == s.name; });
    if (it == stored.end()) {
      problems.push_back(group + "/" + s.name + " is missing (the model has " + ShapeText(s.shape) +
                         ")");
    } else if (it->shape != s.shape) {
      problems.push_back(group + "/" + s.name + " has shape " + ShapeText(it->shape) +
                         ", the model has " + ShapeText(s.shape));
    }
  }
  for (const TensorSpec& t : stored) {
    if (!wanted.contains(t.name)) {
      problems.push_back(group + "/" + t.name + " " + ShapeText(t.shape) +
                         " is not a tensor of the model");
    }
  }
  if (!problems.empty()) {
    std::string text;
    for (const std::string& p : problems) text += (text.empty() ? "" : "; ") + p;
    throw UserError("the checkpoint '" + path + "' does not fit the model: " + text);
  }
  for (const TensorSpec& s : out.specs) {
    const std::string object = group + "/" + s.name;
    H5Id d = OpenObject(g.get(), s.name, object, true, path);
    if (!IsType(d.get(), H5T_IEEE_F32LE)) {
      throw UserError("the checkpoint '" + path + "' is damaged: " + object + " is not float32");
    }
    ckpt::ReadChecked(d.get(), H5T_NATIVE_FLOAT, out.data.data() + s.offset,
                      4 * static_cast<std::size_t>(s.size()), path, object);
  }
}

}  // namespace

CheckpointReader::CheckpointReader(const std::string& path) : file_(std::make_unique<File>()) {
  SilenceHdf5Errors();
  info_.path = path;
  // The seal first: HDF5 never parses a damaged or truncated file.
  info_.format_version = ckpt::CheckSeal(path, kCheckpointFormatVersion);
  H5Id fapl(H5Check(H5Pcreate(H5P_FILE_ACCESS), CannotRead(path, "/")), H5Pclose);
  H5Check(H5Pset_file_locking(fapl.get(), false, true), CannotRead(path, "/"));
  const hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl.get());
  if (f < 0) ThrowOpenError(path, Hdf5ErrorText());
  file_->id = H5Id(f, H5Fclose);
  hsize_t file_bytes = 0;
  H5Check(H5Fget_filesize(f, &file_bytes), CannotRead(path, "/"));
  file_->bytes = static_cast<std::int64_t>(file_bytes);

  const std::string file = "the checkpoint '" + path + "'";
  if (!ckpt::HasAttr(f, "format", path) || ReadStringAttr(f, "format", path) != kCheckpointFormat) {
    throw UserError(file + " is not an rnnsearch checkpoint (its root has no attribute format = '" +
                    kCheckpointFormat + "')");
  }
  const std::int64_t version = ReadIntAttr(f, "format_version", path);
  if (version != info_.format_version) {
    throw UserError(file + " is damaged: its header records format version " +
                    std::to_string(info_.format_version) + ", its root attribute " +
                    std::to_string(version));
  }
  info_.rnnsearch_version = ReadStringAttr(f, "rnnsearch_version", path);
  info_.git_revision = ReadStringAttr(f, "git_revision", path);

  CheckpointMeta& m = info_.meta;
  m.model = ReadModel(f, path);
  m.config_yaml = ReadConfigText(f, file_->bytes, path);
  {
    H5Id g = OpenObject(f, "vocab", "/vocab", false, path);
    m.src_vocab = ReadVocab(g.get(), "src", file_->bytes, path);
    m.tgt_vocab = ReadVocab(g.get(), "tgt", file_->bytes, path);
  }
  m.state = ReadState(f, file_->bytes, path);
  {
    H5Id g = OpenObject(f, "params", "/params", false, path);
    info_.params = ListTensors(g.get(), "/params", file_->bytes, path);
  }
  ReadOptimizer(f, file_->bytes, path, info_);
  const htri_t ema = H5Lexists(f, "ema", H5P_DEFAULT);
  H5Check(ema, CannotRead(path, "/ema"));
  info_.has_ema = ema > 0;
}

CheckpointReader::~CheckpointReader() = default;
CheckpointReader::CheckpointReader(CheckpointReader&&) noexcept = default;
CheckpointReader& CheckpointReader::operator=(CheckpointReader&&) noexcept = default;

void CheckpointReader::ReadParams(const MutableTensors& out) const {
  ReadTensorGroup(file_->id.get(), "/params", out, file_->bytes, info_.path);
}

void CheckpointReader::ReadEma(const MutableTensors& out) const {
  if (!info_.has_ema) {
    throw UserError("the checkpoint '" + info_.path +
                    "' has no moving average of the parameters (/ema)");
  }
  ReadTensorGroup(file_->id.get(), "/ema", out, file_->bytes, info_.path);
}

void CheckpointReader::ReadOptimizerBuffer(const std::string& name,
                                           const MutableTensors& out) const {
  if (!info_.optimizer_buffers.contains(name)) {
    throw UserError("the checkpoint '" + info_.path + "' has no optimizer buffer '" + name +
                    "' (/optimizer/" + name + "; it was written with optimizer '" +
                    info_.meta.optimizer_kind + "')");
  }
  ReadTensorGroup(file_->id.get(), "/optimizer/" + name, out, file_->bytes, info_.path);
}

void CheckpointReader::VerifyTensors() const {
  std::vector<std::pair<std::string, std::vector<TensorSpec>>> groups;
  groups.emplace_back("/params", info_.params);
  for (const auto& [name, specs] : info_.optimizer_buffers) {
    groups.emplace_back("/optimizer/" + name, specs);
  }
  if (info_.has_ema) {
    H5Id g = OpenObject(file_->id.get(), "ema", "/ema", false, info_.path);
    groups.emplace_back("/ema", ListTensors(g.get(), "/ema", file_->bytes, info_.path));
  }
  std::vector<float> scratch;
  for (const auto& [group, specs] : groups) {
    for (const TensorSpec& s : specs) {
      scratch.resize(static_cast<std::size_t>(s.size()));
      const std::string object = group + "/" + s.name;
      H5Id d = OpenObject(file_->id.get(), object, object, true, info_.path);
      if (!IsType(d.get(), H5T_IEEE_F32LE)) {
        throw UserError("the checkpoint '" + info_.path + "' is damaged: " + object +
                        " is not float32");
      }
      ckpt::ReadChecked(d.get(), H5T_NATIVE_FLOAT, scratch.data(), 4 * scratch.size(), info_.path,
                        object);
    }
  }
}

}  // namespace rnnsearch
