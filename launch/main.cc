// rnnsearch: the program. MPI bootstrap (when started by a launcher), then
// the subcommand.
#include "launch/cli.h"
#include "launch/mpi_session.h"

int main(int argc, char** argv) {
  rnnsearch::MpiSession session(&argc, &argv);
  return rnnsearch::RunMain(argc, argv, session.world());
}
