#include "io/checkpoint_h5.h"

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "common/error.h"

namespace rnnsearch::ckpt {

std::uint32_t Crc32(const void* data, std::size_t bytes) {
  const uLong start = crc32(0L, Z_NULL, 0);
  if (bytes == 0) return static_cast<std::uint32_t>(start);
  return static_cast<std::uint32_t>(crc32_z(start, static_cast<const Bytef*>(data), bytes));
}

std::string CrcText(std::uint32_t crc) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", crc);
  return buf;
}

std::string ShapeText(const std::vector<std::int64_t>& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

std::string SystemReason(const std::string& text) {
  // HDF5's sec2 driver: "file write failed: ..., errno = 28, error message =
  // 'No space left on device', buf = ...".
  const std::string key = "error message = '";
  const auto at = text.find(key);
  if (at == std::string::npos) return text;
  const auto end = text.find('\'', at + key.size());
  if (end == std::string::npos) return text;
  return text.substr(at + key.size(), end - at - key.size());
}

void WriteFixedStringAttr(hid_t obj, const char* name, const std::string& value,
                          const std::string& file) {
  const std::string what = "cannot write attribute '" + std::string(name) + "' of '" + file + "'";
  H5Id type(H5Check(H5Tcopy(H5T_C_S1), what), H5Tclose);
  // HDF5 has no zero-size strings: "" is stored as one null byte.
  H5Check(H5Tset_size(type.get(), value.empty() ? 1 : value.size()), what);
  H5Check(H5Tset_strpad(type.get(), H5T_STR_NULLPAD), what);
  H5Check(H5Tset_cset(type.get(), H5T_CSET_UTF8), what);
  H5Id space(H5Check(H5Screate(H5S_SCALAR), what), H5Sclose);
  H5Id attr(H5Check(H5Acreate2(obj, name, type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT), what),
            H5Aclose);
  const char zero = '\0';
  H5Check(H5Awrite(attr.get(), type.get(), value.empty() ? &zero : value.data()), what);
}

void WriteRealAttr(hid_t obj, const char* name, double value, const std::string& file) {
  const std::string what = "cannot write attribute '" + std::string(name) + "' of '" + file + "'";
  H5Id space(H5Check(H5Screate(H5S_SCALAR), what), H5Sclose);
  H5Id attr(
      H5Check(H5Acreate2(obj, name, H5T_IEEE_F64LE, space.get(), H5P_DEFAULT, H5P_DEFAULT), what),
      H5Aclose);
  H5Check(H5Awrite(attr.get(), H5T_NATIVE_DOUBLE, &value), what);
}

double ReadRealAttr(hid_t obj, const char* name, const std::string& file) {
  const std::string what = "'" + file + "': cannot read the number attribute '" + name + "'";
  H5Id attr = OpenScalarAttr(obj, name, H5T_FLOAT, what);
  double value = 0;
  H5Check(H5Aread(attr.get(), H5T_NATIVE_DOUBLE, &value), what);
  return value;
}

bool HasAttr(hid_t obj, const char* name, const std::string& file) {
  return H5Check(H5Aexists(obj, name),
                 CannotRead(file, "the attribute '" + std::string(name) + "'")) > 0;
}

void TrackCreationOrder(hid_t plist, const std::string& file) {
  H5Check(H5Pset_link_creation_order(plist, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED),
          "cannot create '" + file + "'");
}

H5Id CreateGroup(hid_t loc, const char* name, const std::string& file) {
  const std::string what = "cannot create group '" + std::string(name) + "' in '" + file + "'";
  H5Id gcpl(H5Check(H5Pcreate(H5P_GROUP_CREATE), what), H5Pclose);
  TrackCreationOrder(gcpl.get(), file);
  return H5Id(H5Check(H5Gcreate2(loc, name, H5P_DEFAULT, gcpl.get(), H5P_DEFAULT), what), H5Gclose);
}

void WriteChecked(hid_t loc, const std::string& name, hid_t file_type, hid_t mem_type,
                  const std::vector<std::int64_t>& dims, const void* data, std::size_t bytes,
                  const std::string& file) {
  char group[256] = "";
  H5Iget_name(loc, group, sizeof group);
  const std::string object = std::string(group) + (std::string(group) == "/" ? "" : "/") + name;
  const std::string what = "cannot write the checkpoint '" + file + "': " + object;
  auto check = [&](hid_t status) {
    if (status < 0) throw UserError(what + ": " + SystemReason(Hdf5ErrorText()));
    return status;
  };
  std::vector<hsize_t> hdims(dims.begin(), dims.end());
  H5Id space(
      check(dims.empty() ? H5Screate(H5S_SCALAR)
                         : H5Screate_simple(static_cast<int>(hdims.size()), hdims.data(), nullptr)),
      H5Sclose);
  H5Id dcpl(check(H5Pcreate(H5P_DATASET_CREATE)), H5Pclose);
  check(H5Pset_layout(dcpl.get(), H5D_CONTIGUOUS));  // one run of bytes: H5Dget_offset works
  check(H5Pset_obj_track_times(dcpl.get(), false));  // same contents, same bytes
  check(H5Pset_fill_time(dcpl.get(), H5D_FILL_TIME_NEVER));  // written once, in full
  H5Id dset(check(H5Dcreate2(loc, name.c_str(), file_type, space.get(), H5P_DEFAULT, dcpl.get(),
                             H5P_DEFAULT)),
            H5Dclose);
  if (bytes > 0) check(H5Dwrite(dset.get(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data));
  WriteIntAttr(dset.get(), kCrcAttr, Crc32(data, bytes), file);
  if (!dset.Close()) check(-1);
}

std::vector<std::string> LinkNames(hid_t loc, const std::string& what) {
  std::vector<std::string> names;
  auto add = [](hid_t, const char* name, const H5L_info_t*, void* out) -> herr_t {
    static_cast<std::vector<std::string>*>(out)->emplace_back(name);
    return 0;
  };
  H5Id gcpl(H5Check(H5Gget_create_plist(loc), what), H5Pclose);
  unsigned flags = 0;
  H5Check(H5Pget_link_creation_order(gcpl.get(), &flags), what);
  const H5_index_t index = (flags & H5P_CRT_ORDER_INDEXED) ? H5_INDEX_CRT_ORDER : H5_INDEX_NAME;
  hsize_t at = 0;
  H5Check(H5Literate(loc, index, H5_ITER_INC, &at, add, &names), what);
  return names;
}

std::vector<std::int64_t> DatasetShape(hid_t dataset, const std::string& what) {
  H5Id space(H5Check(H5Dget_space(dataset), what), H5Sclose);
  const int rank = H5Check(H5Sget_simple_extent_ndims(space.get()), what);
  std::vector<hsize_t> dims(static_cast<std::size_t>(rank));
  if (rank > 0) H5Check(H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr), what);
  return std::vector<std::int64_t>(dims.begin(), dims.end());
}

void FsyncPath(const std::string& path, bool directory, const std::string& what) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | (directory ? O_DIRECTORY : 0));
  if (fd < 0) throw UserError(what + ": " + std::strerror(errno));
  const int status = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  // Some filesystems cannot flush a directory (EINVAL): nothing to do there.
  if (status != 0 && !(directory && (err == EINVAL || err == ENOTSUP))) {
    throw UserError(what + ": " + std::strerror(err));
  }
}

std::string CannotRead(const std::string& file, const std::string& object) {
  return "the checkpoint '" + file + "' is damaged: cannot read " + object;
}

void ReadChecked(hid_t dataset, hid_t mem_type, void* out, std::size_t bytes,
                 const std::string& file, const std::string& object) {
  const std::string what = CannotRead(file, object);
  if (bytes > 0) H5Check(H5Dread(dataset, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, out), what);
  if (!HasAttr(dataset, kCrcAttr, file)) {
    throw UserError("the checkpoint '" + file + "' is damaged: " + object +
                    " has no checksum (attribute '" + kCrcAttr + "')");
  }
  const auto stored = static_cast<std::uint32_t>(ReadIntAttr(dataset, kCrcAttr, file));
  const std::uint32_t computed = Crc32(out, bytes);
  if (stored != computed) {
    throw UserError("the checkpoint '" + file + "' is corrupt: " + object +
                    " fails its checksum (stored CRC-32 " + CrcText(stored) + ", computed " +
                    CrcText(computed) + ")");
  }
}

}  // namespace rnnsearch::ckpt
