#include "inlet/log.h"

#include <atomic>
#include <cstdio>
#include <mutex>

#include "inlet/common/redact.h"

namespace inlet {

namespace {

std::atomic<int> g_level{static_cast<int>(LogLevel::kWarning)};
std::mutex g_write;

}  // namespace

const char* LogLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kError:
      return "error";
    case LogLevel::kWarning:
      return "warning";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kDebug:
      return "debug";
  }
  return "?";
}

arrow::Result<LogLevel> ParseLogLevel(std::string_view name) {
  for (LogLevel l :
       {LogLevel::kError, LogLevel::kWarning, LogLevel::kInfo, LogLevel::kDebug}) {
    if (name == LogLevelName(l)) return l;
  }
  return arrow::Status::Invalid("unknown log level '", std::string(name),
                                "' (use error, warning, info or debug)");
}

void SetLogLevel(LogLevel level) { g_level.store(static_cast<int>(level)); }

LogLevel GetLogLevel() { return static_cast<LogLevel>(g_level.load()); }

bool LogEnabled(LogLevel level) { return static_cast<int>(level) <= g_level.load(); }

void Log(LogLevel level, std::string_view where, std::string_view text) {
  if (!LogEnabled(level)) return;
  std::string line = "inlet: ";
  line += LogLevelName(level);
  line += ": ";
  if (!where.empty()) {
    line += where;
    line += ": ";
  }
  for (char c : MaskKnownSecrets(std::string(text)))
    line += (c == '\n' || c == '\r') ? ' ' : c;
  line += '\n';
  std::lock_guard<std::mutex> lock(g_write);
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace inlet
