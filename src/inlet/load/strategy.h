// Load strategies: how a load turns source rows into one change of the table. Every
// decision that depends on the strategy is made by its class (strategy.cc), in one place:
// what a run reads of its source, which rows it keeps, which quality rules it relaxes,
// and whether the rows are written (in which mode) or merged (with which options). The
// runners (pipeline/runner.cc for runs, stream/ for streams) ask; they never test the
// type. Strategies see tables only through inlet/table.h, never a format's internals.
#pragma once

#include <arrow/result.h>
#include <arrow/table.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "inlet/load/cdc.h"
#include "inlet/load/state.h"
#include "inlet/load/watermark.h"
#include "inlet/source/source.h"
#include "inlet/table.h"

namespace inlet::load {

enum class StrategyType {
  kFullRefresh,
  kAppend,
  kWatermark,
  kMerge,
  kSnapshotDiff,
  kCdc
};

/// The share of a table's rows a snapshot_diff run may delete unless configured
/// otherwise.
inline constexpr double kDefaultMaxDeletePercent = 50;

/// full_refresh, append, watermark, merge, snapshot_diff, cdc.
const char* StrategyName(StrategyType t);

/// A span of cursor values: microseconds when written with a unit (30s, 15m, 2h, 1d), a
/// plain count for integer cursors otherwise.
struct Span {
  int64_t value = 0;
  bool has_unit = false;
};

/// The strategy section of a pipeline (docs/pipelines.md), validated by the pipeline
/// config.
struct StrategyConfig {
  StrategyType type = StrategyType::kAppend;
  // watermark
  std::string cursor;
  bool inclusive = false;
  std::optional<Span> lookback;
  std::optional<Span> safety_margin;
  NullCursorPolicy null_cursor = NullCursorPolicy::kFail;
  // merge: new files merged by the destination's keys.
  MergeMode merge_mode = MergeMode::kUpsert;  // upsert | insert_only | delete_insert
  std::string order_by;
  // upsert with order_by: a row applies only when its order_by value is greater than the
  // table row's (and than its key's last delete); false: order_by orders the batch only,
  // and the batch's winner overwrites the table's row whatever its value (stale_rows:
  // apply).
  bool order_against_table = true;
  std::string delete_flag;
  bool ignore_null_updates = false;
  std::vector<std::string> update_columns;
  // snapshot_diff: a full extract compared with the table by key and row hash.
  MissingKeys deletes = MissingKeys::kDelete;  // delete | soft_delete | keep
  std::string soft_delete_column;
  double min_change_percent = 0;
  // snapshot_diff and full_refresh: a load may delete at most this percentage of the
  // table's rows, so that an empty or truncated extract cannot empty it. Unset:
  // kDefaultMaxDeletePercent for snapshot_diff, no limit for full_refresh (whose empty
  // extract empties the table on purpose).
  std::optional<double> max_delete_percent;
  std::optional<int64_t> full_refresh_every_runs;
  std::optional<double> full_refresh_every_hours;
  // cdc: change events applied by key in sequence order.
  std::vector<std::string> sequence_by;
  std::string operation_column;  // empty: __op when the source has it, else op
  std::map<std::string, ChangeOp> operations = DefaultOperations();
  bool keep_operation_column = false;
  // cdc with scd_type 2: history (valid_from/valid_to/is_current), new versions only when
  // a tracked column changes (empty: every column).
  int64_t scd_type = 1;
  std::vector<std::string> track_history_columns;
  std::string valid_from_column = "valid_from";
  std::string valid_to_column = "valid_to";
  std::string is_current_column = "is_current";
  // Not a configuration key: set by sources whose snapshot rows mark themselves
  // (HistoryOptions::snapshot_marker; postgres_cdc: _pg_lsn).
  std::string history_snapshot_marker;
};

/// How a load's rows go into the table.
struct TableChange {
  /// A merge with merge_options (whose write options the commit fills in), or a write in
  /// mode.
  bool merge = false;
  WriteMode mode = WriteMode::kAppend;
  MergeOptions merge_options;
  /// snapshot_diff: commit only when at least this percentage of the table's rows change
  /// (counted by a dry run of the merge first); 0: always.
  double min_change_percent = 0;
  /// An overwrite may shrink the table by at most this percentage of its rows (a merge
  /// carries its own limit in merge_options); unset: no limit.
  std::optional<double> max_delete_percent;
};

/// A run's situation, for the strategy's decisions.
struct RunContext {
  /// The destination's snapshot; null when there is no table yet.
  const Snapshot* table = nullptr;
  /// The state the table holds (empty before the first run).
  const PipelineState* state = nullptr;
  /// A backfill range of cursor values, from <= cursor < to (watermark only).
  std::optional<std::string> backfill_from;
  std::optional<std::string> backfill_to;
  int64_t now_ms = 0;
  bool backfill() const { return backfill_from || backfill_to; }
};

/// What a strategy's row selection counted.
struct SelectionCounts {
  int64_t skipped_watermark = 0;
  int64_t deduplicated = 0;
};

class Strategy {
 public:
  /// The strategy of config; keys are the destination's.
  static std::unique_ptr<Strategy> Make(const StrategyConfig& config,
                                        std::vector<std::string> keys);
  virtual ~Strategy() = default;

  const char* name() const { return StrategyName(config_.type); }

  // --- Runs (bounded sources).

  /// Fails for run options the strategy does not take (a backfill, but for watermark).
  virtual arrow::Status CheckRun(const RunContext& ctx) const;
  /// What a run reads of its source, given the state the table holds.
  virtual arrow::Result<ReadRequest> Request(const RunContext& ctx) const = 0;
  /// The rows of a read the run loads (read->rows, with the source's part column), and
  /// the state it leads to (*next, a copy of the table's with the run's fields set; its
  /// position becomes the read's, or stays for a backfill). Part marks go into
  /// read->position through source.Mark.
  virtual arrow::Result<std::shared_ptr<arrow::Table>> Select(
      const RunContext& ctx, const BoundedSource& source, SourceRead* read,
      PipelineState* next, SelectionCounts* counts) const;

  // --- Runs and streams.

  /// Source rows as the strategy loads them: change events get the flags the merge takes
  /// (cdc). part_names names the rows' parts (files) for messages; empty for streams.
  /// operation_column: cdc's operation column when the pipeline names none (a stream's
  /// follows its format); empty: __op when the rows have it, else op.
  virtual arrow::Result<std::shared_ptr<arrow::Table>> Prepare(
      std::shared_ptr<arrow::Table> rows, const std::vector<std::string>& part_names,
      const std::string& operation_column = "") const;
  /// Columns the strategy adds and the merge consumes: never written, so never drift.
  virtual std::vector<std::string> consumed_columns() const { return {}; }
  /// Whether repeated keys within a load are the strategy's to resolve (a merge keeps
  /// each key's winning row) rather than a quality failure.
  virtual bool resolves_repeated_keys() const { return false; }
  /// A boolean column marking rows that carry no key (truncate events), which skip the
  /// key gates; empty when none do.
  virtual std::string keyless_rows_flag() const { return ""; }
  /// The change a load makes: a write in a mode, or a merge. next: the state a run
  /// commits (a strategy may record a decision there); null for streams.
  virtual TableChange Change(const RunContext& ctx, PipelineState* next) const = 0;
  /// The rows as they go into the table, once the quality gates passed them
  /// (snapshot_diff with soft deletes: every row of the extract is live).
  virtual arrow::Result<std::shared_ptr<arrow::Table>> Complete(
      std::shared_ptr<arrow::Table> rows) const {
    return rows;
  }

 protected:
  Strategy(StrategyConfig config, std::vector<std::string> keys)
      : config_(std::move(config)), keys_(std::move(keys)) {}

  StrategyConfig config_;
  std::vector<std::string> keys_;
};

/// The merge of the merge strategy: the keys, mode, order_by, delete flag and partial
/// updates (the write options left at their defaults).
MergeOptions MergeStrategyOptions(const StrategyConfig& c,
                                  const std::vector<std::string>& keys);

/// How the cdc strategy reads change events: the operation column
/// (default_operation_column when not configured), its mapping, the sequence columns.
ChangeOptions ChangeStrategyOptions(const StrategyConfig& c,
                                    const std::string& default_operation_column);

/// The merge of the cdc strategy: keys, sequence columns, the flags MarkChanges adds, and
/// the history (scd_type 2) columns (the write options left at their defaults).
MergeOptions CdcMergeOptions(const StrategyConfig& c,
                             const std::vector<std::string>& keys);

}  // namespace inlet::load
