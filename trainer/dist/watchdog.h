// Node-loss watchdog: ends the process when a peer rank stops answering
// (its node cut off the network, or frozen), instead of waiting forever in
// an MPI collective. A thread of its own sends heartbeats over TCP sockets
// of its own (not MPI), so a rank that is merely slow (a long validation,
// a checkpoint, a big step) keeps answering; a frozen or unreachable one
// does not. Star: rank 0 listens, every other rank connects to it.
//
// A rank that hears nothing from a peer for `timeout` seconds: rank 0
// names the silent rank(s) and their hosts and tells the other ranks; each
// survivor logs one ERROR line (the silent ranks and hosts, seconds
// silent, the last step completed, the newest checkpoint) and leaves at
// once with status kNodeLossExit (_exit: MPI_Abort and MPI_Finalize may
// block on a lost node); a survivor whose parent is mpirun kills it 3 s
// later if it is still waiting for the lost node's daemon. A peer that closes its socket (it
// exited) is no longer watched: mpirun handles a process that ends.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/comm.h"

namespace rnnsearch {

class Watchdog {
 public:
  static constexpr int kNodeLossExit = 4;

  // Collective over `comm` (exchanges rank 0's addresses and port, then
  // every other rank connects). Inactive when timeout <= 0 or one rank.
  Watchdog(Comm& comm, double timeout_seconds);
  ~Watchdog();
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

  // The last step this rank completed (sent with each heartbeat).
  void SetStep(std::int64_t step) { step_.store(step, std::memory_order_relaxed); }
  // The newest checkpoint written (rank 0; sent with its heartbeats).
  void SetCheckpoint(const std::string& path);

 private:
  struct Peer;
  void Loop();
  // Queues a message (type 0: none) and sends what the socket takes now.
  void Send(Peer& peer, std::uint32_t type, std::int64_t value, const std::string& text);
  bool Receive(Peer& peer);  // false: the peer closed its socket
  [[noreturn]] void Die(const std::string& message);

  int rank_ = 0;
  double timeout_ = 0;
  std::string host_;
  int listen_fd_ = -1;
  int wake_[2] = {-1, -1};  // a pipe: the destructor wakes the thread
  std::unique_ptr<Peer[]> peers_;
  int num_peers_ = 0;
  std::atomic<std::int64_t> step_{0};
  std::mutex mu_;
  std::string checkpoint_;  // guarded by mu_
  std::thread thread_;
};

}  // namespace rnnsearch
