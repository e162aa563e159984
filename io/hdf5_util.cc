#include "io/hdf5_util.h"

#include <algorithm>
#include <vector>

#include "common/error.h"

namespace rnnsearch {

bool H5Id::Close() {
  if (id_ < 0) return true;
  const herr_t status = close_(id_);
  id_ = -1;
  return status >= 0;
}

void SilenceHdf5Errors() {
  // At every call, not once per thread: cheap, and the fuzz targets re-arm
  // HDF5's printer before each input to catch a reader that forgot it.
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
}

std::string Hdf5ErrorText() {
  std::vector<std::string> parts;
  auto walk = [](unsigned, const H5E_error2_t* err, void* data) -> herr_t {
    auto* out = static_cast<std::vector<std::string>*>(data);
    if (err->desc != nullptr && err->desc[0] != '\0') out->emplace_back(err->desc);
    return 0;
  };
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, walk, &parts);
  H5Eclear2(H5E_DEFAULT);
  // The innermost records say why (for a failed write: the errno text).
  std::string text;
  const std::size_t from = parts.size() > 3 ? parts.size() - 3 : 0;
  for (std::size_t i = from; i < parts.size(); ++i) {
    if (!text.empty()) text += "; ";
    text += parts[i];
  }
  return text;
}

hid_t H5Check(hid_t status, const std::string& what) {
  if (status >= 0) return status;
  const std::string detail = Hdf5ErrorText();
  throw UserError(what + (detail.empty() ? std::string() : ": " + detail));
}

hid_t SmallestUnsignedType(std::int64_t max_value) {
  if (max_value <= 0xFF) return H5T_STD_U8LE;
  if (max_value <= 0xFFFF) return H5T_STD_U16LE;
  return H5T_STD_U32LE;
}

void WriteIntAttr(hid_t obj, const char* name, std::int64_t value, const std::string& file) {
  const std::string what = "cannot write attribute '" + std::string(name) + "' of '" + file + "'";
  H5Id space(H5Check(H5Screate(H5S_SCALAR), what), H5Sclose);
  H5Id attr(
      H5Check(H5Acreate2(obj, name, H5T_STD_I64LE, space.get(), H5P_DEFAULT, H5P_DEFAULT), what),
      H5Aclose);
  H5Check(H5Awrite(attr.get(), H5T_NATIVE_INT64, &value), what);
}

void WriteStringAttr(hid_t obj, const char* name, const std::string& value,
                     const std::string& file) {
  // Variable-length UTF-8: h5py reads it as str, h5dump prints it.
  const std::string what = "cannot write attribute '" + std::string(name) + "' of '" + file + "'";
  H5Id type(H5Check(H5Tcopy(H5T_C_S1), what), H5Tclose);
  H5Check(H5Tset_size(type.get(), H5T_VARIABLE), what);
  H5Check(H5Tset_cset(type.get(), H5T_CSET_UTF8), what);
  H5Id space(H5Check(H5Screate(H5S_SCALAR), what), H5Sclose);
  H5Id attr(H5Check(H5Acreate2(obj, name, type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT), what),
            H5Aclose);
  const char* data = value.c_str();
  H5Check(H5Awrite(attr.get(), type.get(), &data), what);
}

H5Id OpenScalarAttr(hid_t obj, const char* name, H5T_class_t cls, const std::string& what) {
  H5Id attr(H5Check(H5Aopen(obj, name, H5P_DEFAULT), what), H5Aclose);
  H5Id type(H5Check(H5Aget_type(attr.get()), what), H5Tclose);
  auto name_of = [](H5T_class_t c) {
    return c == H5T_STRING    ? "a string"
           : c == H5T_FLOAT   ? "a number"
           : c == H5T_INTEGER ? "an integer"
                              : "another type";
  };
  const H5T_class_t found = H5Tget_class(type.get());
  if (found != cls) {
    throw UserError(what + ": expected " + name_of(cls) + ", found " + name_of(found));
  }
  // Reading a list of values into one would overrun it.
  H5Id space(H5Check(H5Aget_space(attr.get()), what), H5Sclose);
  const hssize_t n = H5Check(H5Sget_simple_extent_npoints(space.get()), what);
  if (n != 1) {
    throw UserError(what + ": expected one value, found " + std::to_string(n));
  }
  return attr;
}

std::int64_t ReadIntAttr(hid_t obj, const char* name, const std::string& file) {
  const std::string what = "'" + file + "': cannot read the integer attribute '" + name + "'";
  H5Id attr = OpenScalarAttr(obj, name, H5T_INTEGER, what);
  std::int64_t value = 0;
  H5Check(H5Aread(attr.get(), H5T_NATIVE_INT64, &value), what);
  return value;
}

std::string ReadStringAttr(hid_t obj, const char* name, const std::string& file) {
  const std::string what = "'" + file + "': cannot read the string attribute '" + name + "'";
  H5Id attr = OpenScalarAttr(obj, name, H5T_STRING, what);
  H5Id type(H5Check(H5Aget_type(attr.get()), what), H5Tclose);
  if (H5Tis_variable_str(type.get()) > 0) {
    H5Id mem(H5Check(H5Tcopy(H5T_C_S1), what), H5Tclose);
    H5Check(H5Tset_size(mem.get(), H5T_VARIABLE), what);
    H5Check(H5Tset_cset(mem.get(), H5Tget_cset(type.get())), what);
    char* data = nullptr;
    H5Check(H5Aread(attr.get(), mem.get(), &data), what);
    std::string value = data != nullptr ? data : "";
    H5free_memory(data);
    return value;
  }
  const std::size_t size = H5Tget_size(type.get());
  std::string value(size, '\0');
  H5Check(H5Aread(attr.get(), type.get(), value.data()), what);
  value.resize(value.find('\0') == std::string::npos ? size : value.find('\0'));
  return value;
}

void WriteDataset1D(hid_t loc, const char* name, hid_t file_type, hid_t mem_type, const void* data,
                    std::int64_t n, std::int64_t chunk, const std::string& file) {
  const std::string what = "cannot write dataset '" + std::string(name) + "' of '" + file + "'";
  const hsize_t dims[1] = {static_cast<hsize_t>(n)};
  H5Id space(H5Check(H5Screate_simple(1, dims, nullptr), what), H5Sclose);
  H5Id dcpl(H5Check(H5Pcreate(H5P_DATASET_CREATE), what), H5Pclose);
  const hsize_t chunk_dims[1] = {
      static_cast<hsize_t>(std::max<std::int64_t>(1, std::min(n, chunk)))};
  H5Check(H5Pset_chunk(dcpl.get(), 1, chunk_dims), what);
  H5Check(H5Pset_shuffle(dcpl.get()), what);
  H5Check(H5Pset_deflate(dcpl.get(), 1), what);
  H5Check(H5Pset_fletcher32(dcpl.get()), what);
  H5Check(H5Pset_obj_track_times(dcpl.get(), false), what);  // same input, same bytes
  H5Id dset(
      H5Check(H5Dcreate2(loc, name, file_type, space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT),
              what),
      H5Dclose);
  if (n > 0) H5Check(H5Dwrite(dset.get(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data), what);
  if (!dset.Close()) H5Check(-1, what);
}

void CheckStoredLikeDataset1D(hid_t dataset, const std::string& what) {
  H5Id type(H5Check(H5Dget_type(dataset), what), H5Tclose);
  const std::size_t size = H5Tget_size(type.get());
  if (H5Tget_class(type.get()) != H5T_INTEGER ||
      (size != 1 && size != 2 && size != 4 && size != 8)) {
    throw UserError(what + ": expected integers of 1, 2, 4 or 8 bytes, found another type of " +
                    std::to_string(size) + " bytes (the file is damaged)");
  }
  H5Id dcpl(H5Check(H5Dget_create_plist(dataset), what), H5Pclose);
  if (H5Pget_layout(dcpl.get()) != H5D_CHUNKED) {
    throw UserError(what +
                    ": expected a chunked dataset, found another layout (the file is damaged)");
  }
  bool shuffle = false, deflate = false, fletcher32 = false;
  const int filters = H5Check(H5Pget_nfilters(dcpl.get()), what);
  for (int i = 0; i < filters; ++i) {
    unsigned flags = 0;
    std::size_t nvalues = 4;
    unsigned values[4] = {0, 0, 0, 0};
    const H5Z_filter_t id = H5Pget_filter2(dcpl.get(), static_cast<unsigned>(i), &flags, &nvalues,
                                           values, 0, nullptr, nullptr);
    if (id == H5Z_FILTER_SHUFFLE) {
      shuffle = true;
      if (nvalues < 1 || values[0] != size) {
        throw UserError(what + ": the integers are " + std::to_string(size) +
                        " bytes but the chunks were shuffled as " +
                        (nvalues < 1 ? std::string("elements of unknown size")
                                     : std::to_string(values[0]) + "-byte elements") +
                        " (the file is damaged)");
      }
    } else if (id == H5Z_FILTER_DEFLATE) {
      deflate = true;
    } else if (id == H5Z_FILTER_FLETCHER32) {
      fletcher32 = true;
    } else {
      throw UserError(
          what + ": expected only the shuffle, deflate and fletcher32 filters, found " +
          (id < 0 ? std::string("an unreadable filter") : "filter " + std::to_string(id)) +
          " (the file is damaged)");
    }
  }
  if (!shuffle || !deflate || !fletcher32) {
    throw UserError(what +
                    ": expected chunks shuffled, deflated and checksummed (fletcher32), found " +
                    std::to_string(filters) + " filter(s) without " +
                    (!shuffle   ? "shuffle"
                     : !deflate ? "deflate"
                                : "fletcher32") +
                    " (the file is damaged)");
  }
}

std::int64_t DatasetLength(hid_t dataset, const std::string& what) {
  H5Id space(H5Check(H5Dget_space(dataset), what), H5Sclose);
  if (H5Sget_simple_extent_ndims(space.get()) != 1) {
    throw UserError(what + ": expected a 1-D dataset");
  }
  hsize_t dims[1] = {0};
  H5Check(H5Sget_simple_extent_dims(space.get(), dims, nullptr), what);
  return static_cast<std::int64_t>(dims[0]);
}

void ReadRange1D(hid_t dataset, hid_t mem_type, std::int64_t begin, std::int64_t count, void* out,
                 const std::string& what) {
  if (count == 0) return;
  SilenceHdf5Errors();  // also on the prefetch thread
  H5Id file_space(H5Check(H5Dget_space(dataset), what), H5Sclose);
  const hsize_t start[1] = {static_cast<hsize_t>(begin)};
  const hsize_t n[1] = {static_cast<hsize_t>(count)};
  H5Check(H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start, nullptr, n, nullptr), what);
  H5Id mem_space(H5Check(H5Screate_simple(1, n, nullptr), what), H5Sclose);
  H5Check(H5Dread(dataset, mem_type, mem_space.get(), file_space.get(), H5P_DEFAULT, out), what);
}

}  // namespace rnnsearch
