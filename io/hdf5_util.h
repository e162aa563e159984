// Small helpers over the HDF5 C API for the io layer: an owning handle,
// error checks that turn HDF5's error stack into a UserError naming the
// file, scalar attributes, and 1-D datasets (chunked, shuffled, deflated,
// with fletcher32 checksums). Debian's libhdf5 is built thread-safe, so
// these may be called from the prefetch thread and the main thread.
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <string>

namespace rnnsearch {

// Owns an HDF5 id and closes it with the matching H5?close.
class H5Id {
 public:
  using Closer = herr_t (*)(hid_t);
  H5Id() = default;
  H5Id(hid_t id, Closer close) : id_(id), close_(close) {}
  ~H5Id() { Reset(); }
  H5Id(H5Id&& o) noexcept : id_(o.id_), close_(o.close_) { o.id_ = -1; }
  H5Id& operator=(H5Id&& o) noexcept {
    if (this != &o) {
      Reset();
      id_ = o.id_;
      close_ = o.close_;
      o.id_ = -1;
    }
    return *this;
  }
  H5Id(const H5Id&) = delete;
  H5Id& operator=(const H5Id&) = delete;
  hid_t get() const { return id_; }
  // Closes now; returns false if closing failed (a write that only failed
  // when flushed at close).
  bool Close();
  void Reset() {
    if (id_ >= 0) close_(id_);
    id_ = -1;
  }

 private:
  hid_t id_ = -1;
  Closer close_ = nullptr;
};

// Stops HDF5 from printing its error stack on this thread (we report it).
void SilenceHdf5Errors();

// The current thread's HDF5 error stack as one line ("" if empty).
std::string Hdf5ErrorText();

// Throws UserError "`what`: <HDF5 error stack>" when `status` < 0;
// returns `status`.
hid_t H5Check(hid_t status, const std::string& what);

// The smallest little-endian unsigned type that holds `max_value` (u8,
// u16 or u32); a predefined type, never closed.
hid_t SmallestUnsignedType(std::int64_t max_value);

// Scalar attributes on an object.
void WriteIntAttr(hid_t obj, const char* name, std::int64_t value, const std::string& file);
void WriteStringAttr(hid_t obj, const char* name, const std::string& value,
                     const std::string& file);
// Readers: the attribute must hold one value of the right class (an
// integer, a string); anything else is a UserError naming file and name.
std::int64_t ReadIntAttr(hid_t obj, const char* name, const std::string& file);
std::string ReadStringAttr(hid_t obj, const char* name, const std::string& file);

// Opens attribute `name` after checking that it holds one value of class
// `cls` (H5T_INTEGER, H5T_FLOAT or H5T_STRING); `what` starts the messages.
H5Id OpenScalarAttr(hid_t obj, const char* name, H5T_class_t cls, const std::string& what);

// Writes a 1-D dataset of `n` elements from memory of `mem_type`, stored as
// `file_type`, chunked (at most `chunk` elements per chunk), shuffled,
// deflated and fletcher32-checksummed.
void WriteDataset1D(hid_t loc, const char* name, hid_t file_type, hid_t mem_type, const void* data,
                    std::int64_t n, std::int64_t chunk, const std::string& file);

// Checks that a dataset is stored as WriteDataset1D stores it: integers
// of 1, 2, 4 or 8 bytes in chunks that are shuffled, deflated and
// checksummed, the shuffle's element size equal to the integers' size.
// A header that claims wider integers than its chunks hold would make
// HDF5 1.10 read past the inflated chunk (a heap overflow, not an error),
// so a damaged one is a UserError "`what`: ..." before any read.
void CheckStoredLikeDataset1D(hid_t dataset, const std::string& what);

// Elements of a 1-D dataset.
std::int64_t DatasetLength(hid_t dataset, const std::string& what);

// Reads elements [begin, begin + count) of a 1-D dataset as `mem_type`.
void ReadRange1D(hid_t dataset, hid_t mem_type, std::int64_t begin, std::int64_t count, void* out,
                 const std::string& what);

}  // namespace rnnsearch
