// Table maintenance shared by the maintenance commands and by commits: the retention
// periods of table properties, and the cleanup of expired log files.
#pragma once

#include <arrow/result.h>

#include <cstdint>

#include "inlet/delta/actions.h"
#include "inlet/storage/table_store.h"
#include "inlet/table.h"

namespace inlet::delta {

inline constexpr int64_t kDefaultDeletedFileRetentionMs =
    7LL * 24 * 3600 * 1000;                                                 // 1 week
inline constexpr int64_t kDefaultLogRetentionMs = 30LL * 24 * 3600 * 1000;  // 30 days

/// delta.deletedFileRetentionDuration in milliseconds (default 1 week): how long removed
/// files stay for time travel and for readers of older versions.
arrow::Result<int64_t> DeletedFileRetention(const Metadata& metadata);
/// delta.logRetentionDuration in milliseconds (default 30 days): how long log entries
/// stay.
arrow::Result<int64_t> LogRetention(const Metadata& metadata);

/// The files in _delta_log.
arrow::Result<FileCounts> CountLogFiles(const TableStore& store);

/// Deletes the log files (commits, checkpoints, checksums) of the versions before the
/// newest checkpoint all of whose earlier commits are older than now_ms minus
/// delta.logRetentionDuration; every version from that checkpoint on stays readable.
/// Nothing is deleted when delta.enableExpiredLogCleanup is false. Returns what it
/// deleted.
arrow::Result<FileCounts> CleanupExpiredLogs(const TableStore& store,
                                             const Metadata& metadata, int64_t now_ms);

}  // namespace inlet::delta
