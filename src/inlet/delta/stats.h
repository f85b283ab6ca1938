// Per-file statistics (PROTOCOL.md "Per-file Statistics"): collected while writing, read
// back for file skipping.
#pragma once

#include <arrow/record_batch.h>
#include <arrow/result.h>

#include <memory>
#include <string>
#include <vector>

#include "inlet/common/json.h"
#include "inlet/table/file_stats.h"
#include "inlet/table/value.h"

namespace inlet::delta {

/// The stats JSON string of an add action: numRecords, and minValues/maxValues/nullCount
/// of the leaves stats has. Strings are bounded by 32-character prefixes (a truncated max
/// stays an upper bound); timestamps by milliseconds rounded outwards; booleans and
/// binary get counts only; a leaf whose bounds are unknown gets none.
std::string StatsJson(const FileStatistics& stats);

/// Reads the statistics of one column (physical path) from a file's stats JSON, as
/// scalars of `type`; bounds whose encoding is lossy for the type are left unknown.
ColumnStats ReadColumnStats(const Json& stats, const std::vector<std::string>& path,
                            const std::shared_ptr<arrow::DataType>& type);

}  // namespace inlet::delta
