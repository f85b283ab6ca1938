#include "inlet/pipeline/runner.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include <arrow/builder.h>
#include <arrow/table.h>

#include "inlet/common/fault.h"
#include "inlet/common/time.h"
#include "inlet/load/rows.h"
#include "inlet/load/snapshot_diff.h"
#include "inlet/load/state.h"
#include "inlet/load/strategy.h"
#include "inlet/source/file_source.h"
#include "inlet/status.h"
#include "inlet/table.h"

namespace inlet::pipeline {

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

arrow::Result<std::shared_ptr<Snapshot>> CurrentSnapshot(const Table& table) {
  auto snap = table.GetSnapshot({});
  if (snap.ok()) return *snap;
  // No table yet: the first committing run creates it.
  if (snap.status().IsIOError() && snap.status().message().find("not a Delta table") != std::string::npos) {
    return std::shared_ptr<Snapshot>();
  }
  return snap.status();
}

std::vector<load::DerivedColumn> Derived(const DestinationConfig& d) {
  std::vector<load::DerivedColumn> out;
  for (const auto& p : d.partition_by) out.push_back({p.name, p.source, p.transform});
  return out;
}

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
                                                         const std::string& not_written, bool* merge_schema) {
  if (!snap) return rows;
  std::vector<std::string> extra;
  for (const auto& f : rows->schema()->fields()) {
    if (f->name() != kFileIndexColumn && f->name() != not_written && !snap->schema()->GetFieldByName(f->name())) {
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
  ARROW_ASSIGN_OR_RAISE(auto table, Table::OpenOrCreate(c.quality.quarantine_path));
  // The quarantine commit precedes the main one; a run that died between the two is
  // repeated with the same run number, and must not quarantine its rows twice.
  std::string app_id = load::StateDomain(c.name) + ".quarantine";
  ARROW_ASSIGN_OR_RAISE(auto existing, CurrentSnapshot(*table));
  if (existing && existing->AppTransactionVersion(app_id).value_or(0) >= run) return arrow::Status::OK();
  WriteOptions opts;
  opts.app_transaction = AppTransaction{app_id, run};
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

arrow::Result<RunReport> RunOnce(const PipelineConfig& c, const RunOptions& o) {
  auto started = std::chrono::steady_clock::now();
  RunReport r;
  r.pipeline = c.name;
  r.table = c.destination.path;
  r.strategy = StrategyName(c.strategy.type);
  bool backfill = o.backfill_from || o.backfill_to;
  if (backfill && c.strategy.type != StrategyType::kWatermark) {
    return arrow::Status::Invalid("--from/--to (backfill) apply only to the watermark strategy");
  }
  auto finish = [&](std::string status) {
    r.status = std::move(status);
    r.duration_ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count();
    return r;
  };

  ARROW_ASSIGN_OR_RAISE(auto table, Table::OpenOrCreate(c.destination.path));
  ARROW_ASSIGN_OR_RAISE(auto snap, CurrentSnapshot(*table));
  load::PipelineState state;
  if (snap) {
    r.table_version = snap->version();
    if (auto text = snap->DomainConfiguration(load::StateDomain(c.name))) {
      ARROW_ASSIGN_OR_RAISE(state, load::ParseState(*text));
    } else {
      // After a reset the run counter (the txn version) keeps growing.
      state.run = snap->AppTransactionVersion(load::StateDomain(c.name)).value_or(0);
    }
  }
  r.run = state.run;
  r.watermark_before = state.watermark;
  r.watermark_after = state.watermark;

  ARROW_ASSIGN_OR_RAISE(auto files, DiscoverFiles(c.source.path));
  std::vector<SourceFile> to_read;
  std::string fingerprint = Fingerprint(files);
  // Watermark runs skip files an earlier run saw unchanged, all of whose cursors are below
  // what can still be loaded: a run's cost follows the new data, not the source's size.
  std::string signature = MarksSignature(c);
  bool use_marks = c.strategy.type == StrategyType::kWatermark && !backfill && state.marks_signature == signature;
  std::optional<int64_t> lowest;
  if (use_marks) {
    ARROW_ASSIGN_OR_RAISE(lowest, load::LowestLoadable(state.cursor_kind, state.watermark_value, WatermarkOptionsOf(c, o)));
  }
  std::map<std::string, load::FileMark> kept_marks;
  for (const auto& f : files) {
    bool new_files_only = c.strategy.type == StrategyType::kAppend || c.strategy.type == StrategyType::kMerge;
    if (new_files_only && state.loaded_files.count(f.path)) continue;
    auto mark = state.file_marks.find(f.path);
    if (use_marks && mark != state.file_marks.end() &&
        load::CanSkipFile(mark->second, f.size, f.mtime_ns, lowest, c.strategy.null_cursor)) {
      kept_marks[f.path] = mark->second;
      continue;
    }
    to_read.push_back(f);
  }
  bool whole_extract = c.strategy.type == StrategyType::kFullRefresh || c.strategy.type == StrategyType::kSnapshotDiff;
  if (whole_extract) {
    if (files.empty()) return arrow::Status::Invalid("source ", c.source.path, " matches no files; the table would be emptied");
    if (snap && fingerprint == state.source_fingerprint) return finish("no_changes");
  }
  if (to_read.empty()) return finish("no_changes");

  std::vector<std::string> names;
  for (const auto& f : to_read) names.push_back(f.path);
  Progress progress(c.name);
  ARROW_ASSIGN_OR_RAISE(auto rows, ReadSourceFiles(to_read, c.source.format, c.source.schema,
                                                   [&](size_t done, int64_t read) {
                                                     progress.Update("read " + std::to_string(done) + "/" +
                                                                     std::to_string(to_read.size()) + " files, " +
                                                                     std::to_string(read) + " rows");
                                                   }));
  r.files_read = static_cast<int64_t>(to_read.size());
  r.rows_read = rows->num_rows();
  CrashPoint("run.after_read");
  ARROW_ASSIGN_OR_RAISE(rows, load::AddDerivedColumns(rows, Derived(c.destination)));

  load::PipelineState next = state;
  next.pipeline = c.name;
  next.strategy = r.strategy;
  next.cursor = c.strategy.cursor;
  if (c.strategy.type == StrategyType::kWatermark) {
    ARROW_ASSIGN_OR_RAISE(auto sel, load::SelectByWatermark(rows, WatermarkOptionsOf(c, o), state.watermark,
                                                            snap.get(), names));
    rows = sel.rows;
    r.rows_skipped_watermark = sel.skipped_watermark;
    r.rows_deduplicated = sel.deduplicated;
    next.watermark = sel.watermark_after;
    if (!backfill) {
      next.marks_signature = signature;
      next.cursor_kind = sel.cursor_kind;
      next.watermark_value = sel.watermark_value;
      next.file_marks = kept_marks;
      for (size_t i = 0; i < to_read.size(); ++i) {
        next.file_marks[to_read[i].path] = load::FileMark{to_read[i].size, to_read[i].mtime_ns,
                                                          sel.file_max_cursor[i], sel.file_has_null[i]};
      }
    }
  } else if (c.strategy.type == StrategyType::kAppend || c.strategy.type == StrategyType::kMerge) {
    for (const auto& n : names) next.loaded_files.insert(n);
  } else {
    next.source_fingerprint = fingerprint;
  }
  r.watermark_after = next.watermark;

  bool merge_schema = false;
  // A merge's delete flag is consumed, never written: it is not drift.
  ARROW_ASSIGN_OR_RAISE(rows, HandleDrift(rows, snap.get(), c.quality.schema_drift, c.strategy.delete_flag, &merge_schema));
  // A merge resolves repeated keys itself (order_by picks the winner).
  load::QualityOptions q{c.destination.keys, c.quality.null_keys,
                         c.strategy.type == StrategyType::kMerge ? RejectPolicy::kAllow : c.quality.duplicate_keys};
  ARROW_ASSIGN_OR_RAISE(auto gated, load::ApplyKeyGates(rows, q, names));
  rows = gated.accepted;
  r.rows_deduplicated += gated.deduplicated;
  r.rows_rejected = gated.rejected ? gated.rejected->num_rows() : 0;
  if (c.quality.min_rows && rows->num_rows() < *c.quality.min_rows) {
    return arrow::Status::Invalid("quality gate min_rows: the run has ", rows->num_rows(), " rows, fewer than ",
                                  *c.quality.min_rows);
  }
  if (c.quality.max_rows && rows->num_rows() > *c.quality.max_rows) {
    return arrow::Status::Invalid("quality gate max_rows: the run has ", rows->num_rows(), " rows, more than ",
                                  *c.quality.max_rows);
  }
  ARROW_ASSIGN_OR_RAISE(rows, DropColumns(rows, {kFileIndexColumn}));

  // Snapshot diff: a full refresh when due (or on the first run), else the diff merged in.
  std::optional<load::SnapshotDiff> diff;
  if (c.strategy.type == StrategyType::kSnapshotDiff) {
    const auto& st = c.strategy;
    int64_t now_ms = NowMillis();
    bool soft = st.deletes == "soft_delete";
    bool full = !snap || (st.full_refresh_every_runs && state.run + 1 - state.last_full_refresh_run >= *st.full_refresh_every_runs) ||
                (st.full_refresh_every_hours && now_ms - state.last_full_refresh_ms >= *st.full_refresh_every_hours * 3600000.0);
    if (full) {
      next.last_full_refresh_run = state.run + 1;
      next.last_full_refresh_ms = now_ms;
      if (soft) {
        ARROW_ASSIGN_OR_RAISE(rows, load::SetBoolColumn(rows, st.soft_delete_column, false));
      }
    } else {
      load::DiffOptions d{c.destination.keys, soft ? load::MissingKeys::kSoftDelete
                                              : st.deletes == "keep" ? load::MissingKeys::kKeep : load::MissingKeys::kDelete,
                          st.soft_delete_column};
      ARROW_ASSIGN_OR_RAISE(diff, load::DiffSnapshot(rows, *snap, d));
      r.changed_percent = diff->changed_percent;
      int64_t changes = diff->inserts + diff->updates + diff->deletes;
      if (changes == 0) return finish("no_changes");
      if (diff->changed_percent < st.min_change_percent) return finish("no_significant_changes");
      rows = diff->changes;
    }
  }

  bool state_changed = next.watermark != state.watermark || next.loaded_files != state.loaded_files ||
                       next.source_fingerprint != state.source_fingerprint;
  if (rows->num_rows() == 0 && !state_changed && r.rows_rejected == 0) return finish("no_changes");
  r.rows_written = rows->num_rows();
  if (o.dry_run) return finish("dry_run");

  next.run = state.run + 1;
  next.updated_at = FormatTimestampMillisIso(NowMillis());
  if (gated.rejected) ARROW_RETURN_NOT_OK(WriteQuarantine(c, gated.rejected, next.run));

  WriteOptions w;
  bool overwrite = c.strategy.type == StrategyType::kFullRefresh || (c.strategy.type == StrategyType::kSnapshotDiff && !diff);
  w.mode = overwrite ? WriteMode::kOverwrite : WriteMode::kAppend;
  for (const auto& p : c.destination.partition_by) w.partition_by.push_back(p.name);
  w.properties = c.destination.properties;
  w.app_transaction = AppTransaction{load::StateDomain(c.name), next.run};
  w.domain_metadata[load::StateDomain(c.name)] = load::SerializeState(next);
  w.merge_schema = merge_schema;
  // The state was read at this version: a concurrent run that committed since must make
  // this commit fail (and the run restart from the state it committed).
  w.read_version = snap ? snap->version() : -1;
  w.operation = "INLET RUN";
  w.operation_parameters = {{"pipeline", c.name}, {"strategy", r.strategy}, {"run", std::to_string(next.run)}};
  if (backfill) {
    w.operation_parameters["backfill"] = o.backfill_from.value_or("") + ".." + o.backfill_to.value_or("");
  }
  progress.Update("writing and committing " + std::to_string(rows->num_rows()) + " rows");
  CommitResult result;
  if (c.strategy.type == StrategyType::kMerge || diff) {
    MergeOptions m;
    m.keys = c.destination.keys;
    if (diff) {
      m.delete_flag = diff->delete_flag;
    } else {
      m.mode = c.strategy.merge_mode == "insert_only" ? MergeMode::kInsertOnly
               : c.strategy.merge_mode == "delete_insert" ? MergeMode::kDeleteInsert : MergeMode::kUpsert;
      m.order_by = c.strategy.order_by;
      m.delete_flag = c.strategy.delete_flag;
      m.ignore_null_updates = c.strategy.ignore_null_updates;
      m.update_columns = c.strategy.update_columns;
    }
    m.write = w;
    m.write.operation = "INLET RUN MERGE";
    ARROW_ASSIGN_OR_RAISE(auto merged, table->Merge(rows, m));
    result = merged.commit;
    r.rows_inserted = merged.rows_inserted;
    r.rows_updated = merged.rows_updated;
    r.rows_deleted = merged.rows_deleted;
    r.rows_deduplicated += merged.source_duplicates;
    r.rows_written = merged.rows_inserted + merged.rows_updated;
  } else {
    auto reader = std::make_shared<arrow::TableBatchReader>(rows);
    reader->set_chunksize(c.processing.batch_size);
    ARROW_ASSIGN_OR_RAISE(result, table->Write(reader, w));
  }
  r.table_version = result.version;
  r.files_written = result.files_added;
  r.bytes_written = result.bytes_written;
  r.partitions_touched = result.partitions_touched;
  r.run = next.run;
  r.attempts = result.attempts;
  return finish("committed");
}

}  // namespace

arrow::Result<RunReport> RunPipeline(const PipelineConfig& config, const RunOptions& options) {
  std::mt19937 rng{std::random_device{}()};
  for (int attempt = 0;; ++attempt) {
    auto report = RunOnce(config, options);
    if (report.ok()) return report;
    const auto& st = report.status();
    if (IsCommitConflict(st) && attempt < config.processing.max_retries) {
      // Another writer (maybe another run of this pipeline) committed first: start over
      // from the state it committed.
      std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(5, 50)(rng)));
      continue;
    }
    return st.WithMessage("pipeline '", config.name, "': ", st.message());
  }
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
  if (strategy == "merge" || strategy == "snapshot_diff") {
    out << "  merge:     inserted " << rows_inserted << ", updated " << rows_updated << ", deleted " << rows_deleted << "\n";
  }
  if (strategy == "watermark") {
    out << "  watermark: " << watermark_before.value_or("(none)") << " -> " << watermark_after.value_or("(none)") << "\n";
  }
  out << "  files:     read " << files_read << ", written " << files_written << " (" << bytes_written
      << " bytes), partitions touched " << partitions_touched << "; run " << run << "\n";
  return out.str();
}

}  // namespace inlet::pipeline
