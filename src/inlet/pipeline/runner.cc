#include "inlet/pipeline/runner.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <set>
#include <sstream>

#include <arrow/builder.h>
#include <arrow/compute/api.h>
#include <arrow/table.h>

#include "inlet/common/fault.h"
#include "inlet/common/retry.h"
#include "inlet/common/time.h"
#include "inlet/load/cdc.h"
#include "inlet/load/rows.h"
#include "inlet/load/state.h"
#include "inlet/load/quality.h"
#include "inlet/load/watermark.h"
#include "inlet/source/file_source.h"
#include "inlet/status.h"
#include "inlet/table.h"
#include "inlet/table/row_keys.h"

namespace inlet::pipeline {

arrow::Result<std::shared_ptr<Snapshot>> CurrentSnapshot(const Table& table) {
  auto snap = table.GetSnapshot({});
  if (snap.ok()) return *snap;
  // No table yet: the first committing run creates it.
  if (IsTableNotFound(snap.status())) {
    return std::shared_ptr<Snapshot>();
  }
  return snap.status();
}

std::vector<load::DerivedColumn> Derived(const DestinationConfig& d) {
  std::vector<load::DerivedColumn> out;
  for (const auto& p : d.partition_by) out.push_back({p.name, p.source, p.transform});
  return out;
}

StorageOptions SideTableStorage(const PipelineConfig& c, const std::string& path) {
  bool s3 = path.rfind("s3://", 0) == 0 || path.rfind("s3a://", 0) == 0;
  return s3 ? c.destination.storage : StorageOptions{};
}

MergeOptions MergeStrategyOptions(const PipelineConfig& c) {
  MergeOptions m;
  const auto& st = c.strategy;
  m.keys = c.destination.keys;
  m.mode = st.merge_mode;
  m.order_by = st.order_by;
  m.delete_flag = st.delete_flag;
  m.ignore_null_updates = st.ignore_null_updates;
  m.update_columns = st.update_columns;
  return m;
}

namespace {

Json OptionalText(const std::optional<std::string>& v) { return v ? Json(*v) : Json(nullptr); }

// A one-line progress display on a terminal (stderr), shown once a run has taken more than
// two seconds, so that quick runs and redirected output stay clean.
class Progress {
 public:
  explicit Progress(std::string pipeline)
      : pipeline_(std::move(pipeline)), start_(std::chrono::steady_clock::now()), tty_(::isatty(2) != 0) {}
  ~Progress() {
    if (shown_) std::fprintf(stderr, "\r\033[K");
  }
  void Update(const std::string& what) {
    if (!tty_ || std::chrono::steady_clock::now() - start_ < std::chrono::seconds(2)) return;
    shown_ = true;
    std::fprintf(stderr, "\r\033[K%s: %s", pipeline_.c_str(), what.c_str());
    std::fflush(stderr);
  }

 private:
  std::string pipeline_;
  std::chrono::steady_clock::time_point start_;
  bool tty_;
  bool shown_ = false;
};

arrow::Result<std::shared_ptr<arrow::Table>> DropColumns(const std::shared_ptr<arrow::Table>& t,
                                                         const std::vector<std::string>& names) {
  std::vector<int> keep;
  for (int i = 0; i < t->num_columns(); ++i) {
    if (std::find(names.begin(), names.end(), t->field(i)->name()) == names.end()) keep.push_back(i);
  }
  return t->SelectColumns(keep);
}

// Source columns the table lacks, handled by the schema-drift policy.
arrow::Result<std::shared_ptr<arrow::Table>> HandleDrift(const std::shared_ptr<arrow::Table>& rows,
                                                         const Snapshot* snap, SchemaDriftPolicy policy,
                                                         const std::vector<std::string>& not_written,
                                                         bool* merge_schema) {
  if (!snap) return rows;
  std::vector<std::string> extra;
  for (const auto& f : rows->schema()->fields()) {
    bool consumed = std::find(not_written.begin(), not_written.end(), f->name()) != not_written.end();
    if (f->name() != kFileIndexColumn && !consumed && !snap->schema()->GetFieldByName(f->name())) {
      extra.push_back(f->name());
    }
  }
  if (extra.empty()) return rows;
  switch (policy) {
    case SchemaDriftPolicy::kFail: {
      std::string list;
      for (const auto& e : extra) list += (list.empty() ? "'" : ", '") + e + "'";
      return arrow::Status::Invalid("schema drift: source column(s) ", list,
                                    " are not in the table (set quality.schema_drift to add_columns or ignore)");
    }
    case SchemaDriftPolicy::kIgnore:
      return DropColumns(rows, extra);
    case SchemaDriftPolicy::kAddColumns:
      *merge_schema = true;
      return rows;
  }
  return rows;
}

arrow::Status WriteQuarantine(const PipelineConfig& c, const std::shared_ptr<arrow::Table>& rejected, int64_t run) {
  ARROW_ASSIGN_OR_RAISE(auto rows, DropColumns(rejected, {kFileIndexColumn}));
  arrow::StringBuilder pb;
  arrow::Int64Builder rb;
  for (int64_t i = 0; i < rows->num_rows(); ++i) {
    ARROW_RETURN_NOT_OK(pb.Append(c.name));
    ARROW_RETURN_NOT_OK(rb.Append(run));
  }
  ARROW_ASSIGN_OR_RAISE(auto pipeline_col, pb.Finish());
  ARROW_ASSIGN_OR_RAISE(auto run_col, rb.Finish());
  ARROW_ASSIGN_OR_RAISE(rows, rows->AddColumn(rows->num_columns(), arrow::field("_pipeline", arrow::utf8()),
                                              std::make_shared<arrow::ChunkedArray>(pipeline_col)));
  ARROW_ASSIGN_OR_RAISE(rows, rows->AddColumn(rows->num_columns(), arrow::field("_run", arrow::int64()),
                                              std::make_shared<arrow::ChunkedArray>(run_col)));
  ARROW_ASSIGN_OR_RAISE(auto table, Table::OpenOrCreate(c.quality.quarantine_path,
                                                        SideTableStorage(c, c.quality.quarantine_path)));
  // The quarantine commit precedes the main one; a run that died between the two is
  // repeated with the same run number, and must not quarantine its rows twice.
  std::string app_id = load::StateDomain(c.name) + ".quarantine";
  ARROW_ASSIGN_OR_RAISE(auto existing, CurrentSnapshot(*table));
  if (existing && existing->GetAppState(app_id).version.value_or(0) >= run) return arrow::Status::OK();
  WriteOptions opts;
  opts.app_states[app_id].version = run;
  opts.merge_schema = true;
  opts.operation = "QUARANTINE";
  opts.operation_parameters["pipeline"] = c.name;
  auto st = table->Write(std::make_shared<arrow::TableBatchReader>(rows), opts).status();
  if (!st.ok()) return st.WithMessage("cannot write quarantine table ", c.quality.quarantine_path, ": ", st.message());
  return arrow::Status::OK();
}

// The options that decide which cursor values a run can load.
std::string MarksSignature(const PipelineConfig& c) {
  std::string sig = c.strategy.cursor + (c.strategy.inclusive ? "|inclusive" : "|exclusive");
  if (c.strategy.lookback) {
    sig += "|lookback=" + std::to_string(c.strategy.lookback->value) + (c.strategy.lookback->has_unit ? "us" : "");
  }
  return sig;
}

load::WatermarkOptions WatermarkOptionsOf(const PipelineConfig& c, const RunOptions& o) {
  load::WatermarkOptions w;
  w.cursor = c.strategy.cursor;
  w.inclusive = c.strategy.inclusive;
  if (c.strategy.lookback) {
    w.lookback = c.strategy.lookback->value;
    w.lookback_has_unit = c.strategy.lookback->has_unit;
  }
  if (c.strategy.safety_margin) {
    w.safety_margin_us = c.strategy.safety_margin->has_unit ? c.strategy.safety_margin->value
                                                            : c.strategy.safety_margin->value * 1000000;
  }
  w.null_cursor = c.strategy.null_cursor;
  w.keys = c.destination.keys;
  w.backfill_from = o.backfill_from;
  w.backfill_to = o.backfill_to;
  w.now_us = NowMillis() * 1000;
  return w;
}

// One run of a pipeline, phase by phase: load the state, choose files, read them, select
// rows by strategy, check them, then commit rows and state together.
class PipelineRun {
 public:
  PipelineRun(const PipelineConfig& c, const RunOptions& o)
      : c_(c), o_(o), started_(std::chrono::steady_clock::now()), backfill_(o.backfill_from || o.backfill_to),
        progress_(c.name) {
    r_.pipeline = c.name;
    r_.table = c.destination.path;
    r_.strategy = StrategyName(c.strategy.type);
  }

  arrow::Result<RunReport> Execute() {
    if (backfill_ && c_.strategy.type != StrategyType::kWatermark) {
      return arrow::Status::Invalid("--from/--to (backfill) apply only to the watermark strategy");
    }
    ARROW_RETURN_NOT_OK(LoadState());
    ARROW_ASSIGN_OR_RAISE(bool any, ChooseFiles());
    if (!any) return Finish("no_changes");
    ARROW_RETURN_NOT_OK(ReadSource());
    ARROW_RETURN_NOT_OK(SelectRows());
    ARROW_RETURN_NOT_OK(CheckRows());
    if (c_.strategy.type == StrategyType::kSnapshotDiff) {
      ARROW_ASSIGN_OR_RAISE(auto early, PlanSnapshotDiff());
      if (early) return Finish(*early);
    }
    bool state_changed = next_.watermark != state_.watermark || next_.loaded_files != state_.loaded_files ||
                         next_.source_fingerprint != state_.source_fingerprint;
    if (rows_->num_rows() == 0 && !state_changed && r_.rows_rejected == 0) return Finish("no_changes");
    r_.rows_written = rows_->num_rows();
    if (o_.dry_run) {
      // A merge runs dry, to report what it would change.
      if (Merges()) {
        ARROW_ASSIGN_OR_RAISE(MergeResult counted, DryRunMerge());
        ReportMerge(counted);
        if (snapshot_merge_ && !counted.changed) return Finish("no_changes");
      }
      return Finish("dry_run");
    }
    ARROW_ASSIGN_OR_RAISE(bool committed, Commit());
    return Finish(committed ? "committed" : "no_changes");
  }

 private:
  RunReport Finish(std::string status) {
    r_.status = std::move(status);
    r_.duration_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started_).count();
    return r_;
  }

  arrow::Status LoadState() {
    ARROW_ASSIGN_OR_RAISE(table_, Table::OpenOrCreate(c_.destination.path, c_.destination.storage));
    ARROW_ASSIGN_OR_RAISE(snap_, CurrentSnapshot(*table_));
    if (snap_) {
      r_.table_version = snap_->version();
      AppState committed = snap_->GetAppState(load::StateDomain(c_.name));
      if (committed.document) {
        ARROW_ASSIGN_OR_RAISE(state_, load::ParseState(*committed.document));
      } else {
        // After a reset the run counter (the app's number) keeps growing.
        state_.run = committed.version.value_or(0);
      }
    }
    r_.run = state_.run;
    r_.watermark_before = state_.watermark;
    r_.watermark_after = state_.watermark;
    return arrow::Status::OK();
  }

  // Picks the files to read; false when there is nothing to do.
  arrow::Result<bool> ChooseFiles() {
    ARROW_ASSIGN_OR_RAISE(auto files, DiscoverFiles(c_.source.path));
    fingerprint_ = Fingerprint(files);
    // Watermark runs skip files an earlier run saw unchanged, all of whose cursors are
    // below what can still be loaded: a run's cost follows the new data, not the source.
    signature_ = MarksSignature(c_);
    bool use_marks = c_.strategy.type == StrategyType::kWatermark && !backfill_ && state_.marks_signature == signature_;
    std::optional<int64_t> lowest;
    if (use_marks) {
      ARROW_ASSIGN_OR_RAISE(lowest, load::LowestLoadable(state_.cursor_kind, state_.watermark_value,
                                                         WatermarkOptionsOf(c_, o_)));
    }
    bool new_files_only = c_.strategy.type == StrategyType::kAppend || c_.strategy.type == StrategyType::kMerge ||
                          c_.strategy.type == StrategyType::kCdc;
    for (const auto& f : files) {
      if (new_files_only && state_.loaded_files.count(f.path)) continue;
      auto mark = state_.file_marks.find(f.path);
      if (use_marks && mark != state_.file_marks.end() &&
          load::CanSkipFile(mark->second, f.size, f.mtime_ns, lowest, c_.strategy.null_cursor)) {
        kept_marks_[f.path] = mark->second;
        continue;
      }
      to_read_.push_back(f);
      names_.push_back(f.path);
    }
    bool whole_extract = c_.strategy.type == StrategyType::kFullRefresh || c_.strategy.type == StrategyType::kSnapshotDiff;
    if (whole_extract) {
      if (files.empty()) {
        return arrow::Status::Invalid("source ", c_.source.path, " matches no files; the table would be emptied");
      }
      if (snap_ && fingerprint_ == state_.source_fingerprint) return false;
    }
    return !to_read_.empty();
  }

  arrow::Status ReadSource() {
    ARROW_ASSIGN_OR_RAISE(rows_, ReadSourceFiles(to_read_, {c_.source.format, c_.source.schema, c_.source.decimals},
                                                 [&](size_t done, int64_t read) {
                                                   progress_.Update("read " + std::to_string(done) + "/" +
                                                                    std::to_string(to_read_.size()) + " files, " +
                                                                    std::to_string(read) + " rows");
                                                 }));
    r_.files_read = static_cast<int64_t>(to_read_.size());
    r_.rows_read = rows_->num_rows();
    CrashPoint("run.after_read");
    ARROW_ASSIGN_OR_RAISE(rows_, load::AddDerivedColumns(rows_, Derived(c_.destination)));
    return arrow::Status::OK();
  }

  // The strategy's row selection, and the state it leads to.
  arrow::Status SelectRows() {
    next_ = state_;
    next_.pipeline = c_.name;
    next_.strategy = r_.strategy;
    next_.cursor = c_.strategy.cursor;
    if (c_.strategy.type == StrategyType::kWatermark) {
      ARROW_ASSIGN_OR_RAISE(auto sel, load::SelectByWatermark(rows_, WatermarkOptionsOf(c_, o_), state_.watermark,
                                                              snap_.get(), names_));
      rows_ = sel.rows;
      r_.rows_skipped_watermark = sel.skipped_watermark;
      r_.rows_deduplicated = sel.deduplicated;
      next_.watermark = sel.watermark_after;
      if (!backfill_) {
        next_.marks_signature = signature_;
        next_.cursor_kind = sel.cursor_kind;
        next_.watermark_value = sel.watermark_value;
        next_.file_marks = kept_marks_;
        for (size_t i = 0; i < to_read_.size(); ++i) {
          next_.file_marks[to_read_[i].path] = load::FileMark{to_read_[i].size, to_read_[i].mtime_ns,
                                                              sel.file_max_cursor[i], sel.file_has_null[i]};
        }
      }
    } else if (c_.strategy.type == StrategyType::kAppend || c_.strategy.type == StrategyType::kMerge ||
               c_.strategy.type == StrategyType::kCdc) {
      for (const auto& n : names_) next_.loaded_files.insert(n);
      if (c_.strategy.type == StrategyType::kCdc) {
        auto ch = ChangeStrategyOptions(c_, rows_->GetColumnByName("__op") ? "__op" : "op");
        ARROW_ASSIGN_OR_RAISE(rows_, load::MarkChanges(rows_, ch, names_));
      }
    } else {
      next_.source_fingerprint = fingerprint_;
    }
    r_.watermark_after = next_.watermark;
    return arrow::Status::OK();
  }

  // Schema drift, key gates, row-count gates.
  arrow::Status CheckRows() {
    bool cdc = c_.strategy.type == StrategyType::kCdc;
    // Flags a merge consumes are never written: they are not drift.
    std::vector<std::string> consumed = {c_.strategy.delete_flag};
    if (cdc) consumed = {load::kDeleteFlag, load::kTruncateFlag};
    ARROW_ASSIGN_OR_RAISE(rows_, HandleDrift(rows_, snap_.get(), c_.quality.schema_drift, consumed, &merge_schema_));
    // Truncate events have no key: they skip the key gates.
    std::shared_ptr<arrow::Table> truncates;
    if (cdc) {
      auto flag = rows_->GetColumnByName(load::kTruncateFlag);
      ARROW_ASSIGN_OR_RAISE(truncates, load::SelectRows(rows_, flag));
      ARROW_ASSIGN_OR_RAISE(arrow::Datum others, arrow::compute::Invert(flag));
      ARROW_ASSIGN_OR_RAISE(rows_, load::SelectRows(rows_, others));
    }
    // A merge (or a change stream) resolves repeated keys itself.
    bool repeats_keys = c_.strategy.type == StrategyType::kMerge || cdc;
    load::QualityOptions q{c_.destination.keys, c_.quality.null_keys,
                           repeats_keys ? RejectPolicy::kAllow : c_.quality.duplicate_keys};
    ARROW_ASSIGN_OR_RAISE(auto gated, load::ApplyKeyGates(rows_, q, names_));
    rows_ = gated.accepted;
    if (truncates && truncates->num_rows() > 0) {
      ARROW_ASSIGN_OR_RAISE(rows_, arrow::ConcatenateTables({rows_, truncates}));
    }
    rejected_ = gated.rejected;
    r_.rows_deduplicated += gated.deduplicated;
    r_.rows_rejected = rejected_ ? rejected_->num_rows() : 0;
    if (c_.quality.min_rows && rows_->num_rows() < *c_.quality.min_rows) {
      return arrow::Status::Invalid("quality gate min_rows: the run has ", rows_->num_rows(), " rows, fewer than ",
                                    *c_.quality.min_rows);
    }
    if (c_.quality.max_rows && rows_->num_rows() > *c_.quality.max_rows) {
      return arrow::Status::Invalid("quality gate max_rows: the run has ", rows_->num_rows(), " rows, more than ",
                                    *c_.quality.max_rows);
    }
    ARROW_ASSIGN_OR_RAISE(rows_, DropColumns(rows_, {kFileIndexColumn}));
    return arrow::Status::OK();
  }

  // A full refresh when due (or on the first run), else a merge in snapshot mode, which
  // diffs the extract with the table in one pass and rewrites only the files with a change.
  // With a threshold the merge first runs dry, to count the change. Returns a final status
  // when nothing is to be committed.
  arrow::Result<std::optional<std::string>> PlanSnapshotDiff() {
    const auto& st = c_.strategy;
    int64_t now_ms = NowMillis();
    bool full = !snap_ ||
                (st.full_refresh_every_runs && state_.run + 1 - state_.last_full_refresh_run >= *st.full_refresh_every_runs) ||
                (st.full_refresh_every_hours && now_ms - state_.last_full_refresh_ms >= *st.full_refresh_every_hours * 3600000.0);
    if (full) {
      next_.last_full_refresh_run = state_.run + 1;
      next_.last_full_refresh_ms = now_ms;
    } else {
      snapshot_merge_ = true;
    }
    if (st.deletes == MissingKeys::kSoftDelete) {  // every row of the extract is live
      ARROW_ASSIGN_OR_RAISE(rows_, SetBoolColumn(rows_, st.soft_delete_column, false));
    }
    if (full || st.min_change_percent <= 0) return std::optional<std::string>();
    ARROW_ASSIGN_OR_RAISE(MergeResult counted, DryRunMerge());
    r_.changed_percent = ChangedPercent(counted);
    if (!counted.changed) return std::optional<std::string>("no_changes");
    if (r_.changed_percent < st.min_change_percent) return std::optional<std::string>("no_significant_changes");
    return std::optional<std::string>();
  }

  // Inserts, updates and deletes of a snapshot merge, per hundred table rows.
  static double ChangedPercent(const MergeResult& m) {
    return 100.0 * static_cast<double>(m.rows_inserted + m.rows_updated + m.rows_deleted) /
           static_cast<double>(std::max<int64_t>(m.rows_compared, 1));
  }

  // Whether the rows go into the table by DeltaTable::Merge.
  bool Merges() const {
    return c_.strategy.type == StrategyType::kMerge || c_.strategy.type == StrategyType::kCdc || snapshot_merge_;
  }

  // The merge's counts, without writing (once per run).
  arrow::Result<MergeResult> DryRunMerge() {
    if (!dry_merge_) {
      MergeOptions m = MergeOptionsOf(CommitOptions());
      m.dry_run = true;
      ARROW_ASSIGN_OR_RAISE(dry_merge_, table_->Merge(rows_, m));
    }
    return *dry_merge_;
  }

  void ReportMerge(const MergeResult& m) {
    if (snapshot_merge_) r_.changed_percent = ChangedPercent(m);
    r_.rows_late = m.late_discarded;
    r_.rows_inserted = m.rows_inserted;
    r_.rows_updated = m.rows_updated;
    r_.rows_deleted = m.rows_deleted;
    r_.rows_deduplicated += m.source_duplicates;
    r_.rows_written = m.rows_inserted + m.rows_updated;
  }

  WriteOptions CommitOptions() const {
    WriteOptions w;
    bool overwrite = c_.strategy.type == StrategyType::kFullRefresh ||
                     (c_.strategy.type == StrategyType::kSnapshotDiff && !snapshot_merge_);
    w.mode = overwrite ? WriteMode::kOverwrite : WriteMode::kAppend;
    for (const auto& p : c_.destination.partition_by) w.partition_by.push_back(p.name);
    w.properties = c_.destination.properties;
    w.app_states[load::StateDomain(c_.name)] = AppState{next_.run, load::SerializeState(next_)};
    w.merge_schema = merge_schema_;
    // The state was read at this version: a concurrent run that committed since must make
    // this commit fail (and the run restart from the state it committed).
    w.read_version = snap_ ? snap_->version() : -1;
    w.operation = "INLET RUN";
    w.operation_parameters = {{"pipeline", c_.name}, {"strategy", r_.strategy}, {"run", std::to_string(next_.run)}};
    if (backfill_) {
      w.operation_parameters["backfill"] = o_.backfill_from.value_or("") + ".." + o_.backfill_to.value_or("");
    }
    return w;
  }

  MergeOptions MergeOptionsOf(const WriteOptions& w) const {
    MergeOptions m;
    m.keys = c_.destination.keys;
    if (c_.strategy.type == StrategyType::kMerge) {
      m = MergeStrategyOptions(c_);
    } else if (snapshot_merge_) {
      m.mode = MergeMode::kSnapshot;
      m.missing_keys = c_.strategy.deletes;
      m.soft_delete_column = c_.strategy.soft_delete_column;
    } else if (c_.strategy.type == StrategyType::kCdc) {
      m = CdcMergeOptions(c_);
    }
    m.write = w;
    m.write.operation = "INLET RUN MERGE";
    return m;
  }

  // Rows, state and txn in one commit (quarantined rows first, idempotently). False when a
  // snapshot merge found nothing to change, and committed nothing.
  arrow::Result<bool> Commit() {
    next_.run = state_.run + 1;
    next_.updated_at = FormatTimestampMillisIso(NowMillis());
    if (rejected_) ARROW_RETURN_NOT_OK(WriteQuarantine(c_, rejected_, next_.run));
    WriteOptions w = CommitOptions();
    progress_.Update("writing and committing " + std::to_string(rows_->num_rows()) + " rows");
    CommitResult result;
    if (Merges()) {
      ARROW_ASSIGN_OR_RAISE(auto merged, table_->Merge(rows_, MergeOptionsOf(w)));
      ReportMerge(merged);
      if (snapshot_merge_ && !merged.changed) return false;
      result = merged.commit;
    } else {
      auto reader = std::make_shared<arrow::TableBatchReader>(rows_);
      reader->set_chunksize(c_.processing.batch_size);
      ARROW_ASSIGN_OR_RAISE(result, table_->Write(reader, w));
    }
    r_.table_version = result.version;
    r_.files_written = result.files_added;
    r_.bytes_written = result.bytes_written;
    r_.partitions_touched = result.partitions_touched;
    r_.run = next_.run;
    r_.attempts = result.attempts;
    return true;
  }

  const PipelineConfig& c_;
  const RunOptions& o_;
  std::chrono::steady_clock::time_point started_;
  bool backfill_;
  Progress progress_;
  RunReport r_;
  std::shared_ptr<Table> table_;
  std::shared_ptr<Snapshot> snap_;
  load::PipelineState state_;
  load::PipelineState next_;
  std::string fingerprint_;
  std::string signature_;
  std::map<std::string, load::FileMark> kept_marks_;
  std::vector<SourceFile> to_read_;
  std::vector<std::string> names_;
  std::shared_ptr<arrow::Table> rows_;
  std::shared_ptr<arrow::Table> rejected_;
  bool merge_schema_ = false;
  bool snapshot_merge_ = false;  // the extract is diffed with the table inside the merge
  std::optional<MergeResult> dry_merge_;
};

}  // namespace

arrow::Result<RunReport> RunPipeline(const PipelineConfig& config, const RunOptions& options) {
  // Another writer (maybe another run of this pipeline) committed first: start over from
  // the state it committed.
  auto report = RetryOnConflict(config.processing.max_retries, [&] { return PipelineRun(config, options).Execute(); });
  if (!report.ok()) return report.status().WithMessage("pipeline '", config.name, "': ", report.status().message());
  // The run's data is committed whatever maintenance does; its failure is reported.
  if (report->status == "committed") (void)RunMaintenance(config, &*report);
  return report;
}

load::ChangeOptions ChangeStrategyOptions(const PipelineConfig& c, const std::string& default_operation_column) {
  load::ChangeOptions ch;
  ch.operation_column = c.strategy.operation_column.empty() ? default_operation_column : c.strategy.operation_column;
  ch.operations = c.strategy.operations;
  ch.sequence_by = c.strategy.sequence_by;
  ch.keep_operation_column = c.strategy.keep_operation_column;
  ch.refuse_truncates = c.strategy.scd_type == 2;
  return ch;
}

MergeOptions CdcMergeOptions(const PipelineConfig& c) {
  MergeOptions m;
  const auto& st = c.strategy;
  m.keys = c.destination.keys;
  m.sequence_by = st.sequence_by;
  m.delete_flag = load::kDeleteFlag;
  m.truncate_flag = load::kTruncateFlag;
  m.history.enabled = st.scd_type == 2;
  m.history.track_columns = st.track_history_columns;
  m.history.valid_from = st.valid_from_column;
  m.history.valid_to = st.valid_to_column;
  m.history.is_current = st.is_current_column;
  return m;
}

RunReport FailedReport(const PipelineConfig& config, const arrow::Status& st) {
  RunReport r;
  r.pipeline = config.name;
  r.table = config.destination.path;
  r.strategy = StrategyName(config.strategy.type);
  r.status = "failed";
  r.error = st.message();
  return r;
}

Json RunReport::ToJson() const {
  Json j = Json{{"pipeline", pipeline},
              {"table", table},
              {"strategy", strategy},
              {"status", status},
              {"rows_read", rows_read},
              {"rows_skipped_watermark", rows_skipped_watermark},
              {"rows_deduplicated", rows_deduplicated},
              {"rows_rejected", rows_rejected},
              {"rows_written", rows_written},
              {"rows_inserted", rows_inserted},
              {"rows_updated", rows_updated},
              {"rows_deleted", rows_deleted},
              {"rows_late", rows_late},
              {"watermark_before", OptionalText(watermark_before)},
              {"watermark_after", OptionalText(watermark_after)},
              {"files_read", files_read},
              {"files_written", files_written},
              {"bytes_written", bytes_written},
              {"partitions_touched", partitions_touched},
              {"table_version", table_version},
              {"run", run},
              {"duration_ms", duration_ms}};
  if (changed_percent) j["changed_percent"] = *changed_percent;
  if (!maintenance.empty()) j["maintenance"] = maintenance;
  if (!error.empty()) j["error"] = error;
  return j;
}

std::string RunReport::ToText() const {
  std::ostringstream out;
  out << "pipeline " << pipeline << " -> " << table << " (" << strategy << "): " << status;
  if (status == "failed") {
    out << ": " << error << "\n";
    return out.str();
  }
  if (status == "committed") out << " version " << table_version;
  out << " in " << duration_ms << " ms\n";
  out << "  rows:      read " << rows_read << ", skipped by watermark " << rows_skipped_watermark
      << ", de-duplicated " << rows_deduplicated << ", rejected " << rows_rejected << ", written "
      << rows_written << "\n";
  if (changed_percent) out << "  changed:   " << *changed_percent << "% of the table's rows\n";
  if (strategy == "merge" || strategy == "snapshot_diff" || strategy == "cdc") {
    out << "  merge:     inserted " << rows_inserted << ", updated " << rows_updated << ", deleted " << rows_deleted;
    if (strategy == "cdc") out << ", late changes discarded " << rows_late;
    out << "\n";
  }
  if (strategy == "watermark") {
    out << "  watermark: " << watermark_before.value_or("(none)") << " -> " << watermark_after.value_or("(none)") << "\n";
  }
  out << "  files:     read " << files_read << ", written " << files_written << " (" << bytes_written
      << " bytes), partitions touched " << partitions_touched << "; run " << run << "\n";
  if (!maintenance.empty()) out << "  maintenance: " << MaintenanceText(maintenance) << "\n";
  if (!error.empty()) out << "  error:     " << error << "\n";
  return out.str();
}

}  // namespace inlet::pipeline
