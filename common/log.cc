#include "common/log.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>

namespace rnnsearch {
namespace {

std::atomic<int> g_rank{0};
std::atomic<int> g_size{1};
std::atomic<int> g_threshold{static_cast<int>(LogLevel::kInfo)};

const char* LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return "DEBUG";
    case LogLevel::kInfo: return "INFO ";
    case LogLevel::kWarn: return "WARN ";
    case LogLevel::kError: return "ERROR";
  }
  return "?    ";
}

}  // namespace

void InitLogging(int rank, int world_size, LogLevel threshold) {
  g_rank = rank;
  g_size = world_size;
  g_threshold = static_cast<int>(threshold);
}

bool LogEnabled(LogLevel level) {
  int min = g_threshold.load();
  if (g_rank.load() != 0 && min < static_cast<int>(LogLevel::kWarn)) {
    min = static_cast<int>(LogLevel::kWarn);
  }
  return static_cast<int>(level) >= min;
}

void LogLine(LogLevel level, const std::string& message) {
  using Clock = std::chrono::system_clock;
  const auto now = Clock::now();
  const std::time_t secs = Clock::to_time_t(now);
  const int millis = static_cast<int>(
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000);
  std::tm tm{};
  localtime_r(&secs, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", &tm);
  std::string line;
  line.reserve(message.size() + 64);
  char prefix[96];
  std::snprintf(prefix, sizeof prefix, "%s.%03d %s [rank %d/%d] ", stamp, millis, LevelName(level),
                g_rank.load(), g_size.load());
  line += prefix;
  line += message;
  if (line.empty() || line.back() != '\n') line += '\n';
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace rnnsearch
