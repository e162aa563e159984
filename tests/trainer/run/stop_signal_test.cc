// The stop signals (trainer/run/stop_signal.h) are taken by a thread of their
// own: the thread that installed them and the threads it starts afterwards
// (the ones that compute) never run a handler; a signal to the process is
// recorded; a second one of the same kind ends the process; removing them
// restores the thread's mask and the default actions.
#include "trainer/run/stop_signal.h"

#include <gtest/gtest.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <thread>

namespace rnnsearch {
namespace {

bool Blocked(int sig) {
  sigset_t mask;
  pthread_sigmask(SIG_BLOCK, nullptr, &mask);
  return sigismember(&mask, sig) == 1;
}

// Waits up to 5 s for StopSignal() to become `sig`.
bool Recorded(int sig) {
  for (int i = 0; i < 500 && StopSignal() != sig; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return StopSignal() == sig;
}

TEST(StopSignals, ComputingThreadsNeverTakeThemAndTheProcessRecordsThem) {
  ClearStopSignal();
  ASSERT_FALSE(Blocked(SIGTERM));
  {
    const StopSignalScope scope;
    for (int sig : {SIGTERM, SIGINT, SIGUSR1}) EXPECT_TRUE(Blocked(sig)) << sig;
    bool worker_blocked = false;
    std::thread worker([&] { worker_blocked = Blocked(SIGTERM) && Blocked(SIGUSR1); });
    worker.join();
    EXPECT_TRUE(worker_blocked);
    EXPECT_EQ(StopSignal(), 0);
    ASSERT_EQ(kill(getpid(), SIGUSR1), 0);  // as mpirun forwards it
    EXPECT_TRUE(Recorded(SIGUSR1));
    ASSERT_EQ(kill(getpid(), SIGTERM), 0);
    EXPECT_TRUE(Recorded(SIGTERM));
    InstallStopSignals();  // idempotent: nothing changes
    EXPECT_TRUE(Blocked(SIGTERM));
  }
  EXPECT_FALSE(Blocked(SIGTERM));
  EXPECT_FALSE(Blocked(SIGUSR1));
  struct sigaction now {};
  sigaction(SIGTERM, nullptr, &now);
  EXPECT_EQ(now.sa_handler, SIG_DFL);
  ClearStopSignal();
}

// A signal raised by the thread that installed them (pending on that
// thread only, where it is blocked) is still recorded when they are
// removed, and does not end the process.
TEST(StopSignals, ASignalPendingOnTheInstallingThreadIsTakenAtRemoval) {
  ClearStopSignal();
  {
    const StopSignalScope scope;
    ASSERT_EQ(raise(SIGINT), 0);
  }
  EXPECT_EQ(StopSignal(), SIGINT);
  ClearStopSignal();
}

TEST(StopSignalsDeathTest, ASecondSignalOfTheSameKindEndsTheProcess) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        ClearStopSignal();
        InstallStopSignals();
        kill(getpid(), SIGTERM);
        if (!Recorded(SIGTERM)) _exit(3);
        kill(getpid(), SIGTERM);
        std::this_thread::sleep_for(std::chrono::seconds(5));
        _exit(4);  // not reached: the second SIGTERM ends the process
      },
      ::testing::KilledBySignal(SIGTERM), "");
}

}  // namespace
}  // namespace rnnsearch
