// Committing a transaction: the actions of one version written with put-if-absent, and
// optimistic concurrency against commits that won the race (PROTOCOL.md, and the
// conflict rules of Delta's concurrency control).
#pragma once

#include <arrow/result.h>

#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "inlet/delta/actions.h"
#include "inlet/storage/table_store.h"

namespace inlet::delta {

struct PendingCommit {
  /// The actions to commit. commit_info holds operation, operationParameters and
  /// operationMetrics; timestamp, readVersion, isBlindAppend and engineInfo are filled in
  /// at commit time. At most one txn per appId.
  ActionSet actions;
  /// The partitions this transaction read (the rows it replaces); a concurrent commit
  /// adding files to them conflicts. Empty for a blind append, which reads nothing.
  std::function<bool(const PartitionValues&)> reads_partition;
  /// Called when concurrent commits removed files (FileKey) this one also removes. It may
  /// drop the part of the commit that depends on them (a compaction drops those bins) and
  /// return true to go on; false (or unset) fails with a conflict.
  std::function<bool(const std::set<std::string>& removed)> drop_removed;
};

/// Commits at read_version + 1, moving past versions won by concurrent writers when
/// their changes do not conflict with this transaction. Each put that loses a race counts
/// as an attempt (following all the commits that won costs none), at most max_attempts.
/// Returns the committed version. A conflict fails with Invalid naming the version and
/// the reason; nothing of this transaction is then visible.
arrow::Result<int64_t> CommitWithRetries(const TableStore& store, int64_t read_version,
                                         PendingCommit& commit, int max_attempts,
                                         int* attempts);

/// The newline-delimited JSON of a commit (commitInfo first).
std::string SerializeCommit(const ActionSet& actions);

}  // namespace inlet::delta
