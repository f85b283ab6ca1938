#include "inlet/serve/service.h"

#include <algorithm>
#include <random>

#include "inlet/common/json.h"
#include "inlet/common/time.h"
#include "inlet/pipeline/config.h"
#include "inlet/status.h"
#include "inlet/time.h"

namespace inlet::serve {

struct Service::Entry {
  explicit Entry(Pipeline p) : pipeline(std::move(p)) {}
  Pipeline pipeline;
  std::optional<pipeline::ScheduleConfig> schedule;
  bool stream = false;
  PipelineStatus status;
  bool running = false;        // a run is queued or going
  bool started = false;        // ... and going
  bool pending = false;        // a run came due meanwhile (missed: run_once)
  int64_t next_due_ms = -1;    // the next regular due time
  int64_t next_start_ms = -1;  // ... with its jitter
  int64_t retry_at_ms = -1;    // a failed run's next attempt
  std::string trigger;         // of the queued run
  int attempt = 1;
  std::atomic<bool> stop{false};  // streams
};

Service::Service(std::vector<Pipeline> pipelines, ServiceSettings settings)
    : settings_(settings), started_ms_(NowMillis()) {
  for (auto& p : pipelines) {
    auto e = std::make_unique<Entry>(p);
    e->stream = p.streams();
    e->schedule = p.config().schedule;
    PipelineStatus& s = e->status;
    s.name = p.name();
    s.kind = p.source_kind();
    s.source = p.source_location();
    s.stream_source = e->stream;
    s.table = p.table();
    s.strategy = p.strategy();
    s.schedule = e->stream     ? "continuous"
                 : e->schedule ? pipeline::Describe(*e->schedule)
                               : "manual";
    s.state = e->stream ? "starting" : "idle";
    entries_.push_back(std::move(e));
  }
}

Service::~Service() {
  Stop();
  Wait();
}

int64_t Service::Jitter(const Entry& e) {
  if (!e.schedule || e.schedule->jitter_ms <= 0) return 0;
  static thread_local std::mt19937_64 random{std::random_device{}()};
  return static_cast<int64_t>(random() %
                              static_cast<uint64_t>(e.schedule->jitter_ms + 1));
}

void Service::ScheduleNext(Entry* e, int64_t now) {
  if (!e->schedule) return;
  int64_t due = e->next_due_ms;
  if (e->schedule->every_ms > 0) {
    // Anchored to the first due time: a late scheduler does not drift.
    due = due < 0 ? now : due + e->schedule->every_ms;
    if (due <= now)
      due += ((now - due) / e->schedule->every_ms + 1) * e->schedule->every_ms;
  } else {
    auto next = pipeline::NextDue(*e->schedule, std::max(now, due));
    due = next.ok() ? *next : -1;
  }
  e->next_due_ms = due;
  e->next_start_ms = due < 0 ? -1 : due + Jitter(*e);
}

namespace {

// When the pipeline last committed (its state's updated_at, from its table); nullopt
// when its table or state is not there yet.
std::optional<int64_t> LastCommitMs(const Pipeline& p) {
  auto table = pipeline::OpenDestination(p.config().destination);
  if (!table.ok()) return std::nullopt;
  auto snapshot = (*table)->GetSnapshot({});
  if (!snapshot.ok()) return std::nullopt;
  auto states = PipelineStates(**snapshot);
  if (!states.ok()) return std::nullopt;
  auto it = states->find(p.name());
  if (it == states->end()) return std::nullopt;
  auto doc = ParseJson(it->second, "pipeline state");
  if (!doc.ok()) return std::nullopt;
  auto at = ParseTimestampMicros(GetStringOr(*doc, "updated_at", ""));
  if (!at.ok()) return std::nullopt;
  return *at / 1000;
}

}  // namespace

void Service::Start() {
  // Cron runs that came due while serve was down: made up once, now (run_once).
  std::vector<Entry*> missed;
  for (auto& e : entries_) {
    if (e->stream || !e->schedule || e->schedule->every_ms > 0 ||
        e->schedule->missed != pipeline::ScheduleConfig::Missed::kRunOnce)
      continue;
    auto last = LastCommitMs(e->pipeline);
    if (last && pipeline::MissedSince(*e->schedule, *last, started_ms_))
      missed.push_back(e.get());
  }
  {
    MutexLock lock(&mu_);
    started_ = true;
    for (auto& e : entries_) {
      if (e->stream || !e->schedule) continue;
      if (e->schedule->every_ms > 0) {
        e->next_due_ms = started_ms_;  // an interval starts with a run
        e->next_start_ms = started_ms_ + Jitter(*e);
      } else {
        ScheduleNext(e.get(), started_ms_);
      }
    }
    for (Entry* e : missed) {
      e->running = true;
      e->trigger = "missed";
      queue_.push_back(e);
    }
  }
  threads_.emplace_back([this] { SchedulerLoop(); });
  for (size_t i = 0; i < std::max<size_t>(1, settings_.max_concurrent_runs); ++i)
    threads_.emplace_back([this] { WorkerLoop(); });
  for (auto& e : entries_) {
    if (e->stream) threads_.emplace_back([this, p = e.get()] { StreamLoop(p); });
  }
}

void Service::Stop() {
  MutexLock lock(&mu_);
  stopping_ = true;
  for (Entry* e : queue_) e->running = false;
  queue_.clear();
  for (auto& e : entries_) e->stop = true;
  cv_.NotifyAll();
}

void Service::Wait() {
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
}

arrow::Status Service::Trigger(const std::string& name) {
  MutexLock lock(&mu_);
  for (auto& e : entries_) {
    if (e->pipeline.name() != name) continue;
    if (e->stream)
      return arrow::Status::Invalid("pipeline '", name,
                                    "' is a stream: it runs all the time");
    if (stopping_) return arrow::Status::Invalid("the service is stopping");
    if (e->running)
      return arrow::Status::AlreadyExists("pipeline '", name, "' is running");
    e->running = true;
    e->trigger = "manual";
    e->attempt = 1;
    e->retry_at_ms = -1;  // the manual run replaces a retry not yet made
    queue_.push_back(e.get());
    cv_.NotifyAll();
    return arrow::Status::OK();
  }
  return arrow::Status::KeyError("no pipeline named '", name, "'");
}

void Service::SchedulerLoop() {
  MutexLock lock(&mu_);
  while (!stopping_) {
    int64_t now = NowMillis();
    int64_t wake = now + 60000;
    for (auto& ep : entries_) {
      Entry* e = ep.get();
      if (e->stream) continue;
      if (e->next_start_ms >= 0 && now >= e->next_start_ms) {
        if (e->running) {
          // Never two runs of one pipeline: a run_once policy runs once it ends.
          // (A run still queued covers this due time already.)
          if (e->started &&
              e->schedule->missed == pipeline::ScheduleConfig::Missed::kRunOnce)
            e->pending = true;
        } else {
          e->running = true;
          e->trigger = "schedule";
          e->attempt = 1;
          e->retry_at_ms = -1;  // the regular run replaces a retry not yet made
          queue_.push_back(e);
        }
        ScheduleNext(e, now);
      }
      if (e->retry_at_ms >= 0 && now >= e->retry_at_ms && !e->running) {
        e->retry_at_ms = -1;
        e->running = true;
        e->trigger = "retry";
        queue_.push_back(e);
      }
      if (e->next_start_ms >= 0) wake = std::min(wake, e->next_start_ms);
      if (e->retry_at_ms >= 0 && !e->running) wake = std::min(wake, e->retry_at_ms);
    }
    if (!queue_.empty()) cv_.NotifyAll();
    int64_t wait = std::max<int64_t>(wake - NowMillis(), 1);
    cv_.WaitFor(wait, [&] { return stopping_ || reschedule_; });
    reschedule_ = false;
  }
}

void Service::WorkerLoop() {
  while (true) {
    Entry* e = nullptr;
    RunRecord record;
    {
      MutexLock lock(&mu_);
      cv_.Wait([&] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      e = queue_.front();
      queue_.pop_front();
      e->started = true;
      e->status.state = "running";
      record.trigger = e->trigger;
      record.attempt = e->attempt;
    }
    record.started_ms = NowMillis();
    auto report = RunPipeline(e->pipeline);
    record.report = report.ok() ? *report : FailedReport(e->pipeline, report.status());
    record.finished_ms = NowMillis();
    if (settings_.on_run) settings_.on_run(record.report);
    Finished(e, std::move(record));
  }
}

void Service::Finished(Entry* e, RunRecord record) {
  MutexLock lock(&mu_);
  const RunReport& r = record.report;
  PipelineStatus& s = e->status;
  ++s.runs_by_status[RunStatusName(r.status)];
  s.rows_read += r.rows_read;
  s.rows_written += r.rows_written;
  s.rows_rejected += r.rows_rejected;
  s.rows_inserted += r.rows_inserted;
  s.rows_updated += r.rows_updated;
  s.rows_deleted += r.rows_deleted;
  s.partitions_touched += r.partitions_touched;
  s.duration_ms_total += r.duration_ms;
  if (r.table_version >= 0) s.table_version = r.table_version;
  bool failed = r.status == RunStatus::kFailed;
  if (!failed) s.last_success_ms = record.finished_ms;
  if (const auto& o = r.maintenance.optimize; o && o->version >= 0) {
    ++s.optimize_runs;
    s.files_before += o->before.files;
    s.files_after += o->after.files;
    s.bytes_before += o->before.bytes;
    s.bytes_after += o->after.bytes;
  }
  if (const auto& v = r.maintenance.vacuum) s.vacuumed_files += v->deleted.files;
  if (!failed && !r.error.empty()) ++s.maintenance_failures;
  s.runs.push_back(std::move(record));
  while (s.runs.size() > settings_.history) s.runs.pop_front();
  e->running = false;
  e->started = false;
  int attempt = s.runs.back().attempt;
  if (failed && e->schedule && attempt <= e->schedule->retries && !stopping_) {
    int64_t backoff = e->schedule->retry_backoff_ms;
    for (int i = 1; i < attempt && backoff < 3600000; ++i) backoff *= 2;
    e->retry_at_ms = NowMillis() + backoff;
    e->attempt = attempt + 1;
    s.state = "waiting_retry";
  } else {
    e->attempt = 1;
    e->retry_at_ms = -1;
    s.state = "idle";
  }
  if (e->pending && !stopping_) {
    e->pending = false;
    e->running = true;
    e->trigger = "missed";
    e->attempt = 1;
    e->retry_at_ms = -1;
    queue_.push_back(e);
  }
  reschedule_ = true;
  cv_.NotifyAll();
}

void Service::StreamLoop(Entry* e) {
  int64_t backoff = settings_.stream_restart_ms;
  while (true) {
    int64_t began = NowMillis();
    {
      MutexLock lock(&mu_);
      if (stopping_) break;
      e->status.state = "running";
    }
    StreamOptions options;
    options.stop = &e->stop;
    options.handle_signals = false;  // serve takes them (serve.cc)
    options.on_progress = [this, e](const StreamReport& r) {
      if (settings_.on_stream) settings_.on_stream(r);
      MutexLock lock(&mu_);
      e->status.stream = r;
    };
    auto result = RunStream(e->pipeline, options);
    StreamReport report;
    if (result.ok()) {
      report = *result;
    } else {
      report.pipeline = e->pipeline.name();
      report.table = e->pipeline.table();
      report.topic = e->pipeline.source_location();
      report.status = StreamStatus::kFailed;
      report.error = ErrorText(result.status());
    }
    if (settings_.on_stream) settings_.on_stream(report);
    MutexLock lock(&mu_);
    e->status.stream = report;
    if (stopping_) {
      e->status.state = "stopped";
      break;
    }
    // A stream that ended on its own failed: it starts again, after a growing pause.
    // (The pause starts small again after a minute of running.)
    if (NowMillis() - began > 60000) backoff = settings_.stream_restart_ms;
    e->status.state = "restarting";
    ++e->status.stream_restarts;
    cv_.WaitFor(backoff, [&] { return stopping_; });
    backoff = std::min<int64_t>(backoff * 2, 300000);
    if (stopping_) {
      e->status.state = "stopped";
      break;
    }
  }
}

bool Service::Ready() const {
  MutexLock lock(&mu_);
  if (!started_ || stopping_) return false;
  for (const auto& e : entries_)
    if (e->stream && e->status.state != "running") return false;
  return true;
}

std::vector<PipelineStatus> Service::Status() const {
  MutexLock lock(&mu_);
  std::vector<PipelineStatus> out;
  for (const auto& e : entries_) {
    PipelineStatus s = e->status;
    int64_t next = -1;
    for (int64_t t : {e->next_start_ms, e->retry_at_ms})
      if (t >= 0) next = next < 0 ? t : std::min(next, t);
    if (next >= 0 && !stopping_) s.next_run_ms = next;
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace inlet::serve
