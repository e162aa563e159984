#include "io/input_split.h"

#include <vector>

#include "common/error.h"
#include "io/collective.h"
#include "io/text_file.h"

namespace rnnsearch {
namespace {

// Start of byte range k of N of a plain file of `size` bytes, moved to a line start.
std::uint64_t RangeStart(const std::string& path, std::uint64_t size, int k, int n) {
  if (k >= n) return size;
  const auto nn = static_cast<std::uint64_t>(n), kk = static_cast<std::uint64_t>(k);
  const std::uint64_t raw = size / nn * kk + size % nn * kk / nn;  // size * k / n, no overflow
  return NextLineStart(path, raw);
}

[[noreturn]] void ThrowMismatch(const std::string& src, const std::string& tgt,
                                std::int64_t src_lines, std::int64_t tgt_lines) {
  throw CollectiveError("the source and target files must have one line per sentence pair, but '" +
                            src + "' has " + std::to_string(src_lines) + " lines and '" + tgt +
                            "' has " + std::to_string(tgt_lines) + " lines; nothing was written",
                        1);
}

}  // namespace

InputPart SplitInput(const std::string& src, const std::string& tgt, Comm& comm) {
  const int rank = comm.rank(), n = comm.size();
  bool gzip = false;
  RunCollectively(comm, [&] { gzip = IsGzipFile(src) || IsGzipFile(tgt); });
  std::int64_t any_gzip = gzip ? 1 : 0;
  comm.Allreduce(&any_gzip, 1, ReduceOp::kMax);  // every rank takes the same path
  InputPart part;

  if (any_gzip != 0) {
    std::int64_t counts[2] = {0, 0};
    RunCollectively(comm, [&] {
      counts[0] = CountLines(src);
      counts[1] = CountLines(tgt);
    });
    if (counts[0] != counts[1]) ThrowMismatch(src, tgt, counts[0], counts[1]);
    const std::int64_t total = counts[0];
    part.total_lines = total;
    part.first_line = total * rank / n;
    part.lines = total * (rank + 1) / n - part.first_line;
    part.src_skip = part.tgt_skip = part.first_line;
    return part;
  }

  // Plain files: each rank counts the lines of its byte range of each file.
  std::uint64_t begin[2] = {0, 0}, end[2] = {0, 0};
  std::vector<std::int64_t> counts(2 * static_cast<std::size_t>(n), 0);
  RunCollectively(comm, [&] {
    const std::string* paths[2] = {&src, &tgt};
    for (int f = 0; f < 2; ++f) {
      const std::uint64_t size = FileSize(*paths[f]);
      begin[f] = RangeStart(*paths[f], size, rank, n);
      end[f] = RangeStart(*paths[f], size, rank + 1, n);
      counts[static_cast<std::size_t>(f * n + rank)] =
          CountLinesInRange(*paths[f], begin[f], end[f]);
    }
  });
  comm.Allreduce(counts.data(), counts.size(), ReduceOp::kSum);
  std::vector<std::int64_t> src_first(static_cast<std::size_t>(n) + 1, 0),
      tgt_first(static_cast<std::size_t>(n) + 1, 0);
  for (int k = 0; k < n; ++k) {
    src_first[static_cast<std::size_t>(k) + 1] =
        src_first[static_cast<std::size_t>(k)] + counts[static_cast<std::size_t>(k)];
    tgt_first[static_cast<std::size_t>(k) + 1] =
        tgt_first[static_cast<std::size_t>(k)] + counts[static_cast<std::size_t>(n + k)];
  }
  const std::int64_t src_total = src_first.back(), tgt_total = tgt_first.back();
  if (src_total != tgt_total) ThrowMismatch(src, tgt, src_total, tgt_total);
  part.total_lines = src_total;
  part.first_line = src_first[static_cast<std::size_t>(rank)];
  part.lines = counts[static_cast<std::size_t>(rank)];
  part.src_offset = begin[0];
  // The target range that holds this rank's first line, and the lines before it there.
  int k = 0;
  while (k + 1 < n && tgt_first[static_cast<std::size_t>(k) + 1] <= part.first_line) ++k;
  RunCollectively(comm, [&] { part.tgt_offset = RangeStart(tgt, FileSize(tgt), k, n); });
  part.tgt_skip = part.first_line - tgt_first[static_cast<std::size_t>(k)];
  return part;
}

}  // namespace rnnsearch
