// Calendar conversions used by partition values, statistics and time travel. All times
// are UTC; days count from 1970-01-01.
#pragma once

#include <arrow/result.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "inlet/time.h"  // FormatTimestampMillisIso, ParseTimestampMicros

namespace inlet {

int64_t NowMillis();

/// "YYYY-MM-DD".
std::string FormatDate(int32_t days);
/// "YYYY-MM-DDTHH:MM:SS.ffffffZ" (ISO-8601, UTC, microseconds).
std::string FormatTimestampIso(int64_t micros);
/// "YYYY-MM-DD HH:MM:SS[.ffffff]" (no zone; fractional part only when non-zero).
std::string FormatTimestampPlain(int64_t micros);

/// Parses a date "YYYY-MM-DD".
arrow::Result<int32_t> ParseDate(std::string_view text);

/// Parses a Delta/Spark interval as used by table properties such as
/// delta.logRetentionDuration: "interval 30 days", "interval 1 week 2 hours", or without
/// the leading "interval". Units: nanosecond(s), microsecond(s), millisecond(s),
/// second(s), minute(s), hour(s), day(s), week(s). Returns milliseconds; Invalid names
/// the text.
arrow::Result<int64_t> ParseIntervalMillis(std::string_view text);

}  // namespace inlet
