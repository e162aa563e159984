#include "io/collective.h"

#include <cstdint>
#include <exception>
#include <limits>

#include "common/error.h"

namespace rnnsearch {

void RunCollectively(Comm& comm, const std::function<void()>& step) {
  std::string message;
  std::int64_t code = 0;
  bool failed = false;
  try {
    step();
  } catch (const UserError& e) {
    failed = true;
    message = e.what();
    code = e.exit_code();
  } catch (const std::exception& e) {
    failed = true;
    message = std::string("internal error: ") + e.what();
    code = 1;
  }
  std::int64_t first = failed ? comm.rank() : std::numeric_limits<std::int64_t>::max();
  comm.Allreduce(&first, 1, ReduceOp::kMin);
  if (first == std::numeric_limits<std::int64_t>::max()) return;
  const int root = static_cast<int>(first);
  comm.BroadcastString(message, root);
  comm.Broadcast(&code, sizeof code, root);
  if (comm.size() > 1 && root != 0) message += " (on rank " + std::to_string(root) + ")";
  throw CollectiveError(message, static_cast<int>(code));
}

std::vector<std::string> AllGatherStrings(Comm& comm, const std::string& mine) {
  std::vector<std::string> all(static_cast<std::size_t>(comm.size()));
  for (int r = 0; r < comm.size(); ++r) {
    if (r == comm.rank()) all[static_cast<std::size_t>(r)] = mine;
    comm.BroadcastString(all[static_cast<std::size_t>(r)], r);
  }
  return all;
}

}  // namespace rnnsearch
