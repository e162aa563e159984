// SIGTERM, SIGINT and SIGUSR1 as requests to stop training cleanly (mpirun
// forwards SIGUSR1 to every rank without killing them after a second, as it
// does on SIGTERM; launch/rnnsearch-mpirun turns its SIGTERM into it): the handler
// only records the signal; the training loop finishes its step, all ranks
// agree to stop (trainer/grad_sync.h, StepTotals::stop_signal), rank 0
// saves a checkpoint, and the process exits 0. A second signal of the same
// kind while the first is being handled ends the process at once (the
// default action), for a user who does not want to wait.
#pragma once

namespace rnnsearch {

// Installs the handlers for SIGTERM, SIGINT and SIGUSR1 (idempotent).
void InstallStopSignals();

// Restores the default actions (for the end of training).
void RemoveStopSignals();

// The signal received since InstallStopSignals (0: none).
int StopSignal();

// Clears a recorded signal (tests).
void ClearStopSignal();

}  // namespace rnnsearch
