// Running a pipeline: read the source, select rows by strategy, check quality gates, and
// commit the rows with the pipeline's new state in one table commit.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <arrow/result.h>

#include "inlet/common/json.h"
#include "inlet/load/cdc.h"
#include "inlet/load/rows.h"
#include "inlet/pipeline/config.h"
#include "inlet/table.h"

namespace inlet::pipeline {

struct RunOptions {
  bool dry_run = false;
  /// A backfill range (watermark strategy): from <= cursor < to.
  std::optional<std::string> backfill_from;
  std::optional<std::string> backfill_to;
};

struct RunReport {
  std::string pipeline;
  std::string table;
  std::string strategy;
  /// committed | no_changes | no_significant_changes | dry_run | failed
  std::string status;
  int64_t rows_read = 0;
  int64_t rows_skipped_watermark = 0;
  int64_t rows_deduplicated = 0;
  int64_t rows_rejected = 0;
  int64_t rows_written = 0;
  // merge: how the written rows split.
  int64_t rows_inserted = 0;
  int64_t rows_updated = 0;
  int64_t rows_deleted = 0;
  /// cdc: changes discarded as older than what the table holds for their key.
  int64_t rows_late = 0;
  /// snapshot_diff: changed rows as a percentage of the table's rows.
  std::optional<double> changed_percent;
  std::optional<std::string> watermark_before;
  std::optional<std::string> watermark_after;
  int64_t files_read = 0;
  int64_t files_written = 0;
  int64_t bytes_written = 0;
  int64_t partitions_touched = 0;
  int64_t table_version = -1;
  int64_t run = 0;
  int64_t duration_ms = 0;
  int attempts = 0;
  /// What table maintenance did after the run (optimize, vacuum, checkpoint), by step.
  Json maintenance = Json::object();
  /// Why the run failed, or (status committed) why its maintenance failed.
  std::string error;

  Json ToJson() const;
  std::string ToText() const;
};

/// The maintenance config.destination.maintenance asks for after a committed run: optimize,
/// vacuum and checkpoint when their intervals are due, recorded in report->maintenance. A
/// failure stops the steps, is recorded in report->error and returned; the run's data
/// stays committed.
arrow::Status RunMaintenance(const PipelineConfig& config, RunReport* report);

/// {"files": N, "bytes": N}, as maintenance results report them.
Json ToJson(const FileCounts& counts);

/// "optimize 12 -> 2 files; vacuum deleted 10 files": report.maintenance for people.
std::string MaintenanceText(const Json& maintenance);

/// Runs one pipeline; retries the whole run (up to processing.max_retries times) when its
/// commit loses to a concurrent, conflicting commit. On failure the table is unchanged
/// and the error names the pipeline.
arrow::Result<RunReport> RunPipeline(const PipelineConfig& config, const RunOptions& options);

/// The table's latest snapshot; null when there is no table yet (the first commit creates
/// it).
arrow::Result<std::shared_ptr<Snapshot>> CurrentSnapshot(const Table& table);

/// The derived partition columns of destination.partition_by.
std::vector<load::DerivedColumn> Derived(const DestinationConfig& d);

/// How a table of the pipeline other than its destination (quarantine, dead letters) at
/// path is reached: with destination.storage when it is on S3.
StorageOptions SideTableStorage(const PipelineConfig& c, const std::string& path);

/// The merge of the merge strategy: destination.keys, mode, order_by, delete flag and
/// partial updates (the write options left at their defaults).
MergeOptions MergeStrategyOptions(const PipelineConfig& c);

/// How the cdc strategy reads change events: the operation column (default_operation_column
/// when not configured), its mapping, the sequence columns.
load::ChangeOptions ChangeStrategyOptions(const PipelineConfig& c, const std::string& default_operation_column);

/// The merge of the cdc strategy: keys, sequence columns, the flags MarkChanges adds, and the
/// history (scd_type 2) columns (the write options left at their defaults).
MergeOptions CdcMergeOptions(const PipelineConfig& c);

/// The report of a run that failed with st (status "failed", nothing written).
RunReport FailedReport(const PipelineConfig& config, const arrow::Status& st);

}  // namespace inlet::pipeline
