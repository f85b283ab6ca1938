// Snapshot diff: a full extract compared with the table by key and row hash.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <arrow/result.h>
#include <arrow/table.h>

#include "inlet/table.h"

namespace inlet::load {

struct DiffOptions {
  std::vector<std::string> keys;
  MissingKeys missing = MissingKeys::kDelete;
  /// With kSoftDelete: a boolean column set true on rows whose key left the extract.
  std::string soft_delete_column;
};

struct SnapshotDiff {
  /// Rows to merge (upsert) into the table: new and changed rows of the extract, and the
  /// rows of missing keys (flagged in delete_flag for deletion, or soft-deleted).
  std::shared_ptr<arrow::Table> changes;
  std::string delete_flag;  // the boolean column of changes marking deletions
  int64_t inserts = 0;
  int64_t updates = 0;
  int64_t deletes = 0;
  int64_t table_rows = 0;
  /// (inserts + updates + deletes) / max(table rows, 1) * 100.
  double changed_percent = 0;
};

/// Diffs extract (already cast to the table's column types where they share columns)
/// against every row of table. Rows compare on the table's columns except the soft-delete
/// column.
arrow::Result<SnapshotDiff> DiffSnapshot(const std::shared_ptr<arrow::Table>& extract, const Snapshot& table,
                                         const DiffOptions& options);

}  // namespace inlet::load
