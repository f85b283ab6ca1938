// inlet's own log: one line per message on standard error, "inlet: LEVEL: [WHERE: ]TEXT",
// filtered by a process-wide level (`--log-level`, `--quiet`). Libraries' logs
// (librdkafka's) go through it too, so that they are filtered and formatted alike.
// Messages must not carry secrets: callers mask them first.
#pragma once

#include <arrow/result.h>

#include <string>
#include <string_view>

namespace inlet {

enum class LogLevel { kError = 0, kWarning = 1, kInfo = 2, kDebug = 3 };

/// error, warning, info or debug.
const char* LogLevelName(LogLevel level);
/// The level a name gives; Invalid naming the choices otherwise.
arrow::Result<LogLevel> ParseLogLevel(std::string_view name);

/// The most detailed level written (default: warning). Thread-safe.
void SetLogLevel(LogLevel level);
LogLevel GetLogLevel();
bool LogEnabled(LogLevel level);

/// Writes one line when level is enabled; newlines in text become spaces. Thread-safe.
void Log(LogLevel level, std::string_view where, std::string_view text);

}  // namespace inlet
