// SIGTERM, SIGINT and SIGUSR1 as requests to stop training cleanly (mpirun
// forwards SIGUSR1 to every rank without killing them after a second, as it
// does on SIGTERM; launch/rnnsearch-mpirun turns its SIGTERM into it): the handler
// only records the signal; the training loop finishes its step, all ranks
// agree to stop (trainer/dist/grad_sync.h, StepTotals::stop_signal), rank 0
// saves a checkpoint, and the process exits 0. A second signal of the same
// kind while the first is being handled ends the process at once (the
// default action), for a user who does not want to wait.
#pragma once

#include <string>

namespace rnnsearch {

// Takes SIGTERM, SIGINT and SIGUSR1 as stop requests (idempotent): blocks
// them in the calling thread, and so in every thread it starts afterwards,
// and starts a thread that waits for them; threads started earlier run a
// handler that only records the signal. Call it from the main thread
// before the threads that compute are started.
void InstallStopSignals();

// Stops that thread, restores the default actions and the calling
// thread's signal mask (for the end of training; the same thread as
// InstallStopSignals).
void RemoveStopSignals();

// InstallStopSignals for a scope (RemoveStopSignals at its end, also when
// it is left by an exception).
class StopSignalScope {
 public:
  StopSignalScope() { InstallStopSignals(); }
  ~StopSignalScope() { RemoveStopSignals(); }
  StopSignalScope(const StopSignalScope&) = delete;
  StopSignalScope& operator=(const StopSignalScope&) = delete;
};

// The signal received since InstallStopSignals (0: none).
int StopSignal();

// "SIGTERM", "SIGINT", "SIGUSR1", else "signal N".
std::string StopSignalName(int signal);

// Clears a recorded signal (tests).
void ClearStopSignal();

}  // namespace rnnsearch
