// Internal helpers of the checkpoint writer and reader (io/checkpoint_*.cc):
// datasets that carry a CRC-32 of their bytes, fixed-length string and
// float64 attributes, groups that keep their links in creation order, and
// the wording of errors. Not for other users: io/hdf5_util.h is the
// general layer.
#pragma once

#include <hdf5.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "io/hdf5_util.h"

namespace rnnsearch::ckpt {

// The attribute of every checkpoint dataset holding the zlib CRC-32 of its
// bytes as stored (little-endian element order).
inline constexpr const char* kCrcAttr = "crc32";

std::uint32_t Crc32(const void* data, std::size_t bytes);

// "0x1a2b3c4d".
std::string CrcText(std::uint32_t crc);

// "[3, 4]" ("[]" for a scalar).
std::string ShapeText(const std::vector<std::int64_t>& shape);

// The system's reason inside an HDF5 error text ("No space left on
// device"), or the text itself when it has none.
std::string SystemReason(const std::string& hdf5_text);

// A string attribute of fixed length (UTF-8, null-padded): it lives in the
// object header, which HDF5 checksums, where a variable-length string
// would live in the global heap, which it does not. h5py reads it as bytes.
void WriteFixedStringAttr(hid_t obj, const char* name, const std::string& value,
                          const std::string& file);
void WriteRealAttr(hid_t obj, const char* name, double value, const std::string& file);
double ReadRealAttr(hid_t obj, const char* name, const std::string& file);
// Whether `obj` has the attribute; damage that hides the answer throws.
bool HasAttr(hid_t obj, const char* name, const std::string& file);

// A new group whose links are iterated in creation order (h5py too).
H5Id CreateGroup(hid_t loc, const char* name, const std::string& file);
// A property list for groups and files that track link creation order.
void TrackCreationOrder(hid_t plist, const std::string& file);

// Writes a contiguous dataset `name` of `dims` ({} = scalar) and type
// `file_type` from `data` (`bytes` bytes, in `mem_type`) and its crc32
// attribute. Failures throw UserError "cannot write the checkpoint
// 'FILE': /GROUP/NAME: <reason>".
void WriteChecked(hid_t loc, const std::string& name, hid_t file_type, hid_t mem_type,
                  const std::vector<std::int64_t>& dims, const void* data, std::size_t bytes,
                  const std::string& file);

// Names of the links in group `loc` in creation order (name order if the
// group does not track it).
std::vector<std::string> LinkNames(hid_t loc, const std::string& what);

// Shape of a dataset ({} for a scalar).
std::vector<std::int64_t> DatasetShape(hid_t dataset, const std::string& what);

// Reads all of `dataset` as `mem_type` into `out` (`bytes` bytes, which
// must be its size) and verifies the crc32 attribute; a mismatch throws
// UserError "the checkpoint 'FILE' is corrupt: OBJECT fails its checksum
// (...)".
void ReadChecked(hid_t dataset, hid_t mem_type, void* out, std::size_t bytes,
                 const std::string& file, const std::string& object);

// Flushes a file (or a directory: its entries) to disk; throws UserError
// "`what`: <reason>".
void FsyncPath(const std::string& path, bool directory, const std::string& what);

// "the checkpoint 'FILE' is damaged: cannot read OBJECT" + HDF5's reason,
// for H5Check.
std::string CannotRead(const std::string& file, const std::string& object);

}  // namespace rnnsearch::ckpt
