#include "trainer/dist/watchdog.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <sstream>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/error.h"
#include "common/log.h"

namespace rnnsearch {

namespace {

// A message: this header, then `length` bytes of text.
struct Header {
  std::uint32_t type;
  std::uint32_t length;
  std::int64_t value;
};
enum MessageType : std::uint32_t {
  kHello = 1,  // value: the sender's rank; text: its host name
  kBeat = 2,   // value: the sender's last completed step; text (rank 0): newest checkpoint
  kLost = 3,   // rank 0 to the survivors; text: the ERROR line
};
constexpr std::size_t kMaxText = 1 << 16;
constexpr std::size_t kMaxQueued = 1 << 16;  // bytes queued for a peer that does not read
constexpr double kLauncherGrace = 3;  // seconds mpirun has to end the job before it is killed

std::string HostName() {
  char name[256] = {};
  if (gethostname(name, sizeof name - 1) != 0) return "?";
  return name;
}

// This machine's IPv4 addresses, loopback last.
std::vector<std::string> Ipv4Addresses() {
  std::vector<std::string> outside, loopback;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) == 0) {
    for (const ifaddrs* a = list; a != nullptr; a = a->ifa_next) {
      if (a->ifa_addr == nullptr || a->ifa_addr->sa_family != AF_INET) continue;
      if ((a->ifa_flags & IFF_UP) == 0) continue;
      char text[INET_ADDRSTRLEN] = {};
      const auto* in = reinterpret_cast<const sockaddr_in*>(a->ifa_addr);
      inet_ntop(AF_INET, &in->sin_addr, text, sizeof text);
      ((a->ifa_flags & IFF_LOOPBACK) != 0 ? loopback : outside).push_back(text);
    }
    freeifaddrs(list);
  }
  outside.insert(outside.end(), loopback.begin(), loopback.end());
  return outside;
}

void SetNonBlocking(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }

// Connects to address:port within `seconds`; the socket (non-blocking) or -1.
int ConnectWithin(const std::string& address, int port, double seconds) {
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<std::uint16_t>(port));
  if (inet_pton(AF_INET, address.c_str(), &to.sin_addr) != 1) return -1;
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  SetNonBlocking(fd);
  if (connect(fd, reinterpret_cast<const sockaddr*>(&to), sizeof to) != 0) {
    if (errno != EINPROGRESS) {
      close(fd);
      return -1;
    }
    pollfd p{fd, POLLOUT, 0};
    int error = 0;
    socklen_t len = sizeof error;
    if (poll(&p, 1, static_cast<int>(seconds * 1000)) != 1 ||
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) != 0 || error != 0) {
      close(fd);
      return -1;
    }
  }
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

std::string Seconds(double s) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f", s);
  return text;
}

// The name of process `pid` (/proc/PID/comm) into `name`, "" if it is
// gone; only async-signal-safe calls (it runs in a child forked from
// threads).
void ProcessName(pid_t pid, char (&name)[32]) {
  char path[32] = "/proc/";
  char digits[16];
  int n = 0;
  for (long v = pid; v > 0 && n < 15; v /= 10) digits[n++] = static_cast<char>('0' + v % 10);
  int at = 6;
  while (n > 0) path[at++] = digits[--n];
  std::memcpy(path + at, "/comm", 6);
  name[0] = 0;
  const int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  const ssize_t got = read(fd, name, sizeof name - 1);
  close(fd);
  name[got > 0 ? got : 0] = 0;
  for (char* c = name; *c != 0; ++c) {
    if (*c == '\n') *c = 0;
  }
}

// mpirun waits for the daemon of a lost node even after every rank has
// ended. When `parent` is the launcher itself (mpirun runs on this node), a
// detached child of this process gives it `grace` seconds to end the job,
// then SIGKILLs it.
void EndLauncherLater(pid_t parent, double grace) {
  char name[32];
  ProcessName(parent, name);
  const std::string_view launcher = name;
  if (launcher != "mpirun" && launcher != "mpiexec" && launcher != "orterun" &&
      launcher != "prterun") {
    return;
  }
  if (fork() != 0) return;
  setsid();
  for (double waited = 0; waited < grace; waited += 0.1) {
    usleep(100000);
    char now[32];
    ProcessName(parent, now);
    if (std::strcmp(now, name) != 0) _exit(0);
  }
  kill(parent, SIGKILL);
  _exit(0);
}

}  // namespace

struct Watchdog::Peer {
  int fd = -1;
  int rank = -1;
  std::string host = "?";
  double last_heard = 0;
  std::int64_t step = -1;  // its last completed step, from its heartbeats
  std::string in, out;     // bytes received and not parsed; queued to send
  bool closed = false;
};

Watchdog::Watchdog(Comm& comm, double timeout_seconds) : rank_(comm.rank()) {
  if (timeout_seconds <= 0 || comm.size() == 1) return;
  timeout_ = timeout_seconds;
  host_ = HostName();
  // Rank 0's host name, port and addresses to every rank.
  std::string where;
  if (rank_ == 0) {
    listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in any{};
    any.sin_family = AF_INET;
    any.sin_addr.s_addr = htonl(INADDR_ANY);
    socklen_t len = sizeof any;
    if (listen_fd_ < 0 || bind(listen_fd_, reinterpret_cast<sockaddr*>(&any), len) != 0 ||
        listen(listen_fd_, SOMAXCONN) != 0 ||
        getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&any), &len) != 0) {
      where = "error " + std::string(std::strerror(errno));
    } else {
      where = host_ + " " + std::to_string(ntohs(any.sin_port));
      for (const std::string& a : Ipv4Addresses()) where += " " + a;
    }
  }
  comm.BroadcastString(where, 0);
  std::istringstream words(where);
  std::string host0;
  int port = 0;
  words >> host0 >> port;
  std::vector<std::string> addresses;
  for (std::string a; words >> a;) addresses.push_back(a);
  const double connect_seconds = 3;
  std::string failure;
  if (host0 == "error") {
    failure = "rank 0 cannot listen on a TCP port: " + where.substr(6);
  } else if (rank_ != 0) {
    num_peers_ = 1;
    peers_ = std::make_unique<Peer[]>(1);
    Peer& p = peers_[0];
    p.rank = 0;
    p.host = host0;
    for (const std::string& a : addresses) {
      p.fd = ConnectWithin(a, port, connect_seconds);
      if (p.fd >= 0) break;
    }
    if (p.fd < 0) {
      failure = "rank " + std::to_string(rank_) + " on " + host_ + " cannot reach rank 0 on " +
                host0 + " at port " + std::to_string(port) + " of any of its addresses (" + where +
                ")";
    } else {
      Send(p, kHello, rank_, host_);
    }
  } else {
    // Every other rank connects and says hello within the time it may take
    // to try each address.
    num_peers_ = comm.size() - 1;
    peers_ = std::make_unique<Peer[]>(num_peers_);
    const double deadline = Now() + connect_seconds * (addresses.size() + 1) + 5;
    int known = 0;
    std::vector<Peer> pending;
    while (known < num_peers_ && Now() < deadline) {
      std::vector<pollfd> fds{{listen_fd_, POLLIN, 0}};
      for (const Peer& q : pending) fds.push_back({q.fd, POLLIN, 0});
      if (poll(fds.data(), fds.size(), 200) <= 0) continue;
      if ((fds[0].revents & POLLIN) != 0) {
        Peer q;
        q.fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (q.fd >= 0) pending.push_back(std::move(q));
      }
      for (std::size_t i = 0; i < pending.size();) {
        Peer& q = pending[i];
        if (!Receive(q) || q.rank >= 0) {
          if (q.rank > 0 && q.rank <= num_peers_ && peers_[q.rank - 1].fd < 0) {
            peers_[q.rank - 1] = std::move(q);
            ++known;
          } else {
            close(q.fd);
          }
          pending.erase(pending.begin() + static_cast<std::ptrdiff_t>(i));
        } else {
          ++i;
        }
      }
    }
    for (Peer& q : pending) close(q.fd);
    if (known < num_peers_) {
      failure = "rank 0 on " + host_ + " heard from " + std::to_string(known) + " of the " +
                std::to_string(num_peers_) + " other ranks on its port " + std::to_string(port);
    }
  }
  std::int64_t failed = failure.empty() ? 0 : 1;
  comm.Allreduce(&failed, 1, ReduceOp::kMax);
  if (failed != 0) {
    for (int i = 0; i < num_peers_; ++i) {
      if (peers_[i].fd >= 0) close(peers_[i].fd);
    }
    if (listen_fd_ >= 0) close(listen_fd_);
    throw CollectiveError("dist.timeout: the node-loss watchdog's TCP connections failed" +
                              (failure.empty() ? std::string(" on another rank") : ": " + failure) +
                              " (dist.timeout: 0 turns the watchdog off)",
                          1);
  }
  const double now = Now();
  for (int i = 0; i < num_peers_; ++i) peers_[i].last_heard = now;
  if (pipe2(wake_, O_CLOEXEC) != 0) throw UserError("dist.timeout: pipe2 failed");
  thread_ = std::thread([this] { Loop(); });
}

Watchdog::~Watchdog() {
  if (thread_.joinable()) {
    const char byte = 0;
    if (write(wake_[1], &byte, 1) != 1) std::perror("watchdog wake");
    thread_.join();
  }
  for (int i = 0; i < num_peers_; ++i) {
    if (peers_[i].fd >= 0) close(peers_[i].fd);
  }
  for (const int fd : {listen_fd_, wake_[0], wake_[1]}) {
    if (fd >= 0) close(fd);
  }
}

void Watchdog::SetCheckpoint(const std::string& path) {
  const std::lock_guard<std::mutex> lock(mu_);
  checkpoint_ = path;
}

void Watchdog::Send(Peer& peer, std::uint32_t type, std::int64_t value, const std::string& text) {
  if (type != 0 && peer.out.size() < kMaxQueued) {
    const Header h{type, static_cast<std::uint32_t>(text.size()), value};
    peer.out.append(reinterpret_cast<const char*>(&h), sizeof h);
    peer.out += text;
  }
  while (!peer.out.empty()) {
    const ssize_t n = send(peer.fd, peer.out.data(), peer.out.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n <= 0) break;  // full (the rest goes later) or failed (the read side sees it)
    peer.out.erase(0, static_cast<std::size_t>(n));
  }
}

bool Watchdog::Receive(Peer& peer) {
  char buf[4096];
  for (;;) {
    const ssize_t n = recv(peer.fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n == 0) return false;
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) break;
      return false;
    }
    peer.in.append(buf, static_cast<std::size_t>(n));
  }
  while (peer.in.size() >= sizeof(Header)) {
    Header h;
    std::memcpy(&h, peer.in.data(), sizeof h);
    if (h.length > kMaxText) return false;
    if (peer.in.size() < sizeof h + h.length) break;
    const std::string text = peer.in.substr(sizeof h, h.length);
    peer.in.erase(0, sizeof h + h.length);
    peer.last_heard = Now();
    if (h.type == kHello) {
      peer.rank = static_cast<int>(h.value);
      peer.host = text;
    } else if (h.type == kBeat) {
      peer.step = h.value;
      if (peer.rank == 0 && rank_ != 0) SetCheckpoint(text);
    } else if (h.type == kLost) {
      Die(text);
    }
  }
  return true;
}

void Watchdog::Loop() {
  const double interval = timeout_ / 10;
  double next_beat = Now();
  for (;;) {
    std::vector<pollfd> fds{{wake_[0], POLLIN, 0}};
    std::vector<int> which;
    for (int i = 0; i < num_peers_; ++i) {
      const Peer& p = peers_[i];
      if (p.closed) continue;
      fds.push_back({p.fd, static_cast<short>(POLLIN | (p.out.empty() ? 0 : POLLOUT)), 0});
      which.push_back(i);
    }
    const double wait = std::max(0.0, next_beat - Now());
    poll(fds.data(), fds.size(), static_cast<int>(std::ceil(wait * 1000)));
    if ((fds[0].revents & POLLIN) != 0) return;
    for (std::size_t k = 1; k < fds.size(); ++k) {
      Peer& p = peers_[which[k - 1]];
      if ((fds[k].revents & (POLLIN | POLLHUP | POLLERR)) != 0 && !Receive(p)) p.closed = true;
      if (!p.closed && (fds[k].revents & POLLOUT) != 0) Send(p, 0, 0, "");  // type 0: flush only
    }
    const double now = Now();
    if (now >= next_beat) {
      std::string checkpoint;
      if (rank_ == 0) {
        const std::lock_guard<std::mutex> lock(mu_);
        checkpoint = checkpoint_;
      }
      for (int i = 0; i < num_peers_; ++i) {
        if (!peers_[i].closed) Send(peers_[i], kBeat, step_.load(), checkpoint);
      }
      next_beat = now + interval;
    }
    std::string ranks, hosts;
    double silent_for = 0;
    std::int64_t their_step = -1;
    for (int i = 0; i < num_peers_; ++i) {
      const Peer& p = peers_[i];
      if (p.closed || now - p.last_heard <= timeout_) continue;
      ranks += (ranks.empty() ? "" : ", ") + std::to_string(p.rank);
      hosts += (hosts.empty() ? "" : ", ") + p.host;
      silent_for = std::max(silent_for, now - p.last_heard);
      their_step = std::max(their_step, p.step);
    }
    if (ranks.empty()) continue;
    std::string checkpoint;
    {
      const std::lock_guard<std::mutex> lock(mu_);
      checkpoint = checkpoint_;
    }
    const std::string message =
        "node lost: rank(s) " + ranks + " on host(s) " + hosts + " silent for " +
        Seconds(silent_for) + " s (dist.timeout " + Seconds(timeout_) +
        " s): a node cut off the network or frozen; last step completed: " +
        std::to_string(step_.load()) +
        (their_step >= 0 ? " (the silent rank(s) reported step " + std::to_string(their_step) + ")"
                         : std::string()) +
        "; newest checkpoint: " + (checkpoint.empty() ? "none written" : "'" + checkpoint + "'") +
        "; the job ends (reported by rank " + std::to_string(rank_) + " on " + host_ + ")";
    if (rank_ == 0) {
      for (int i = 0; i < num_peers_; ++i) {
        Peer& p = peers_[i];
        if (!p.closed && now - p.last_heard <= timeout_) Send(p, kLost, 0, message);
      }
    }
    Die(message);
  }
}

void Watchdog::Die(const std::string& message) {
  LogLine(LogLevel::kError, message);
  std::fflush(stdout);
  std::fflush(stderr);
  EndLauncherLater(getppid(), kLauncherGrace);
  _exit(kNodeLossExit);
}

}  // namespace rnnsearch
