// Collective error handling and gathering for multi-rank io work, built on
// the Comm interface (never on MPI directly).
//
// A step that can fail on one rank only (a bad line in its part of the
// input, a full disk) runs inside RunCollectively: every rank then learns
// about the failure at the same point and throws the same CollectiveError,
// so the job can clean up (remove temporary output) and exit with one
// message instead of aborting half-way.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "common/comm.h"

namespace rnnsearch {

// Runs `step` on every rank. If it throws on any rank, every rank throws a
// CollectiveError carrying the message and exit status of the lowest
// failing rank (a non-UserError exception becomes "internal error: ...").
// `step` must not itself call collectives.
void RunCollectively(Comm& comm, const std::function<void()>& step);

// Every rank's string, in rank order, on every rank.
std::vector<std::string> AllGatherStrings(Comm& comm, const std::string& mine);

}  // namespace rnnsearch
