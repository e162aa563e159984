// Writing a whole file at once, for shards and the manifest: every failure
// (a full disk included) throws UserError naming the file and the system's
// reason, and the partial file is removed.
#pragma once

#include <string>
#include <string_view>

namespace rnnsearch {

// Creates `path` (it must not exist), writes `bytes`, and flushes them to
// the disk (fsync) before returning.
void WriteFileDurably(const std::string& path, std::string_view bytes);

}  // namespace rnnsearch
