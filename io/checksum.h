// Checksums and hashes recorded in the corpus manifest: FNV-1a 64 of a
// vocabulary's bytes, zlib's CRC-32 of a whole shard file, and base64 for
// embedding binary vocabularies in the YAML manifest.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace rnnsearch {

// 64-bit FNV-1a of `bytes`.
std::uint64_t Fnv1a64(std::string_view bytes);

// 16 lower-case hex digits.
std::string Hex64(std::uint64_t value);

// CRC-32 (zlib) of the file's whole contents; throws UserError naming the
// file when it cannot be read.
std::uint32_t FileCrc32(const std::string& path);

// Standard base64 (RFC 4648, with padding), lines of 76 characters
// separated by '\n' when `wrap` is true.
std::string Base64Encode(std::string_view bytes, bool wrap);

// Decodes base64, ignoring whitespace; throws UserError naming `what` on
// any other character or a bad length.
std::string Base64Decode(std::string_view text, const std::string& what);

}  // namespace rnnsearch
