#include "inlet/load/strategy.h"

#include <arrow/compute/api.h>

#include "inlet/load/rows.h"

namespace inlet::load {

const char* StrategyName(StrategyType t) {
  switch (t) {
    case StrategyType::kFullRefresh:
      return "full_refresh";
    case StrategyType::kAppend:
      return "append";
    case StrategyType::kWatermark:
      return "watermark";
    case StrategyType::kMerge:
      return "merge";
    case StrategyType::kSnapshotDiff:
      return "snapshot_diff";
    case StrategyType::kCdc:
      return "cdc";
  }
  return "?";
}

MergeOptions MergeStrategyOptions(const StrategyConfig& c,
                                  const std::vector<std::string>& keys) {
  MergeOptions m;
  m.keys = keys;
  m.mode = c.merge_mode;
  m.order_by = c.order_by;
  // The table's row takes part in the comparison: a sequence-guarded merge on order_by,
  // whose late rows are discarded and whose deletes are remembered.
  if (!c.order_by.empty() && c.order_against_table && c.merge_mode == MergeMode::kUpsert)
    m.sequence_by = {c.order_by};
  m.delete_flag = c.delete_flag;
  m.ignore_null_updates = c.ignore_null_updates;
  m.update_columns = c.update_columns;
  return m;
}

ChangeOptions ChangeStrategyOptions(const StrategyConfig& c,
                                    const std::string& default_operation_column) {
  ChangeOptions ch;
  ch.operation_column =
      c.operation_column.empty() ? default_operation_column : c.operation_column;
  ch.operations = c.operations;
  ch.sequence_by = c.sequence_by;
  ch.keep_operation_column = c.keep_operation_column;
  ch.refuse_truncates = c.scd_type == 2;
  return ch;
}

MergeOptions CdcMergeOptions(const StrategyConfig& c,
                             const std::vector<std::string>& keys) {
  MergeOptions m;
  m.keys = keys;
  m.sequence_by = c.sequence_by;
  m.delete_flag = kDeleteFlag;
  m.truncate_flag = kTruncateFlag;
  m.history.enabled = c.scd_type == 2;
  m.history.track_columns = c.track_history_columns;
  m.history.valid_from = c.valid_from_column;
  m.history.valid_to = c.valid_to_column;
  m.history.is_current = c.is_current_column;
  m.history.snapshot_marker = c.history_snapshot_marker;
  return m;
}

arrow::Status Strategy::CheckRun(const RunContext& ctx) const {
  if (ctx.backfill())
    return arrow::Status::Invalid(
        "--from/--to (backfill) apply only to the watermark strategy");
  return arrow::Status::OK();
}

arrow::Result<std::shared_ptr<arrow::Table>> Strategy::Select(const RunContext&,
                                                              const BoundedSource&,
                                                              SourceRead* read,
                                                              PipelineState* next,
                                                              SelectionCounts*) const {
  next->position = read->position;
  return Prepare(read->rows, read->parts);
}

arrow::Result<std::shared_ptr<arrow::Table>> Strategy::Prepare(
    std::shared_ptr<arrow::Table> rows, const std::vector<std::string>&,
    const std::string&) const {
  return rows;
}

namespace {

ReadRequest Read(SourceScope scope) {
  ReadRequest r;
  r.scope = scope;
  return r;
}

TableChange Write(WriteMode mode) {
  TableChange c;
  c.mode = mode;
  return c;
}

TableChange Merge(MergeOptions options) {
  TableChange c;
  c.merge = true;
  c.merge_options = std::move(options);
  return c;
}

// full_refresh: the whole extract replaces the table whenever it changed.
class FullRefresh : public Strategy {
 public:
  using Strategy::Strategy;
  arrow::Result<ReadRequest> Request(const RunContext&) const override {
    return Read(SourceScope::kWholeExtract);
  }
  TableChange Change(const RunContext&, PipelineState*) const override {
    TableChange change = Write(WriteMode::kOverwrite);
    change.max_delete_percent = config_.max_delete_percent;
    return change;
  }
};

// append: new files are appended.
class Append : public Strategy {
 public:
  using Strategy::Strategy;
  arrow::Result<ReadRequest> Request(const RunContext&) const override {
    return Read(SourceScope::kNew);
  }
  TableChange Change(const RunContext&, PipelineState*) const override {
    return Write(WriteMode::kAppend);
  }
};

// watermark: the rows past the watermark (or in a lookback or backfill range) are
// appended, those the table may hold already de-duplicated against it.
class Watermark : public Strategy {
 public:
  using Strategy::Strategy;

  arrow::Status CheckRun(const RunContext&) const override { return arrow::Status::OK(); }

  arrow::Result<ReadRequest> Request(const RunContext& ctx) const override {
    ReadRequest r = Read(SourceScope::kAll);
    const PipelineState& state = *ctx.state;
    // A source that filters where it reads (a database) leaves out what cannot be loaded.
    ReadRequest::CursorRange range;
    range.column = config_.cursor;
    range.nulls = config_.null_cursor != NullCursorPolicy::kExclude;
    if (ctx.backfill()) {
      range.from = ctx.backfill_from;
      range.to = ctx.backfill_to;
    } else if (!state.cursor_kind.empty() && state.watermark_value) {
      range.kind = state.cursor_kind;
      ARROW_ASSIGN_OR_RAISE(
          range.lowest,
          LowestLoadable(state.cursor_kind, state.watermark_value, Options(ctx)));
      range.loaded = state.watermark_value;
    }
    if (config_.safety_margin) {
      int64_t margin_us = config_.safety_margin->has_unit
                              ? config_.safety_margin->value
                              : config_.safety_margin->value * 1000000;
      range.highest = ctx.now_ms * 1000 - margin_us;
    }
    r.cursor_range = range;
    // Parts an earlier run marked, under the same options, may be skipped while every
    // cursor they hold is below what can still be loaded: a run's cost follows the new
    // data, not the source.
    if (ctx.backfill() || state.marks_signature != Signature()) return r;
    ARROW_ASSIGN_OR_RAISE(
        auto lowest,
        LowestLoadable(state.cursor_kind, state.watermark_value, Options(ctx)));
    NullCursorPolicy nulls = config_.null_cursor;
    r.skippable = [lowest, nulls](const PartMark& mark) {
      return CanSkipPart(mark, lowest, nulls);
    };
    return r;
  }

  arrow::Result<std::shared_ptr<arrow::Table>> Select(
      const RunContext& ctx, const BoundedSource& source, SourceRead* read,
      PipelineState* next, SelectionCounts* counts) const override {
    ARROW_ASSIGN_OR_RAISE(
        auto sel, SelectByWatermark(read->rows, Options(ctx), ctx.state->watermark,
                                    ctx.table, read->parts));
    counts->skipped_watermark = sel.skipped_watermark;
    counts->deduplicated = sel.deduplicated;
    next->watermark = sel.watermark_after;
    // A backfill leaves the watermark's bookkeeping (and the source's position) alone.
    if (!ctx.backfill()) {
      next->marks_signature = Signature();
      next->cursor_kind = sel.cursor_kind;
      next->watermark_value = sel.watermark_value;
      for (size_t i = 0; i < read->parts.size(); ++i) {
        source.Mark(i, PartMark{sel.file_max_cursor[i], sel.file_has_null[i]}, read);
      }
      next->position = read->position;
    }
    return sel.rows;
  }

  TableChange Change(const RunContext&, PipelineState*) const override {
    return Write(WriteMode::kAppend);
  }

 private:
  // The options that decide which cursor values a run can load.
  std::string Signature() const {
    std::string sig = config_.cursor + (config_.inclusive ? "|inclusive" : "|exclusive");
    if (config_.lookback) {
      sig += "|lookback=" + std::to_string(config_.lookback->value) +
             (config_.lookback->has_unit ? "us" : "");
    }
    return sig;
  }

  WatermarkOptions Options(const RunContext& ctx) const {
    WatermarkOptions w;
    w.cursor = config_.cursor;
    w.inclusive = config_.inclusive;
    if (config_.lookback) {
      w.lookback = config_.lookback->value;
      w.lookback_has_unit = config_.lookback->has_unit;
    }
    if (config_.safety_margin) {
      w.safety_margin_us = config_.safety_margin->has_unit
                               ? config_.safety_margin->value
                               : config_.safety_margin->value * 1000000;
    }
    w.null_cursor = config_.null_cursor;
    w.keys = keys_;
    w.backfill_from = ctx.backfill_from;
    w.backfill_to = ctx.backfill_to;
    w.now_us = ctx.now_ms * 1000;
    return w;
  }
};

// merge: new files merged into the table by key.
class MergeByKey : public Strategy {
 public:
  using Strategy::Strategy;
  arrow::Result<ReadRequest> Request(const RunContext&) const override {
    return Read(SourceScope::kNew);
  }
  // Compared with the table's rows, an order_by value must be there: a null one is
  // refused, naming its file and row.
  arrow::Result<std::shared_ptr<arrow::Table>> Prepare(
      std::shared_ptr<arrow::Table> rows, const std::vector<std::string>& part_names,
      const std::string&) const override {
    if (MergeStrategyOptions(config_, keys_).sequence_by.empty()) return rows;
    auto column = rows->GetColumnByName(config_.order_by);
    if (!column) {
      return arrow::Status::Invalid("merge: the source has no order_by column '",
                                    config_.order_by, "'");
    }
    if (column->null_count() == 0) return rows;
    int64_t row = 0;
    for (const auto& chunk : column->chunks()) {
      for (int64_t i = 0; i < chunk->length(); ++i, ++row) {
        if (chunk->IsNull(i)) {
          return arrow::Status::Invalid(
              "merge: ", PlaceOfRow(*rows, row, part_names), ": the order_by column '",
              config_.order_by,
              "' is null, so the row cannot be compared with the table's (set "
              "strategy.stale_rows: apply to order the batch only)");
        }
      }
    }
    return rows;
  }
  std::vector<std::string> consumed_columns() const override {
    return {config_.delete_flag};
  }
  bool resolves_repeated_keys() const override { return true; }
  TableChange Change(const RunContext&, PipelineState*) const override {
    return Merge(MergeStrategyOptions(config_, keys_));
  }
};

// cdc: change events applied by key in sequence order (or kept as history).
class ChangeCapture : public Strategy {
 public:
  using Strategy::Strategy;
  arrow::Result<ReadRequest> Request(const RunContext&) const override {
    return Read(SourceScope::kNew);
  }
  arrow::Result<std::shared_ptr<arrow::Table>> Prepare(
      std::shared_ptr<arrow::Table> rows, const std::vector<std::string>& part_names,
      const std::string& operation_column) const override {
    // Debezium's events carry the operation as __op; other sources as op.
    std::string fallback = !operation_column.empty()       ? operation_column
                           : rows->GetColumnByName("__op") ? "__op"
                                                           : "op";
    return MarkChanges(rows, ChangeStrategyOptions(config_, fallback), part_names);
  }
  std::vector<std::string> consumed_columns() const override {
    return {kDeleteFlag, kTruncateFlag};
  }
  bool resolves_repeated_keys() const override { return true; }
  std::string keyless_rows_flag() const override { return kTruncateFlag; }
  TableChange Change(const RunContext&, PipelineState*) const override {
    return Merge(CdcMergeOptions(config_, keys_));
  }
};

// snapshot_diff: a full refresh when due (or on the first run), else a merge in snapshot
// mode, which diffs the extract with the table in one pass and rewrites only the files
// with a change.
class SnapshotDiff : public Strategy {
 public:
  using Strategy::Strategy;
  arrow::Result<ReadRequest> Request(const RunContext&) const override {
    return Read(SourceScope::kWholeExtract);
  }
  TableChange Change(const RunContext& ctx, PipelineState* next) const override {
    const auto& st = config_;
    static const PipelineState kNone;  // streams have no run state
    const PipelineState& state = ctx.state ? *ctx.state : kNone;
    bool full =
        !ctx.table ||
        (st.full_refresh_every_runs &&
         state.run + 1 - state.last_full_refresh_run >= *st.full_refresh_every_runs) ||
        (st.full_refresh_every_hours && ctx.now_ms - state.last_full_refresh_ms >=
                                            *st.full_refresh_every_hours * 3600000.0);
    if (full) {
      next->last_full_refresh_run = state.run + 1;
      next->last_full_refresh_ms = ctx.now_ms;
      TableChange change = Write(WriteMode::kOverwrite);
      change.max_delete_percent =
          st.max_delete_percent.value_or(kDefaultMaxDeletePercent);
      return change;
    }
    MergeOptions m;
    m.keys = keys_;
    m.mode = MergeMode::kSnapshot;
    m.missing_keys = st.deletes;
    m.soft_delete_column = st.soft_delete_column;
    m.max_delete_percent = st.max_delete_percent.value_or(kDefaultMaxDeletePercent);
    TableChange change = Merge(std::move(m));
    change.min_change_percent = st.min_change_percent;
    return change;
  }
  arrow::Result<std::shared_ptr<arrow::Table>> Complete(
      std::shared_ptr<arrow::Table> rows) const override {
    if (config_.deletes != MissingKeys::kSoftDelete) return rows;
    return SetBoolColumn(rows, config_.soft_delete_column,
                         false);  // every row of the extract is live
  }
};

}  // namespace

std::unique_ptr<Strategy> Strategy::Make(const StrategyConfig& config,
                                         std::vector<std::string> keys) {
  switch (config.type) {
    case StrategyType::kFullRefresh:
      return std::unique_ptr<Strategy>(new FullRefresh(config, std::move(keys)));
    case StrategyType::kAppend:
      return std::unique_ptr<Strategy>(new Append(config, std::move(keys)));
    case StrategyType::kWatermark:
      return std::unique_ptr<Strategy>(new Watermark(config, std::move(keys)));
    case StrategyType::kMerge:
      return std::unique_ptr<Strategy>(new MergeByKey(config, std::move(keys)));
    case StrategyType::kSnapshotDiff:
      return std::unique_ptr<Strategy>(new SnapshotDiff(config, std::move(keys)));
    case StrategyType::kCdc:
      return std::unique_ptr<Strategy>(new ChangeCapture(config, std::move(keys)));
  }
  return nullptr;
}

}  // namespace inlet::load
