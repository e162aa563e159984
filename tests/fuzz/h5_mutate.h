// The structured mutator of the HDF5 fuzz targets: it rewrites objects and
// attributes of a valid file through the HDF5 API, driven by the fuzz
// input, so that the file stays parseable and its *contents* are wrong:
// a dataset deleted, replaced with another type or shape (up to 2^62
// elements, unallocated), one element set to an absurd value (with or
// without a fixed-up crc32 attribute), a stray dataset added; an attribute
// deleted, or replaced with an absurd integer, a NaN, a string or a list.
#pragma once

#include <hdf5.h>
#include <zlib.h>

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "io/hdf5_util.h"
#include "tests/fuzz/fuzz_util.h"

namespace rnnsearch::fuzz {

// One thing to mutate: an object ("/params/x"), or one of its attributes.
struct H5Target {
  std::string object;
  std::string attr;  // "" for the object itself
};

// Every object of the file at `path` and every attribute, the root's
// included, in a fixed order.
inline std::vector<H5Target> ListH5Targets(const std::string& path) {
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  std::vector<H5Target> out;
  H5Id file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  if (file.get() < 0) Fail("cannot open the seed " + path);
  std::vector<std::string> objects = {"/"};
  auto add_link = [](hid_t, const char* name, const H5L_info_t*, void* data) -> herr_t {
    static_cast<std::vector<std::string>*>(data)->push_back(std::string("/") + name);
    return 0;
  };
  H5Lvisit(file.get(), H5_INDEX_NAME, H5_ITER_INC, add_link, &objects);
  for (const std::string& o : objects) {
    if (o != "/") out.push_back({o, ""});
    std::vector<std::string> attrs;
    auto add_attr = [](hid_t, const char* name, const H5A_info_t*, void* data) -> herr_t {
      static_cast<std::vector<std::string>*>(data)->emplace_back(name);
      return 0;
    };
    H5Aiterate_by_name(file.get(), o.c_str(), H5_INDEX_NAME, H5_ITER_INC, nullptr, add_attr, &attrs,
                       H5P_DEFAULT);
    for (const std::string& a : attrs) out.push_back({o, a});
  }
  return out;
}

namespace h5m {

inline hid_t PickType(Input& in) {
  static const hid_t* const kTypes[] = {&H5T_STD_U8LE_g,  &H5T_STD_I8LE_g,   &H5T_STD_U16LE_g,
                                        &H5T_STD_I32LE_g, &H5T_STD_U32LE_g,  &H5T_STD_I64LE_g,
                                        &H5T_STD_U64LE_g, &H5T_IEEE_F32LE_g, &H5T_IEEE_F64LE_g};
  return *kTypes[in.Byte() % std::size(kTypes)];
}

// Writes a crc32 attribute (as the checkpoint writer does) over `bytes`.
inline void SetCrc(hid_t obj, const std::string& bytes) {
  H5Adelete(obj, "crc32");
  const std::uint32_t crc = static_cast<std::uint32_t>(
      crc32_z(crc32(0L, Z_NULL, 0), reinterpret_cast<const Bytef*>(bytes.data()), bytes.size()));
  const std::int64_t value = crc;
  H5Id space(H5Screate(H5S_SCALAR), H5Sclose);
  H5Id attr(H5Acreate2(obj, "crc32", H5T_STD_I64LE, space.get(), H5P_DEFAULT, H5P_DEFAULT),
            H5Aclose);
  H5Awrite(attr.get(), H5T_NATIVE_INT64, &value);
}

// A new dataset at `name`: any type, rank 0 to 3, small or absurd
// dimensions; written (and checksummed) when it is small, else left
// unallocated.
inline void CreateDataset(hid_t file, const std::string& name, Input& in) {
  const hid_t type = PickType(in);
  const int rank = in.Byte() % 4;
  std::vector<hsize_t> dims(static_cast<std::size_t>(rank));
  long double elements = 1;
  for (hsize_t& d : dims) {
    const std::uint8_t b = in.Byte();
    d = b < 224 ? b % 24 : static_cast<hsize_t>(in.Int()) & ((hsize_t{1} << 62) - 1);
    elements *= static_cast<long double>(d);
  }
  H5Id space(rank == 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(rank, dims.data(), nullptr),
             H5Sclose);
  H5Id dset(
      H5Dcreate2(file, name.c_str(), type, space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
      H5Dclose);
  const long double bytes = elements * static_cast<long double>(H5Tget_size(type));
  if (dset.get() < 0 || bytes > 65536) return;
  std::string data(static_cast<std::size_t>(bytes), '\0');
  for (char& c : data) c = static_cast<char>(in.Byte());
  H5Dwrite(dset.get(), type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data.data());
  if (in.Byte() % 4 != 0) SetCrc(dset.get(), data);
}

// Rewrites an integer dataset as int64 with the same shape and values, so
// that it can hold negative and huge values.
inline void WidenToInt64(hid_t file, const std::string& name) {
  H5Id dset(H5Dopen2(file, name.c_str(), H5P_DEFAULT), H5Dclose);
  H5Id type(H5Dget_type(dset.get()), H5Tclose);
  H5Id space(H5Dget_space(dset.get()), H5Sclose);
  const hssize_t n = H5Sget_simple_extent_npoints(space.get());
  if (dset.get() < 0 || H5Tget_class(type.get()) != H5T_INTEGER || n < 0 || n > (1 << 20)) return;
  std::vector<std::int64_t> v(static_cast<std::size_t>(n));
  if (H5Dread(dset.get(), H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()) < 0) return;
  dset.Reset();
  H5Ldelete(file, name.c_str(), H5P_DEFAULT);
  H5Id wide(H5Dcreate2(file, name.c_str(), H5T_STD_I64LE, space.get(), H5P_DEFAULT, H5P_DEFAULT,
                       H5P_DEFAULT),
            H5Dclose);
  H5Dwrite(wide.get(), H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data());
}

// Sets element i of a dataset to an absurd value (its bytes as stored),
// after widening it to int64 when the input says so.
inline void PokeElement(hid_t file, const std::string& name, Input& in) {
  if (in.Byte() % 2 != 0) WidenToInt64(file, name);
  H5Id dset(H5Dopen2(file, name.c_str(), H5P_DEFAULT), H5Dclose);
  H5Id type(H5Dget_type(dset.get()), H5Tclose);
  H5Id space(H5Dget_space(dset.get()), H5Sclose);
  const hssize_t n = H5Sget_simple_extent_npoints(space.get());
  const std::size_t size = H5Tget_size(type.get());
  if (dset.get() < 0 || n <= 0 || size == 0 || size > 64 ||
      static_cast<std::size_t>(n) * size > (std::size_t{1} << 22) ||
      H5Tis_variable_str(type.get()) > 0) {
    return;
  }
  std::string data(static_cast<std::size_t>(n) * size, '\0');
  if (H5Dread(dset.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, data.data()) < 0) return;
  const std::uint64_t i = static_cast<std::uint64_t>(in.Int()) % static_cast<std::uint64_t>(n);
  std::int64_t v = in.Int();
  if (H5Tget_class(type.get()) == H5T_FLOAT) {
    const double d = std::bit_cast<double>(v);
    if (size == 4) {
      const float f = static_cast<float>(d);
      std::memcpy(&v, &f, 4);
    } else {
      std::memcpy(&v, &d, 8);
    }
  }
  std::memcpy(data.data() + i * size, &v, std::min<std::size_t>(size, 8));
  H5Dwrite(dset.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, data.data());
  if (in.Byte() % 2 != 0 && H5Aexists(dset.get(), "crc32") > 0) SetCrc(dset.get(), data);
}

inline void ReplaceAttr(hid_t file, const H5Target& t, Input& in) {
  H5Id obj(H5Oopen(file, t.object.c_str(), H5P_DEFAULT), H5Oclose);
  if (obj.get() < 0) return;
  H5Adelete(obj.get(), t.attr.c_str());
  const int kind = in.Byte() % 5;
  if (kind == 0) return;  // deleted
  hsize_t two[1] = {2};
  H5Id space(kind == 4 ? H5Screate_simple(1, two, nullptr) : H5Screate(H5S_SCALAR), H5Sclose);
  if (kind == 1 || kind == 4) {  // an integer of any width, or a list of two
    const hid_t type = PickType(in);
    const std::int64_t v[2] = {in.Int(), in.Int()};
    H5Id a(H5Acreate2(obj.get(), t.attr.c_str(), type, space.get(), H5P_DEFAULT, H5P_DEFAULT),
           H5Aclose);
    H5Awrite(a.get(), H5T_NATIVE_INT64, v);
  } else if (kind == 2) {  // a float64 with any bits: NaN, infinities, 1e308
    const std::int64_t bits = in.Int();
    H5Id a(H5Acreate2(obj.get(), t.attr.c_str(), H5T_IEEE_F64LE, space.get(), H5P_DEFAULT,
                      H5P_DEFAULT),
           H5Aclose);
    H5Awrite(a.get(), H5T_NATIVE_DOUBLE, &bits);
  } else {  // a string from the input, fixed-length or variable-length
    std::string s(in.Byte() % 24, '\0');
    for (char& c : s) c = static_cast<char>(in.Byte());
    H5Id type(H5Tcopy(H5T_C_S1), H5Tclose);
    const bool variable = in.Byte() % 2 != 0;
    H5Tset_size(type.get(), variable ? H5T_VARIABLE : std::max<std::size_t>(1, s.size()));
    H5Id a(H5Acreate2(obj.get(), t.attr.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT),
           H5Aclose);
    const char* p = s.c_str();
    if (variable) {
      H5Awrite(a.get(), type.get(), &p);
    } else {
      s.resize(std::max<std::size_t>(1, s.size()));
      H5Awrite(a.get(), type.get(), s.data());
    }
  }
}

}  // namespace h5m

// Applies up to 4 mutations read from `in` to the file at `path`.
inline void MutateH5(const std::string& path, const std::vector<H5Target>& targets, Input& in) {
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);  // failed mutations are skipped silently
  H5Id file(H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT), H5Fclose);
  if (file.get() < 0) Fail("cannot open the copy of the seed " + path);
  for (int op = 0; op < 4 && !in.empty(); ++op) {
    const H5Target& t = targets[in.Byte() % targets.size()];
    if (!t.attr.empty()) {
      h5m::ReplaceAttr(file.get(), t, in);
      continue;
    }
    switch (in.Byte() % 4) {
      case 0: H5Ldelete(file.get(), t.object.c_str(), H5P_DEFAULT); break;
      case 1:
        H5Ldelete(file.get(), t.object.c_str(), H5P_DEFAULT);
        h5m::CreateDataset(file.get(), t.object, in);
        break;
      case 2: h5m::PokeElement(file.get(), t.object, in); break;
      case 3: {  // a stray sibling
        const std::string parent = t.object.substr(0, t.object.find_last_of('/'));
        h5m::CreateDataset(file.get(), parent + "/x" + std::to_string(in.Byte()), in);
        break;
      }
    }
  }
}

}  // namespace rnnsearch::fuzz
