// Reading the files a user names (configs, corpora, SentencePiece models,
// manifests, shards, checkpoints, references): a directory given where a
// file is expected is refused with a message naming the path. Without this
// check an ifstream opens a directory and reads nothing, and open(2) and
// HDF5 fail later with messages that do not say what is wrong.
#pragma once

#include <string>

namespace rnnsearch {

// Throws UserError "WHAT 'PATH' is a directory, not a file" ("'PATH' is a
// directory, not a file" when `what` is empty) if `path` names a directory
// (after symbolic links). Anything else passes: a missing or unreadable
// file is left to the caller's open, which names the system's reason.
void RefuseDirectory(const std::string& path, const std::string& what = "");

// The whole content of the file at `path`. Throws UserError naming `what`
// and the path when it is a directory, cannot be opened ("cannot read WHAT
// 'PATH': <reason>") or a read fails.
std::string ReadWholeFile(const std::string& path, const std::string& what);

}  // namespace rnnsearch
