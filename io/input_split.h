// How `rnnsearch preprocess` divides an aligned pair of text files among
// the ranks of a job.
//
// Plain files are split by bytes: rank r takes the lines that start in the
// r-th N-th of the source file's bytes, counting newlines only in its own
// range (so the work is spread), and finds the same lines in the target
// file from the per-range line counts. Gzip streams cannot be entered in
// the middle, so when either file is gzip every rank counts both files'
// lines and takes the r-th N-th of the lines. Either way the line counts
// of the two files are compared before anything is written.
#pragma once

#include <cstdint>
#include <string>

#include "common/comm.h"

namespace rnnsearch {

struct InputPart {
  std::int64_t first_line = 0;  // 0-based index of this rank's first pair
  std::int64_t lines = 0;       // pairs in this rank's part
  // Where to start reading each file: seek to the offset, then skip lines.
  std::uint64_t src_offset = 0, tgt_offset = 0;
  std::int64_t src_skip = 0, tgt_skip = 0;
  std::int64_t total_lines = 0;  // in each file
};

// Collective. Throws CollectiveError on every rank when a file cannot be
// read (naming it) or when the files' line counts differ (naming both
// files and both counts).
InputPart SplitInput(const std::string& src, const std::string& tgt, Comm& comm);

}  // namespace rnnsearch
