// Text files of the commands that read lines and write whole outputs
// (rnnsearch translate, rnnsearch rescore).
#pragma once

#include <string>
#include <vector>

namespace rnnsearch {

// Every line of `path` (plain or .gz; '-': stdin), checked to be UTF-8.
// Errors are UserErrors starting with `who` (e.g. "rnnsearch translate")
// and naming `option` (e.g. "--input") or the file, line and column.
std::vector<std::string> ReadTextLines(const std::string& path, const std::string& who,
                                       const std::string& option);

// Checks before any work that WriteWholeOutput can write `path` ('-':
// always): the path is not a directory, and its directory exists, is a
// directory and is writable. Creates and truncates nothing. Errors are
// UserErrors "WHO: OPTION: cannot write 'PATH': ...".
void CheckOutputPath(const std::string& path, const std::string& who, const std::string& option);

// Writes `text` to `path` through PATH.tmp.<pid> and a rename ('-':
// stdout), so an error leaves an existing file as it was.
void WriteWholeOutput(const std::string& path, const std::string& text, const std::string& who,
                      const std::string& option);

}  // namespace rnnsearch
