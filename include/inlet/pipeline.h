// The public pipeline API: load pipeline definitions (docs/pipelines.md), run them once
// (bounded sources: files) or stream them (unbounded sources: Kafka), and read or reset
// the state they keep in their tables. The CLI and the Python package use only this
// header, inlet/table.h and inlet/status.h. No third-party type but Arrow's appears here.
//
// Threading: Pipelines are immutable and may be shared. RunPipeline and RunStream may run
// concurrently for different pipelines (and for the same one: their commits conflict, and
// the loser starts again from the winner's state).
#pragma once

#include <arrow/result.h>
#include <arrow/status.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "inlet/table.h"

namespace inlet {

namespace pipeline {
struct PipelineConfig;
}  // namespace pipeline

/// One pipeline of a pipeline file, validated. Cheap to copy.
class Pipeline {
 public:
  explicit Pipeline(std::shared_ptr<const pipeline::PipelineConfig> config)
      : config_(std::move(config)) {}

  const std::string& name() const;
  /// The source's kind as the file names it: files, kafka.
  const char* source_kind() const;
  /// Whether the source is consumed continuously (RunStream) rather than read by runs
  /// (RunPipeline).
  bool streams() const;
  /// What the source reads: a file, directory or glob; a Kafka topic.
  const std::string& source_location() const;
  /// The destination table's location.
  const std::string& table() const;
  /// full_refresh, append, watermark, merge, snapshot_diff, cdc.
  const char* strategy() const;
  /// The YAML file (and line) it was defined at.
  const std::string& file() const;
  int line() const;

  /// The definition itself, for inlet's own modules.
  const pipeline::PipelineConfig& config() const { return *config_; }

 private:
  std::shared_ptr<const pipeline::PipelineConfig> config_;
};

/// Reads and validates the pipelines of a YAML file: ${VAR} and ${VAR:-default} expand
/// from the environment, relative paths resolve against the file's directory. Errors name
/// the file, line and key ("p.yaml:12: pipelines[orders].strategy.cursor: is required").
arrow::Result<std::vector<Pipeline>> LoadPipelineFile(const std::string& path);

/// The same from YAML text: `file` names it in errors, base_dir resolves relative paths.
arrow::Result<std::vector<Pipeline>> ParsePipelineText(const std::string& yaml,
                                                       const std::string& file,
                                                       const std::string& base_dir);

/// What table maintenance did after a commit (destination.maintenance), by step.
struct MaintenanceReport {
  std::optional<OptimizeResult> optimize;
  std::optional<VacuumResult> vacuum;
  std::optional<CheckpointResult> checkpoint;

  bool empty() const { return !optimize && !vacuum && !checkpoint; }
  /// As a JSON object: {"optimize": {...}, "vacuum": {...}, "checkpoint": {...}}.
  std::string ToJson() const;
  /// "optimize 12 files -> 2 files; vacuum deleted 10 files", for people.
  std::string ToText() const;
};

struct RunOptions {
  /// Read, select and check, and report what would change; commit nothing.
  bool dry_run = false;
  /// A backfill range (watermark strategy): from <= cursor < to.
  std::optional<std::string> backfill_from;
  std::optional<std::string> backfill_to;
  /// Set from another thread to abandon the run at its next safe point before its commit
  /// (Ctrl-C in the Python package): it fails with Cancelled, its table unchanged. A
  /// commit under way finishes.
  const std::atomic<bool>* stop = nullptr;
};

/// kSkipped: the run lost a commit race to another writer (another `inlet serve` on the
/// same configuration, say) and, started again from the state that writer committed,
/// found nothing left to load.
enum class RunStatus {
  kCommitted,
  kNoChanges,
  kNoSignificantChanges,
  kDryRun,
  kFailed,
  kSkipped
};

/// committed, no_changes, no_significant_changes, dry_run, failed, skipped.
const char* RunStatusName(RunStatus status);

/// What one run of a pipeline did.
struct RunReport {
  std::string pipeline;
  std::string table;
  std::string strategy;
  RunStatus status = RunStatus::kFailed;
  int64_t rows_read = 0;
  int64_t rows_skipped_watermark = 0;
  int64_t rows_deduplicated = 0;
  int64_t rows_rejected = 0;
  int64_t rows_written = 0;
  /// Merging strategies: how the written rows split.
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
  /// Table commits the run made: one, or one per chunk when its source read in chunks
  /// (a postgres source's source.chunk_rows); 0 when it committed nothing.
  int64_t commits = 0;
  int64_t duration_ms = 0;
  int attempts = 0;
  /// What table maintenance did after the commit.
  MaintenanceReport maintenance;
  /// What the user should know although the run did not fail: a moved source root, a
  /// source matching no files, a changed file loaded again or ignored by policy.
  std::vector<std::string> warnings;
  /// Files left out by source.bad_files: the file, why, and where it was quarantined.
  struct SkippedFile {
    std::string file;
    std::string reason;
    std::string quarantined;
  };
  std::vector<SkippedFile> files_skipped;
  /// Why the run failed, or (status committed) why its maintenance failed.
  std::string error;

  /// One line of JSON.
  std::string ToJson() const;
  /// A few lines for people.
  std::string ToText() const;
};

/// Runs a pipeline with a bounded source once: reads what its strategy needs, checks it,
/// and commits the rows with the pipeline's new state in one table commit, then runs the
/// maintenance that is due. A commit that loses to a concurrent, conflicting one is
/// retried from the new state (processing.max_retries times). On failure the table is
/// unchanged and the error names the pipeline; a maintenance failure after the commit is
/// reported in RunReport::error with status committed.
arrow::Result<RunReport> RunPipeline(const Pipeline& pipeline,
                                     const RunOptions& options = {});

/// The report of a run that failed with st (status failed, nothing written).
RunReport FailedReport(const Pipeline& pipeline, const arrow::Status& st);

enum class StreamStatus { kRunning, kStopped, kIdle, kFailed, kCaughtUp };

/// running, stopped, idle, failed, caught_up.
const char* StreamStatusName(StreamStatus status);

struct StreamReport {
  std::string pipeline;
  std::string table;
  std::string topic;
  int64_t messages = 0;      // consumed (including dead letters and skipped ones)
  int64_t rows_written = 0;  // committed to the table
  int64_t dead_letters = 0;  // committed to the dead-letter table
  int64_t skipped = 0;       // already in the table (read again after a rebalance)
  int64_t tombstones = 0;    // null messages of a change stream (nothing to apply)
  // merge and cdc: how the written rows split, and changes older than the table's (cdc).
  int64_t rows_inserted = 0;
  int64_t rows_updated = 0;
  int64_t rows_deleted = 0;
  int64_t rows_late = 0;
  int64_t commits = 0;
  int64_t batches_discarded = 0;  // lost to another consumer that committed them first
  int64_t rebalances = 0;
  int64_t table_version = -1;
  // destination.maintenance after commits that did something, and that failed (reported
  // on stderr; the stream goes on).
  int64_t maintenance_runs = 0;
  int64_t maintenance_failures = 0;
  int64_t duration_ms = 0;
  // Where the time went: waiting for messages, decoding them, writing and committing.
  int64_t wait_ms = 0;
  int64_t decode_ms = 0;
  int64_t commit_ms = 0;
  /// Messages in each assigned partition after the table's offset (while running).
  std::map<int32_t, int64_t> lag;
  /// postgres_cdc: the LSN the table holds changes up to, and how far the server's WAL
  /// is ahead of it, in bytes and in time (since the oldest commit not yet in the table
  /// was made; 0 when it holds all); unset until known.
  std::string position;
  std::optional<int64_t> lag_bytes;
  std::optional<int64_t> lag_ms;
  StreamStatus status = StreamStatus::kRunning;
  std::string error;

  /// One line of JSON.
  std::string ToJson() const;
};

struct StreamOptions {
  /// Stop (after a last flush) once no message has arrived for this long; 0: run until
  /// SIGINT or SIGTERM.
  int64_t idle_exit_ms = 0;
  /// Set to stop the stream from another thread (the signal handlers set it too).
  std::atomic<bool>* stop = nullptr;
  /// Stop (after a last commit) once the table holds everything the source had when
  /// the stream started (postgres_cdc: every transaction committed before it): a batch
  /// that catches up and exits.
  bool catch_up = false;
  /// Called from the stream's thread with its report so far (status running), about every
  /// progress_interval_ms: for metrics while it runs.
  std::function<void(const StreamReport&)> on_progress;
  int64_t progress_interval_ms = 1000;
  /// Stop on SIGINT and SIGTERM (installing handlers for them). false: the caller takes
  /// the signals and sets stop (inlet serve).
  bool handle_signals = true;
};

/// Streams a pipeline with an unbounded source into its table until stopped (SIGINT,
/// SIGTERM, options.stop, or idle exit), committing batches as its processing settings
/// say, exactly once: each commit records the source position it covers. On a failure
/// (the table cannot be written, a message cannot be decoded and there is no dead-letter
/// table) it commits nothing more and returns the error.
arrow::Result<StreamReport> RunStream(const Pipeline& pipeline,
                                      const StreamOptions& options = {});

/// Stream reports as Prometheus text (version 0.0.4), for a textfile collector: counters
/// inlet_stream_messages_total, _rows_written_total, _dead_letters_total, _skipped_total,
/// _tombstones_total, _commits_total, _batches_discarded_total, _rebalances_total,
/// _rows_late_total; gauges inlet_stream_table_version, inlet_stream_running and
/// inlet_stream_lag_messages by partition. Labels: pipeline, topic (and partition).
std::string PrometheusText(const std::vector<StreamReport>& reports);

/// Writes text to path through a temporary file renamed over it: a reader never sees
/// half.
arrow::Status WriteFileAtomically(const std::string& path, const std::string& text);

/// The state each pipeline keeps in a table, as of snapshot: pipeline name -> its state
/// document (JSON). Pipelines whose state was reset are left out. Fails when a document
/// kept in a file of its own cannot be read.
arrow::Result<std::map<std::string, std::string>> PipelineStates(
    const Snapshot& snapshot);

/// Clears a pipeline's state in table (its next run starts afresh; its run counter keeps
/// growing), in a commit of its own. Returns the version. Invalid when the table holds no
/// state for it.
arrow::Result<int64_t> ResetPipelineState(Table& table, const std::string& pipeline);

}  // namespace inlet
