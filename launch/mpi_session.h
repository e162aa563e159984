// MPI bootstrap: the same binary runs alone or under mpirun / srun.
//
// Under a launcher (detected from the environment it sets) the session
// initialises MPI, installs an error handler that prints the rank and the
// MPI error and then ends the whole job with MPI_Abort, and provides an
// MPI communicator. Run alone, MPI is not initialised at all and the
// single-process communicator (common/comm.h) stands in.
#pragma once

#include <memory>

#include "common/comm.h"

namespace rnnsearch {

// True when this process was started by mpirun/mpiexec (Open MPI), srun
// with PMI/PMIx, or another PMI launcher.
bool StartedByMpiLauncher();

class MpiSession {
 public:
  MpiSession(int* argc, char*** argv);
  ~MpiSession();  // MPI_Finalize when MPI was initialised
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;

  Comm& world() { return *world_; }
  bool using_mpi() const { return using_mpi_; }

 private:
  bool using_mpi_ = false;
  std::unique_ptr<Comm> world_;
};

// Compute threads for this rank: dist.threads_per_rank when positive, else
// the cores this process may run on (its affinity mask), shared evenly by
// the ranks of this node when the mask is the whole machine.
int ResolveThreadsPerRank(std::int64_t configured, const Comm& comm);

}  // namespace rnnsearch
