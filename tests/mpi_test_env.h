// For MPI tests (rnnsearch_add_test with MPI_RANKS): the job's communicator.
#pragma once

#include "common/comm.h"

namespace rnnsearch::testing {
Comm& World();
}  // namespace rnnsearch::testing
