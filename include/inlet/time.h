// Timestamps as people write them, for time travel (SnapshotSpec::timestamp_ms) and
// reports. All times are UTC.
#pragma once

#include <arrow/result.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace inlet {

/// "YYYY-MM-DDTHH:MM:SS.mmmZ": milliseconds since the epoch in ISO-8601.
std::string FormatTimestampMillisIso(int64_t millis);

/// Parses "YYYY-MM-DD", "YYYY-MM-DD HH:MM[:SS[.f{1,9}]]" with 'T' or ' ', and an optional
/// zone "Z" / "+HH:MM" / "-HH:MM" (without one the time is taken as UTC). Returns
/// microseconds since the epoch; Invalid names the text.
arrow::Result<int64_t> ParseTimestampMicros(std::string_view text);

}  // namespace inlet
