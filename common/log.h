// Logging: one line per message, with a timestamp, the level and the rank.
//
//   2026-11-21 10:30:00.123 INFO  [rank 0/2] step 100 loss 4.21
//
// Rank 0 prints every level from its threshold up (info by default); the
// other ranks print only warnings and errors, so progress appears once per
// job. Lines go to stderr, each written with one call so that lines of
// different threads or ranks do not interleave within a line.
//
//   RNN_LOG(kInfo) << "step " << step;
#pragma once

#include <sstream>
#include <string>

namespace rnnsearch {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

// Sets the rank shown on each line and which levels are printed. Before
// this is called the process logs as rank 0 of 1 at level kInfo.
void InitLogging(int rank, int world_size, LogLevel threshold = LogLevel::kInfo);

// Whether a message of this level would be printed by this rank.
bool LogEnabled(LogLevel level);

// Writes one formatted line (used by RNN_LOG; callable directly).
void LogLine(LogLevel level, const std::string& message);

class LogMessage {
 public:
  explicit LogMessage(LogLevel level) : level_(level) {}
  ~LogMessage() { LogLine(level_, stream_.str()); }
  LogMessage(const LogMessage&) = delete;
  LogMessage& operator=(const LogMessage&) = delete;
  std::ostream& stream() { return stream_; }

 private:
  LogLevel level_;
  std::ostringstream stream_;
};

// Turns the streamed expression into void so RNN_LOG is one expression
// (safe in an unbraced if/else); & binds looser than <<.
struct LogVoidify {
  void operator&(std::ostream&) {}
};

}  // namespace rnnsearch

#define RNN_LOG(level)                                   \
  !::rnnsearch::LogEnabled(::rnnsearch::LogLevel::level) \
      ? (void)0                                          \
      : ::rnnsearch::LogVoidify() & ::rnnsearch::LogMessage(::rnnsearch::LogLevel::level).stream()
