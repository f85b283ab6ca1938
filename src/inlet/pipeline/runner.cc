#include "inlet/pipeline/runner.h"

#include <arrow/array/util.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>

#include "inlet/common/fault.h"
#include "inlet/common/read_ahead.h"
#include "inlet/common/time.h"
#include "inlet/load/commit.h"
#include "inlet/load/maintenance.h"
#include "inlet/load/state.h"
#include "inlet/load/strategy.h"
#include "inlet/pipeline/quality_gates.h"
#include "inlet/source/source.h"
#include "inlet/status.h"

namespace inlet::pipeline {

namespace {

// A one-line progress display on a terminal (stderr), shown once a run has taken more
// than two seconds, so that quick runs and redirected output stay clean.
class Progress {
 public:
  explicit Progress(std::string pipeline)
      : pipeline_(std::move(pipeline)),
        start_(std::chrono::steady_clock::now()),
        tty_(::isatty(2) != 0) {}
  ~Progress() {
    if (shown_) std::fprintf(stderr, "\r\033[K");
  }
  void Update(const std::string& what) {
    if (!tty_ || std::chrono::steady_clock::now() - start_ < std::chrono::seconds(2))
      return;
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

// One run of a pipeline, phase by phase: load the state, read the source, select rows by
// strategy, check them, then commit rows and state together. Every decision that depends
// on the strategy is the strategy's (load/strategy.h).
class PipelineRun {
 public:
  // chunk: how many chunks of this run its source read before (SourceRead::more).
  PipelineRun(const PipelineConfig& config, const RunOptions& options, int chunk = 0)
      : config_(config),
        chunk_(chunk),
        options_(options),
        strategy_(load::Strategy::Make(config.strategy, config.destination.keys)),
        started_(std::chrono::steady_clock::now()),
        progress_(config.name) {
    report_.pipeline = config.name;
    report_.table = config.destination.path;
    report_.strategy = strategy_->name();
    context_.backfill_from = options.backfill_from;
    context_.backfill_to = options.backfill_to;
    context_.state = &state_;
  }

  arrow::Result<RunReport> Execute() {
    ARROW_RETURN_NOT_OK(strategy_->CheckRun(context_));
    ARROW_RETURN_NOT_OK(LoadState());
    if (Streamable()) {
      ARROW_ASSIGN_OR_RAISE(auto streamed, StreamRun());
      if (streamed) return *streamed;
    }
    if (DiffStreamable()) {
      ARROW_ASSIGN_OR_RAISE(auto streamed, StreamDiffRun());
      if (streamed) return *streamed;
    }
    ARROW_ASSIGN_OR_RAISE(bool any, ReadSource());
    if (!any) {
      // Only files left out by the bad-files policy: the state remembers them.
      if (!read_.skipped.empty() && snapshot_ && !options_.dry_run &&
          source_->Advanced(state_.position, read_.position)) {
        return CommitStateOnly();
      }
      return Finish(RunStatus::kNoChanges);
    }
    ARROW_RETURN_NOT_OK(SelectRows());
    ARROW_RETURN_NOT_OK(CheckRows());
    context_.now_ms = NowMillis();  // a full refresh's time is the decision's
    change_ = strategy_->Change(context_, &next_);
    if (change_.merge) {
      // A partition column derived from a column a file lacks is not given there either.
      auto& flags = change_.merge_options.given_flags;
      flags = GivenFlags(*rows_->schema());
      for (const auto& d : Derived(config_.destination)) {
        if (auto f = flags.find(d.source); f != flags.end()) flags[d.name] = f->second;
      }
    }
    ARROW_ASSIGN_OR_RAISE(rows_, strategy_->Complete(rows_));
    ARROW_RETURN_NOT_OK(
        load::CheckOverwrite(snapshot_.get(), rows_->num_rows(), change_));
    if (change_.min_change_percent > 0) {
      ARROW_ASSIGN_OR_RAISE(auto early, CheckThreshold());
      if (early) return Finish(*early);
    }
    bool state_changed = next_.watermark != state_.watermark ||
                         source_->Advanced(state_.position, next_.position);
    if (rows_->num_rows() == 0 && !state_changed && report_.rows_rejected == 0)
      return Finish(RunStatus::kNoChanges);
    report_.rows_written = rows_->num_rows();
    if (options_.dry_run) {
      // A merge runs dry, to report what it would change.
      if (change_.merge) {
        ARROW_ASSIGN_OR_RAISE(MergeResult counted, DryRun());
        ReportMerge(counted);
        if (Diffs() && !counted.changed) return Finish(RunStatus::kNoChanges);
      }
      return Finish(RunStatus::kDryRun);
    }
    ARROW_RETURN_NOT_OK(CheckStop());
    ARROW_ASSIGN_OR_RAISE(bool committed, Commit());
    return Finish(committed ? RunStatus::kCommitted : RunStatus::kNoChanges);
  }

  // Fails once the caller asked the run to stop (RunOptions::stop).
  arrow::Status CheckStop() const {
    if (options_.stop && options_.stop->load())
      return arrow::Status::Cancelled("the run was stopped before its commit");
    return arrow::Status::OK();
  }

  // The table, for maintenance after the commit.
  const std::shared_ptr<Table>& table() const { return table_; }
  // Whether the source stopped at a chunk's end: the next run reads on.
  bool more() const { return read_.more; }

 private:
  RunReport Finish(RunStatus status) {
    report_.status = status;
    report_.duration_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::steady_clock::now() - started_)
                              .count();
    return report_;
  }

  arrow::Status LoadState() {
    ARROW_ASSIGN_OR_RAISE(table_, pipeline::OpenDestination(config_.destination));
    ARROW_ASSIGN_OR_RAISE(snapshot_, load::LatestSnapshot(*table_));
    if (snapshot_) {
      report_.table_version = snapshot_->version();
      const std::string app = load::StateDomain(config_.name);
      ARROW_ASSIGN_OR_RAISE(auto document, snapshot_->AppDocument(app));
      const int64_t committed = snapshot_->AppVersion(app).value_or(0);
      if (document) {
        ARROW_ASSIGN_OR_RAISE(state_, load::ParseState(*document));
        // A restored table has an earlier document; the run number still grows.
        state_.run = std::max(state_.run, committed);
      } else {
        // After a reset the run counter (the app's number) keeps growing.
        state_.run = committed;
      }
    }
    context_.table = snapshot_.get();
    context_.now_ms = NowMillis();
    report_.run = state_.run;
    report_.watermark_before = state_.watermark;
    report_.watermark_after = state_.watermark;
    return arrow::Status::OK();
  }

  // A full refresh that needs no rows in memory (no keys to gate, no row-count gates, no
  // limit on what it may delete) streams the extract of a source that can stream into the
  // table: memory does not grow with the extract, and reading overlaps writing (a sort
  // order sorts runs of bounded size, table::Write).
  bool Streamable() const {
    const auto& c = config_;
    return c.strategy.type == load::StrategyType::kFullRefresh &&
           c.destination.keys.empty() && !c.quality.min_rows && !c.quality.max_rows &&
           !c.strategy.max_delete_percent && !options_.dry_run;
  }

  class ShapedRows;

  // A snapshot diff that needs no extract in memory (key gates that fail rather than
  // set rows aside, no row-count gates, no share of changes to count first) streams an
  // extract the source can stream into the merge, which spills it to disk as it indexes
  // the keys and hashes the rows (Table::MergeExtract).
  bool DiffStreamable() const {
    const auto& c = config_;
    return c.strategy.type == load::StrategyType::kSnapshotDiff && snapshot_ &&
           c.quality.null_keys == load::RejectPolicy::kFail &&
           c.quality.duplicate_keys == load::RejectPolicy::kFail && !c.quality.min_rows &&
           !c.quality.max_rows && c.strategy.min_change_percent <= 0 && !options_.dry_run;
  }

  // The source's stream, each batch shaped as a whole extract would be (derived columns,
  // schema drift, key gates within the batch).
  arrow::Result<std::shared_ptr<ShapedRows>> Shaped(const SourceStream& stream) {
    // Errors name the part (file) a row came from, when the stream says.
    bool has_parts = stream.batches->schema()->GetFieldIndex(kPartColumn) >= 0;
    auto parts = std::make_shared<std::vector<std::string>>(
        has_parts ? stream.part_names : std::vector<std::string>{source_->Describe()});
    auto shape = [this, parts,
                  has_parts](const std::shared_ptr<arrow::RecordBatch>& batch)
        -> arrow::Result<pipeline::CheckedRows> {
      ARROW_ASSIGN_OR_RAISE(auto table, arrow::Table::FromRecordBatches({batch}));
      if (!has_parts) {
        ARROW_ASSIGN_OR_RAISE(auto part, arrow::MakeArrayFromScalar(arrow::Int32Scalar(0),
                                                                    table->num_rows()));
        ARROW_ASSIGN_OR_RAISE(
            table, table->AddColumn(table->num_columns(),
                                    arrow::field(kPartColumn, arrow::int32()),
                                    std::make_shared<arrow::ChunkedArray>(
                                        arrow::ArrayVector{part}, arrow::int32())));
      }
      ARROW_ASSIGN_OR_RAISE(table,
                            load::AddDerivedColumns(table, Derived(config_.destination)));
      return pipeline::CheckRows(config_, *strategy_, table, snapshot_.get(), *parts);
    };
    ARROW_ASSIGN_OR_RAISE(auto none,
                          arrow::RecordBatch::MakeEmpty(stream.batches->schema()));
    ARROW_ASSIGN_OR_RAISE(auto shaped, shape(none));
    merge_schema_ = shaped.merge_schema;
    return std::make_shared<ShapedRows>(
        stream.batches, shaped.rows->schema(), shape, config_.processing.batch_size,
        [this](int64_t n) { progress_.Update("read " + std::to_string(n) + " rows"); });
  }

  // The source's stream of what the strategy asks for (no batches: it cannot stream).
  arrow::Result<SourceStream> OpenStream() {
    ARROW_ASSIGN_OR_RAISE(source_, OpenBoundedSource(config_.source));
    ARROW_ASSIGN_OR_RAISE(ReadRequest request, strategy_->Request(context_));
    return source_->Stream(state_.position, request);
  }

  // The state this run commits starts as the one it read.
  void StartNextState() {
    next_ = state_;
    next_.pipeline = config_.name;
    next_.strategy = report_.strategy;
    next_.cursor = config_.strategy.cursor;
  }

  // The streamed run; nullopt when the source cannot stream.
  arrow::Result<std::optional<RunReport>> StreamRun() {
    ARROW_ASSIGN_OR_RAISE(SourceStream stream, OpenStream());
    if (stream.unchanged) return std::optional<RunReport>(Finish(RunStatus::kNoChanges));
    if (!stream.batches) return std::optional<RunReport>();
    // With no keys and no row-count gates nothing depends on the other batches.
    ARROW_ASSIGN_OR_RAISE(auto rows, Shaped(stream));
    StartNextState();
    next_.position = stream.position;
    context_.now_ms = NowMillis();
    change_ = strategy_->Change(context_, &next_);
    next_.run = state_.run + 1;
    next_.updated_at = FormatTimestampMillisIso(NowMillis());
    ARROW_RETURN_NOT_OK(CheckStop());
    ARROW_ASSIGN_OR_RAISE(
        CommitResult commit,
        table_->Write(rows, load::WriteOptionsOf(Spec(), change_.mode)));
    report_.files_read = stream.parts;
    report_.rows_read = rows->read();
    report_.rows_written = rows->count();
    ReportCommit(commit);
    return std::optional<RunReport>(Finish(RunStatus::kCommitted));
  }

  // The streamed diff; nullopt when a full refresh is due or the source cannot stream.
  arrow::Result<std::optional<RunReport>> StreamDiffRun() {
    StartNextState();
    context_.now_ms = NowMillis();
    change_ = strategy_->Change(context_, &next_);
    if (!Diffs()) return std::optional<RunReport>();
    ARROW_ASSIGN_OR_RAISE(SourceStream stream, OpenStream());
    if (stream.unchanged) return std::optional<RunReport>(Finish(RunStatus::kNoChanges));
    if (!stream.batches) return std::optional<RunReport>();
    ARROW_ASSIGN_OR_RAISE(auto rows, Shaped(stream));
    next_.position = stream.position;
    next_.run = state_.run + 1;
    next_.updated_at = FormatTimestampMillisIso(NowMillis());
    ARROW_RETURN_NOT_OK(CheckStop());
    ARROW_ASSIGN_OR_RAISE(
        MergeResult result,
        table_->MergeExtract(rows, load::MergeOptionsOf(change_, Spec())));
    report_.files_read = stream.parts;
    report_.rows_read = rows->read();
    report_.rows_deduplicated = rows->deduplicated();
    ReportMerge(result);
    if (!result.changed) return std::optional<RunReport>(Finish(RunStatus::kNoChanges));
    ReportCommit(result.commit);
    return std::optional<RunReport>(Finish(RunStatus::kCommitted));
  }

  // A source's stream with each batch shaped for the table, read and shaped two batches
  // ahead on a thread of its own, so that the source (a database's COPY, its decoding)
  // works while the writer encodes.
  class ShapedRows : public arrow::RecordBatchReader {
   public:
    using Shape = std::function<arrow::Result<pipeline::CheckedRows>(
        const std::shared_ptr<arrow::RecordBatch>&)>;
    using Batch = std::shared_ptr<arrow::RecordBatch>;
    ShapedRows(std::shared_ptr<arrow::RecordBatchReader> source,
               std::shared_ptr<arrow::Schema> schema, Shape shape, int64_t batch_size,
               std::function<void(int64_t)> progress)
        : source_(std::move(source)),
          schema_(std::move(schema)),
          shape_(std::move(shape)),
          batch_size_(std::max<int64_t>(batch_size, 1)),
          progress_(std::move(progress)),
          ahead_(
              [this]() -> arrow::Result<std::optional<Piece>> {
                Batch batch;
                ARROW_RETURN_NOT_OK(source_->ReadNext(&batch));
                if (!batch) return std::optional<Piece>();
                ARROW_ASSIGN_OR_RAISE(auto shaped, shape_(batch));
                ARROW_ASSIGN_OR_RAISE(Batch out, shaped.rows->CombineChunksToBatch());
                return std::optional<Piece>(
                    Piece{std::move(out), batch->num_rows(), shaped.deduplicated});
              },
              2) {}
    std::shared_ptr<arrow::Schema> schema() const override { return schema_; }
    // Batches of at most processing.batch_size rows, as the other runs write.
    arrow::Status ReadNext(Batch* out) override {
      while (!pending_ || offset_ >= pending_->num_rows()) {
        ARROW_ASSIGN_OR_RAISE(auto next, ahead_.Next());
        if (!next) {
          *out = nullptr;
          if (!ended_) CrashPoint("run.after_read");
          ended_ = true;
          return arrow::Status::OK();
        }
        pending_ = std::move(next->batch);
        read_ += next->read;
        deduplicated_ += next->deduplicated;
        offset_ = 0;
      }
      *out = pending_->Slice(offset_, batch_size_);
      offset_ += (*out)->num_rows();
      count_ += (*out)->num_rows();
      progress_(count_);
      return arrow::Status::OK();
    }
    int64_t count() const { return count_; }
    // The source's rows read, and those the key gates found repeated (identical rows of
    // a key in one batch), so far.
    int64_t read() const { return read_; }
    int64_t deduplicated() const { return deduplicated_; }

   private:
    std::shared_ptr<arrow::RecordBatchReader> source_;
    std::shared_ptr<arrow::Schema> schema_;
    Shape shape_;
    int64_t batch_size_;
    std::function<void(int64_t)> progress_;
    int64_t count_ = 0;
    int64_t read_ = 0;
    int64_t deduplicated_ = 0;
    bool ended_ = false;
    Batch pending_;
    int64_t offset_ = 0;
    // A batch shaped, the source rows it came from, and those the gates dropped as
    // repeats.
    struct Piece {
      Batch batch;
      int64_t read = 0;
      int64_t deduplicated = 0;
    };
    ReadAhead<Piece> ahead_;  // last: its thread stops before the members it uses go
  };

  // Reads what the strategy needs of the source; false when there is nothing to read.
  arrow::Result<bool> ReadSource() {
    ARROW_ASSIGN_OR_RAISE(source_, OpenBoundedSource(config_.source));
    ARROW_ASSIGN_OR_RAISE(ReadRequest request, strategy_->Request(context_));
    // A merge by key keeps the table's values of the columns a file lacks.
    request.mark_given = config_.strategy.type == load::StrategyType::kMerge ||
                         config_.strategy.type == load::StrategyType::kCdc;
    // Row-count gates judge a whole run, and a dry run reports one: neither reads in
    // chunks.
    request.chunked =
        !options_.dry_run && !config_.quality.min_rows && !config_.quality.max_rows;
    request.later_chunk = chunk_ > 0;
    request.on_part = [&](size_t done, size_t total, int64_t rows) {
      progress_.Update("read " + std::to_string(done) + "/" + std::to_string(total) +
                       " files, " + std::to_string(rows) + " rows");
    };
    ARROW_ASSIGN_OR_RAISE(read_, source_->Read(state_.position, request));
    report_.warnings = read_.warnings;
    for (const auto& p : read_.skipped) {
      report_.files_skipped.push_back({p.part, p.reason, p.quarantined});
    }
    // Nothing to read: a position that changed all the same (a moved source root, a
    // touched file) is committed with the next rows.
    if (!read_.rows) return false;
    report_.files_read = static_cast<int64_t>(read_.parts.size());
    report_.rows_read = read_.rows->num_rows();
    CrashPoint("run.after_read");
    ARROW_ASSIGN_OR_RAISE(
        rows_, load::AddDerivedColumns(read_.rows, Derived(config_.destination)));
    read_.rows = rows_;
    return true;
  }

  // The strategy's row selection, and the state it leads to.
  arrow::Status SelectRows() {
    StartNextState();
    context_.now_ms = NowMillis();  // the safety margin counts back from the selection
    load::SelectionCounts counts;
    ARROW_ASSIGN_OR_RAISE(rows_,
                          strategy_->Select(context_, *source_, &read_, &next_, &counts));
    report_.rows_skipped_watermark = counts.skipped_watermark;
    report_.rows_deduplicated = counts.deduplicated;
    report_.watermark_after = next_.watermark;
    return arrow::Status::OK();
  }

  // Schema drift, key gates, row-count gates.
  arrow::Status CheckRows() {
    ARROW_ASSIGN_OR_RAISE(
        auto checked,
        pipeline::CheckRows(config_, *strategy_, rows_, snapshot_.get(), read_.parts));
    rows_ = checked.rows;
    rejected_ = checked.rejected;
    merge_schema_ = checked.merge_schema;
    report_.rows_deduplicated += checked.deduplicated;
    report_.rows_rejected = rejected_ ? rejected_->num_rows() : 0;
    return arrow::Status::OK();
  }

  // Whether the change compares the extract with the table (snapshot_diff's merge).
  bool Diffs() const {
    return change_.merge && change_.merge_options.mode == MergeMode::kSnapshot;
  }

  // A change committed only when large enough: the merge first runs dry, to count it.
  // Returns a final status when nothing is to be committed.
  arrow::Result<std::optional<RunStatus>> CheckThreshold() {
    ARROW_ASSIGN_OR_RAISE(MergeResult counted, DryRun());
    report_.changed_percent = load::ChangedPercent(counted);
    if (!counted.changed) return std::optional<RunStatus>(RunStatus::kNoChanges);
    if (*report_.changed_percent < change_.min_change_percent) {
      return std::optional<RunStatus>(RunStatus::kNoSignificantChanges);
    }
    return std::optional<RunStatus>();
  }

  // The merge's counts, without writing (once per run).
  arrow::Result<MergeResult> DryRun() {
    if (!dry_merge_) {
      ARROW_ASSIGN_OR_RAISE(dry_merge_, load::CommitLoad(*table_, rows_, change_, Spec(),
                                                         /*dry_run=*/true));
    }
    return *dry_merge_;
  }

  void ReportMerge(const MergeResult& m) {
    if (Diffs()) report_.changed_percent = load::ChangedPercent(m);
    report_.rows_late = m.late_discarded;
    report_.rows_inserted = m.rows_inserted;
    report_.rows_updated = m.rows_updated;
    report_.rows_deleted = m.rows_deleted;
    report_.rows_deduplicated += m.source_duplicates;
    report_.rows_written = m.rows_inserted + m.rows_updated;
  }

  // What the run's commit carries beside its rows: the pipeline's state and run number.
  load::CommitSpec Spec() const {
    load::CommitSpec spec;
    for (const auto& p : config_.destination.partition_by)
      spec.partition_by.push_back(p.name);
    spec.sort_by = config_.destination.sort_by;
    spec.sort_run_bytes = config_.destination.sort_run_size;
    spec.properties = config_.destination.properties;
    spec.app_states[load::StateDomain(config_.name)] =
        AppState{next_.run, load::SerializeState(next_)};
    spec.merge_schema = merge_schema_;
    // The state was read at this version: a concurrent run that committed since must make
    // this commit fail (and the run restart from the state it committed).
    spec.read_version = snapshot_ ? snapshot_->version() : -1;
    spec.operation = "INLET RUN";
    spec.merge_operation = "INLET RUN MERGE";
    spec.parameters = {{"pipeline", config_.name},
                       {"strategy", report_.strategy},
                       {"run", std::to_string(next_.run)}};
    if (context_.backfill()) {
      spec.parameters["backfill"] =
          options_.backfill_from.value_or("") + ".." + options_.backfill_to.value_or("");
    }
    spec.batch_size = config_.processing.batch_size;
    return spec;
  }

  // The source's new position, committed without rows.
  arrow::Result<RunReport> CommitStateOnly() {
    next_ = state_;
    next_.pipeline = config_.name;
    next_.strategy = report_.strategy;
    next_.position = read_.position;
    next_.run = state_.run + 1;
    next_.updated_at = FormatTimestampMillisIso(NowMillis());
    auto empty = arrow::Table::MakeEmpty(snapshot_->schema());
    ARROW_RETURN_NOT_OK(empty.status());
    load::TableChange append;
    append.mode = WriteMode::kAppend;
    ARROW_ASSIGN_OR_RAISE(MergeResult result,
                          load::CommitLoad(*table_, *empty, append, Spec()));
    report_.table_version = result.commit.version;
    report_.run = next_.run;
    report_.attempts = result.commit.attempts;
    return Finish(RunStatus::kCommitted);
  }

  // Rows, state and run number in one commit (quarantined rows first, idempotently).
  // False when a snapshot merge found nothing to change, and committed nothing.
  arrow::Result<bool> Commit() {
    next_.run = state_.run + 1;
    next_.updated_at = FormatTimestampMillisIso(NowMillis());
    if (rejected_) ARROW_RETURN_NOT_OK(WriteQuarantine(config_, rejected_, next_.run));
    progress_.Update("writing and committing " + std::to_string(rows_->num_rows()) +
                     " rows");
    ARROW_ASSIGN_OR_RAISE(MergeResult result,
                          load::CommitLoad(*table_, rows_, change_, Spec()));
    if (change_.merge) {
      ReportMerge(result);
      if (Diffs() && !result.changed) return false;
    }
    ReportCommit(result.commit);
    return true;
  }

  void ReportCommit(const CommitResult& commit) {
    report_.table_version = commit.version;
    report_.files_written = commit.files_added;
    report_.bytes_written = commit.bytes_written;
    report_.partitions_touched = commit.partitions_touched;
    report_.run = next_.run;
    report_.attempts = commit.attempts;
  }

  const PipelineConfig& config_;
  const int chunk_;
  const RunOptions& options_;
  std::unique_ptr<load::Strategy> strategy_;
  std::chrono::steady_clock::time_point started_;
  Progress progress_;
  RunReport report_;
  load::RunContext context_;
  std::shared_ptr<Table> table_;
  std::shared_ptr<Snapshot> snapshot_;
  load::PipelineState state_;
  load::PipelineState next_;
  std::unique_ptr<BoundedSource> source_;
  SourceRead read_;
  std::shared_ptr<arrow::Table> rows_;
  std::shared_ptr<arrow::Table> rejected_;
  bool merge_schema_ = false;
  load::TableChange change_;
  std::optional<MergeResult> dry_merge_;
};

}  // namespace

namespace {

// A run read in chunks reports as one: the chunks' counts added up, the watermark from
// before the first to after the last, the last commit's version and run.
void AddChunk(const RunReport& chunk, RunReport* total) {
  total->rows_read += chunk.rows_read;
  total->rows_skipped_watermark += chunk.rows_skipped_watermark;
  total->rows_deduplicated += chunk.rows_deduplicated;
  total->rows_rejected += chunk.rows_rejected;
  total->rows_written += chunk.rows_written;
  total->rows_inserted += chunk.rows_inserted;
  total->rows_updated += chunk.rows_updated;
  total->rows_deleted += chunk.rows_deleted;
  total->rows_late += chunk.rows_late;
  total->files_read += chunk.files_read;
  total->files_written += chunk.files_written;
  total->bytes_written += chunk.bytes_written;
  total->partitions_touched += chunk.partitions_touched;
  total->duration_ms += chunk.duration_ms;
  total->attempts += chunk.attempts;
  total->watermark_after = chunk.watermark_after;
  total->table_version = chunk.table_version;
  total->run = chunk.run;
  total->commits += chunk.commits;
  if (!chunk.maintenance.empty()) total->maintenance = chunk.maintenance;
  if (!chunk.error.empty()) total->error = chunk.error;
  if (chunk.status == RunStatus::kCommitted) total->status = RunStatus::kCommitted;
  for (const auto& w : chunk.warnings)  // each chunk's source says the same
    if (std::find(total->warnings.begin(), total->warnings.end(), w) ==
        total->warnings.end())
      total->warnings.push_back(w);
}

}  // namespace

arrow::Result<RunReport> Run(const PipelineConfig& config, const RunOptions& options) {
  // Another writer (maybe another run of this pipeline) committed first: start over from
  // the state it committed. A source that reads in chunks (a database's watermark run)
  // is run again after each committed chunk, until it has no more or the watermark stops
  // moving.
  std::shared_ptr<Table> table;
  arrow::Result<RunReport> report;
  bool more = true;
  for (int chunk = 0; more; ++chunk) {
    more = false;
    int attempts = 0;
    auto r =
        RetryOnConflict(config.processing.max_retries, [&]() -> arrow::Result<RunReport> {
          ++attempts;
          PipelineRun run(config, options, chunk);
          auto executed = run.Execute();
          table = run.table();
          more = executed.ok() && executed->status == RunStatus::kCommitted &&
                 run.more() && executed->watermark_after != executed->watermark_before;
          return executed;
        });
    // Lost the commit race, and the state the winner committed left nothing to load:
    // the winner did this run's work.
    if (r.ok() && attempts > 1 &&
        (r->status == RunStatus::kNoChanges ||
         r->status == RunStatus::kNoSignificantChanges)) {
      r->status = RunStatus::kSkipped;
      r->warnings.push_back("another writer committed first (" +
                            std::to_string(attempts - 1) +
                            " conflict(s)); nothing was left to load");
    }
    if (r.ok() && r->status == RunStatus::kCommitted) {
      r->commits = 1;
      // The chunk's data is committed whatever maintenance does; its failure is
      // reported, and ends the run. Each chunk is a run of its own for the intervals.
      if (config.destination.maintenance.any()) {
        auto st = load::Maintain(*table, config.destination.maintenance, r->run,
                                 r->table_version, &r->maintenance);
        if (!st.ok()) {
          r->error =
              "maintenance after the commit failed (the run's data is committed): " +
              st.message();
          more = false;
        }
      }
    }
    if (!r.ok() && chunk > 0) {
      report = r.status().WithMessage(
          r.status().message(), " (the run's first ", chunk,
          " chunk(s) are committed: the next run goes on from them)");
    } else if (chunk == 0 || !r.ok()) {
      report = std::move(r);
    } else {
      AddChunk(*r, &*report);
    }
    if (!report.ok()) break;
  }
  if (!report.ok())
    return report.status().WithMessage("pipeline '", config.name,
                                       "': ", report.status().message());
  return report;
}

}  // namespace inlet::pipeline
