// The one commit path of pipelines: runs and streams alike commit their rows with the
// state they cover through CommitLoad, with the write options CommitSpec gives. Table
// maintenance after commits is Maintain (load/maintenance.h).
#pragma once

#include <arrow/result.h>
#include <arrow/table.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "inlet/load/strategy.h"
#include "inlet/table.h"

namespace inlet::load {

/// What a pipeline's commit carries beside its rows.
struct CommitSpec {
  /// Used when the commit creates the table.
  std::vector<std::string> partition_by;
  std::vector<std::string> sort_by;
  /// WriteOptions::sort_run_bytes; unset: its default.
  std::optional<int64_t> sort_run_bytes;
  std::map<std::string, std::string> properties;
  /// The states recorded atomically with the rows (a run's state; a stream's offsets).
  std::map<std::string, AppState> app_states;
  /// The version the load's decisions were based on (-1: no table); see
  /// WriteOptions::read_version.
  std::optional<int64_t> read_version;
  /// Source columns the table lacks are added to it.
  bool merge_schema = false;
  /// The history's operation names, for writes and for merges, and their parameters.
  std::string operation;
  std::string merge_operation;
  std::map<std::string, std::string> parameters;
  /// Rows per batch handed to a write; unset: the rows' own chunks.
  std::optional<int64_t> batch_size;
};

/// The table's latest snapshot; null when there is no table yet (the first commit creates
/// it).
arrow::Result<std::shared_ptr<Snapshot>> LatestSnapshot(const Table& table);

/// The write options of spec, for a write in mode.
WriteOptions WriteOptionsOf(const CommitSpec& spec, WriteMode mode);

/// The merge options of a merging change, committed with spec.
MergeOptions MergeOptionsOf(const TableChange& change, const CommitSpec& spec);

/// Commits rows as change says, with spec: a merge (its result), or a write (its commit
/// in result.commit, and its rows counted as inserted). With dry_run a merge reads and
/// counts and a write does nothing; nothing is committed either way.
arrow::Result<MergeResult> CommitLoad(Table& table, std::shared_ptr<arrow::Table> rows,
                                      const TableChange& change, const CommitSpec& spec,
                                      bool dry_run = false);

/// Fails (Invalid, naming strategy.max_delete_percent) when change overwrites table,
/// whose rows its statistics count, with so many fewer rows (new_rows) that more than the
/// change's max_delete_percent of them would go. OK for other changes, and when there is
/// no table or its rows are not counted.
arrow::Status CheckOverwrite(const Snapshot* table, int64_t new_rows,
                             const TableChange& change);

/// Inserts, updates and deletes of a snapshot merge, per hundred table rows compared.
double ChangedPercent(const MergeResult& m);

}  // namespace inlet::load
