// A test program: the rnnsearch entry (RunMain and MpiSession) with
// commands that fail on rank 1 while rank 0 waits in a collective, to show
// that every kind of failure ends the whole job with the rank and the
// cause, and never hangs.
#include <stdexcept>
#include <thread>

#include "common/error.h"
#include "launch/cli.h"
#include "launch/mpi_session.h"

namespace {

using rnnsearch::CommandEnv;

int Throw(const std::vector<std::string>&, CommandEnv& env) {
  if (env.comm.rank() == 1) throw std::runtime_error("probe: deliberate failure on rank 1");
  env.comm.Barrier();  // rank 1 never arrives
  return 0;
}

int UserError(const std::vector<std::string>&, CommandEnv& env) {
  if (env.comm.rank() == 1) throw rnnsearch::UserError("probe: cannot read 'shard-7.h5' on rank 1");
  env.comm.Barrier();
  return 0;
}

int MpiError(const std::vector<std::string>&, CommandEnv& env) {
  int x = 0;
  // An invalid root on rank 1: the MPI error handler must abort the job.
  env.comm.Broadcast(&x, sizeof x, env.comm.rank() == 1 ? 1000 : 0);
  // Rank 0's broadcast completes on its own and it returns: MpiSession's
  // barrier before MPI_Finalize keeps it from racing the abort (which can
  // deadlock Open MPI 4.1.4's mpirun).
  return 0;
}

int ThreadThrow(const std::vector<std::string>&, CommandEnv& env) {
  if (env.comm.rank() == 1) {
    std::thread t([] { throw std::runtime_error("probe: exception in a worker thread"); });
    t.join();
  }
  env.comm.Barrier();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  rnnsearch::MpiSession session(&argc, &argv);
  static const std::vector<rnnsearch::Command> commands = {
      {"throw", "", &Throw},
      {"user-error", "", &UserError},
      {"mpi-error", "", &MpiError},
      {"thread-throw", "", &ThreadThrow},
  };
  return rnnsearch::RunMain(argc, argv, session.world(), commands);
}
