// The seal of a checkpoint file: a 512-byte text header in front of the
// HDF5 data (an HDF5 "user block", which h5py, h5dump and HDF5 skip):
//
//   rnnsearch-checkpoint\n
//   format_version 1\n
//   bytes 60880\n             the size of the whole file
//   crc32 1a2b3c4d\n          zlib CRC-32 of bytes [512, size)
//   (zero bytes up to 512)
//
// It is written after HDF5 has closed the file and checked before HDF5
// opens it, so that a truncated or damaged file is refused with a precise
// message without HDF5 ever parsing damaged metadata (its decoders can
// crash on some corruptions, whatever their checksums would have said).
#pragma once

#include <cstdint>
#include <string>

namespace rnnsearch::ckpt {

inline constexpr std::int64_t kSealBytes = 512;

// Computes the CRC-32 of `path` after its first 512 bytes and writes the
// header into them (the file is open for writing, not yet flushed).
// Throws UserError "cannot write the checkpoint '`name`': ...".
void WriteSeal(const std::string& path, std::int64_t format_version, const std::string& name);

// Checks the header of `path`: the magic line, a format version this
// program reads (<= `max_version`), the size and the CR-32. Throws
// UserError naming the file and what is wrong; returns the version.
std::int64_t CheckSeal(const std::string& path, std::int64_t max_version);

}  // namespace rnnsearch::ckpt
