#include "trainer/stop_signal.h"

#include <csignal>

namespace rnnsearch {
namespace {

volatile std::sig_atomic_t g_signal = 0;

extern "C" void OnStopSignal(int sig) {
  g_signal = sig;
  // The next one of this kind takes the default action (ends the process).
  std::signal(sig, SIG_DFL);
}

}  // namespace

void InstallStopSignals() {
  struct sigaction action {};
  action.sa_handler = OnStopSignal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;  // blocking reads and MPI calls continue
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGUSR1, &action, nullptr);
}

void RemoveStopSignals() {
  std::signal(SIGTERM, SIG_DFL);
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGUSR1, SIG_DFL);
}

int StopSignal() { return static_cast<int>(g_signal); }

void ClearStopSignal() { g_signal = 0; }

}  // namespace rnnsearch
