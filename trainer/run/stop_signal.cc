#include "trainer/run/stop_signal.h"

#include <pthread.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <ctime>
#include <thread>

namespace rnnsearch {
namespace {

constexpr int kStopSignals[] = {SIGTERM, SIGINT, SIGUSR1};

std::atomic<int> g_signal{0};
std::atomic<unsigned> g_seen{0};  // one bit per kind of stop signal received
std::atomic<bool> g_watching{false};
std::thread* g_watcher = nullptr;  // never destroyed while running, even by exit()
sigset_t g_old_mask;
bool g_installed = false;

sigset_t StopSet() {
  sigset_t set;
  sigemptyset(&set);
  for (int sig : kStopSignals) sigaddset(&set, sig);
  return set;
}

unsigned Bit(int sig) { return sig == SIGTERM ? 1u : sig == SIGINT ? 2u : 4u; }

// Records a stop request. A second signal of a kind already received ends
// the process with that signal's default action. Async-signal-safe.
void OnStop(int sig) {
  if ((g_seen.fetch_or(Bit(sig)) & Bit(sig)) != 0) {
    std::signal(sig, SIG_DFL);
    sigset_t one;
    sigemptyset(&one);
    sigaddset(&one, sig);
    pthread_sigmask(SIG_UNBLOCK, &one, nullptr);
    raise(sig);
    _exit(128 + sig);
  }
  g_signal.store(sig);
}

extern "C" void OnStopSignal(int sig) { OnStop(sig); }

// The thread that takes the stop signals, so that none of them interrupts
// the threads that compute: a signal handler running in the middle of a
// oneDNN kernel was seen to corrupt the heap ("corrupted size vs.
// prev_size" a few steps later, in about a third of the SIGTERMs to a
// Multi30k training).
void Watch() {
  const sigset_t set = StopSet();
  while (g_watching.load()) {
    timespec wait{0, 50'000'000};
    const int sig = sigtimedwait(&set, nullptr, &wait);
    if (sig > 0) OnStop(sig);
  }
}

}  // namespace

void InstallStopSignals() {
  if (g_installed) return;
  struct sigaction action {};
  action.sa_handler = OnStopSignal;  // for threads started before this call
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;  // blocking reads and MPI calls continue
  for (int sig : kStopSignals) sigaction(sig, &action, nullptr);
  const sigset_t set = StopSet();
  pthread_sigmask(SIG_BLOCK, &set, &g_old_mask);  // this thread and those it starts
  g_watching.store(true);
  g_watcher = new std::thread(Watch);
  g_installed = true;
}

void RemoveStopSignals() {
  if (!g_installed) return;
  g_watching.store(false);
  g_watcher->join();
  delete g_watcher;
  g_watcher = nullptr;
  // Signals that arrived since the watcher's last look, or were raised by
  // this thread, are still pending: take them before unblocking.
  const sigset_t set = StopSet();
  timespec now{0, 0};
  for (int sig; (sig = sigtimedwait(&set, nullptr, &now)) > 0;) OnStop(sig);
  for (int sig : kStopSignals) std::signal(sig, SIG_DFL);
  pthread_sigmask(SIG_SETMASK, &g_old_mask, nullptr);
  g_installed = false;
}

int StopSignal() { return g_signal.load(); }

std::string StopSignalName(int signal) {
  switch (signal) {
    case SIGTERM: return "SIGTERM";
    case SIGINT: return "SIGINT";
    case SIGUSR1: return "SIGUSR1";
    default: return "signal " + std::to_string(signal);
  }
}

void ClearStopSignal() {
  g_signal.store(0);
  g_seen.store(0);
}

}  // namespace rnnsearch
