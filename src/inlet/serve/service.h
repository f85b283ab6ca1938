// The long-running part of `inlet serve`: runs each bounded pipeline when its schedule
// says (never two runs of one pipeline at once, failed runs retried with backoff), keeps
// each stream running, and keeps the last run reports for the endpoint
// (serve/endpoint.h).
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "inlet/common/mutex.h"
#include "inlet/pipeline.h"
#include "inlet/pipeline/schedule.h"

namespace inlet::serve {

/// One run as the service saw it.
struct RunRecord {
  RunReport report;
  int64_t started_ms = 0;
  int64_t finished_ms = 0;
  /// schedule, retry, missed (a run that came due while the last one ran), manual.
  std::string trigger;
  int attempt = 1;  // 1 for the scheduled run, 2.. for its retries
};

/// What the service keeps per pipeline (a copy, for the endpoint).
struct PipelineStatus {
  std::string name;
  std::string kind;            // the source kind
  std::string source;          // what it reads (a path, a topic, a URL)
  bool stream_source = false;  // consumed continuously (no runs)
  std::string table;
  std::string strategy;
  std::string schedule;  // "every 15m", "cron ...", "continuous", "manual"
  /// idle, running, waiting_retry; streams: starting, running, restarting, stopped.
  std::string state;
  std::optional<int64_t> next_run_ms;
  std::deque<RunRecord> runs;  // newest last
  // Totals since the service started.
  std::map<std::string, int64_t> runs_by_status;
  int64_t rows_read = 0, rows_written = 0, rows_rejected = 0;
  int64_t rows_inserted = 0, rows_updated = 0, rows_deleted = 0;
  int64_t partitions_touched = 0;
  int64_t duration_ms_total = 0;
  std::optional<int64_t> last_success_ms;
  int64_t table_version = -1;
  // Maintenance totals: files and bytes before and after compaction, files vacuumed.
  int64_t optimize_runs = 0, files_before = 0, files_after = 0, bytes_before = 0,
          bytes_after = 0, vacuumed_files = 0, maintenance_failures = 0;
  // Streams: the latest report and how often the stream was started again.
  std::optional<StreamReport> stream;
  int64_t stream_restarts = 0;
};

struct ServiceSettings {
  size_t history = 50;  // run records kept per pipeline
  size_t max_concurrent_runs = 2;
  /// A failed stream is started again after this, doubling up to five minutes.
  int64_t stream_restart_ms = 5000;
  /// Called after each run with its report, from the run's thread.
  std::function<void(const RunReport&)> on_run;
  /// Called with each stream's reports (about every second while it runs, and when it
  /// ends), from the stream's thread.
  std::function<void(const StreamReport&)> on_stream;
};

class Service {
 public:
  Service(std::vector<Pipeline> pipelines, ServiceSettings settings);
  ~Service();

  /// Starts the streams, the scheduler and the run workers.
  void Start();
  /// No new runs from now on; streams are asked to stop (they flush first). Returns at
  /// once; Wait waits.
  void Stop();
  /// Returns once every run and stream has ended (after Stop).
  void Wait();

  /// Runs the pipeline as soon as a worker is free (unless it is running already).
  /// Invalid for an unknown pipeline or a stream.
  arrow::Status Trigger(const std::string& pipeline);

  /// Started, not stopping, and every stream running.
  bool Ready() const;
  std::vector<PipelineStatus> Status() const;
  int64_t started_ms() const { return started_ms_; }

 private:
  struct Entry;
  void SchedulerLoop();
  void WorkerLoop();
  void StreamLoop(Entry* e);
  void Finished(Entry* e, RunRecord record);
  void ScheduleNext(Entry* e, int64_t now) REQUIRES(mu_);
  int64_t Jitter(const Entry& e);

  ServiceSettings settings_;
  std::vector<std::unique_ptr<Entry>> entries_;
  mutable Mutex mu_;
  CondVar cv_{&mu_};
  bool started_ GUARDED_BY(mu_) = false;
  bool stopping_ GUARDED_BY(mu_) = false;
  bool reschedule_ GUARDED_BY(mu_) = false;   // a run ended: the scheduler looks again
  std::deque<Entry*> queue_ GUARDED_BY(mu_);  // due to run, in order
  int64_t started_ms_ = 0;
  std::vector<std::thread> threads_;
};

}  // namespace inlet::serve
