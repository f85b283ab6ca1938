#include "inlet/cli/pipeline_commands.h"

#include <atomic>
#include <chrono>
#include <iostream>
#include <mutex>
#include <thread>
#include <vector>

#include "inlet/cli/output.h"
#include "inlet/cli/table_names.h"
#include "inlet/pipeline.h"
#include "inlet/status.h"
#include "inlet/table.h"

namespace inlet::cli {

namespace {
// Set once a run or stream printed a JSON report (its errors are in it).
bool g_printed_report = false;
}  // namespace

bool PipelineCommands::reports() const { return g_printed_report; }

namespace {

// The pipelines of a file to run: the one named, or every one whose source is (or is not)
// a stream.
arrow::Result<std::vector<Pipeline>> SelectPipelines(const std::string& file,
                                                     const std::string& name,
                                                     bool streams) {
  ARROW_ASSIGN_OR_RAISE(auto pipelines, LoadPipelineFile(file));
  const char* command = streams ? "inlet stream" : "inlet run";
  const char* other = streams ? "inlet run" : "inlet stream";
  std::vector<Pipeline> selected;
  for (auto& p : pipelines) {
    if (!name.empty() && p.name() == name) {
      if (p.streams() != streams) {
        return arrow::Status::Invalid(file, ": pipeline '", name, "' has a ",
                                      p.source_kind(), " source: run it with ", other);
      }
      selected.push_back(p);
    } else if (name.empty() && p.streams() == streams) {
      selected.push_back(p);
    }
  }
  if (selected.empty()) {
    std::string names;
    for (const auto& p : pipelines) names += (names.empty() ? "" : ", ") + p.name();
    if (!name.empty()) {
      return arrow::Status::Invalid(file, ": no pipeline named '", name,
                                    "' (the file has: ", names, ")");
    }
    return arrow::Status::Invalid(file, ": no pipeline for ", command, " (",
                                  streams ? "kafka" : "file",
                                  " sources; the file has: ", names, ")");
  }
  return selected;
}

// A report for a stream that has not reported yet (status as given).
StreamReport BlankReport(const Pipeline& p, StreamStatus status) {
  StreamReport r;
  r.pipeline = p.name();
  r.table = p.table();
  r.topic = p.source_location();
  r.status = status;
  return r;
}

// The latest report of each stream, shared by the streams' threads and the metrics
// writer.
class StreamProgress {
 public:
  explicit StreamProgress(std::vector<StreamReport> initial)
      : reports_(std::move(initial)) {}

  void Set(size_t i, const StreamReport& r) {
    std::lock_guard<std::mutex> lock(mutex_);
    reports_[i] = r;
  }
  // The final report of stream i, keeping the last lag seen while it ran.
  void Finish(size_t i, StreamReport r) {
    std::lock_guard<std::mutex> lock(mutex_);
    r.lag = reports_[i].lag;
    reports_[i] = std::move(r);
  }
  StreamReport Get(size_t i) const {
    std::lock_guard<std::mutex> lock(mutex_);
    return reports_[i];
  }
  arrow::Status WriteMetrics(const std::string& path) const {
    if (path.empty()) return arrow::Status::OK();
    std::lock_guard<std::mutex> lock(mutex_);
    return WriteFileAtomically(path, PrometheusText(reports_));
  }

 private:
  mutable std::mutex mutex_;
  std::vector<StreamReport> reports_;  // guarded by mutex_
};

}  // namespace

void PipelineCommands::Register(CLI::App* app) {
  RunArgs& r = run_args_;
  run_ =
      app->add_subcommand("run", "Run the pipelines of a YAML file (docs/pipelines.md)");
  run_->add_option("file", r.file, "Pipeline file")->required();
  run_->add_option("--pipeline", r.pipeline, "Run only this pipeline");
  run_->add_flag("--json", r.json, "Print each run report as one JSON line");
  run_->add_flag("--dry-run", r.dry_run, "Read and check, but commit nothing");
  run_->add_option("--from", r.from,
                   "Backfill: load cursor values from this one (inclusive)");
  run_->add_option("--to", r.to, "Backfill: up to this cursor value (exclusive)");

  StreamArgs& sa = stream_args_;
  stream_ = app->add_subcommand("stream",
                                "Stream the kafka and postgres_cdc pipelines of a YAML "
                                "file into their tables (docs/streams.md)");
  stream_->add_option("file", sa.file, "Pipeline file")->required();
  stream_->add_option("--pipeline", sa.pipeline, "Run only this pipeline");
  stream_->add_flag("--json", sa.json,
                    "Print each stream's report as one JSON line when it stops");
  stream_->add_option("--idle-exit", sa.idle_exit,
                      "Stop after this many seconds without a message (default: run "
                      "until SIGINT/SIGTERM)");
  stream_->add_flag("--catch-up", sa.catch_up,
                    "Stop once the tables hold every change committed before the start "
                    "(postgres_cdc: a batch that catches up and exits)");
  stream_->add_option(
      "--metrics-file", sa.metrics_file,
      "Keep the streams' counters and lag in this file, in the Prometheus text format");
  stream_
      ->add_option("--metrics-interval", sa.metrics_interval,
                   "Seconds between metrics-file updates (default 10)")
      ->check(CLI::PositiveNumber);

  state_ = app->add_subcommand("state", "Show the pipeline state stored in a table");
  state_
      ->add_option(
          "table", state_args_.table,
          "Table path or URI (file://, s3://, postgresql://user@host/db#schema.table)")
      ->required();
  state_->add_flag("--json", state_args_.json, "Print JSON");

  reset_ = app->add_subcommand("reset", "Clear one pipeline's state in a table");
  reset_
      ->add_option(
          "table", reset_args_.table,
          "Table path or URI (file://, s3://, postgresql://user@host/db#schema.table)")
      ->required();
  reset_->add_option("--pipeline", reset_args_.pipeline, "The pipeline")->required();
}

bool PipelineCommands::parsed() const {
  return run_->parsed() || stream_->parsed() || state_->parsed() || reset_->parsed();
}

arrow::Status PipelineCommands::Run() const {
  if (run_->parsed()) return RunPipelines(run_args_);
  if (stream_->parsed()) return RunStreams(stream_args_);
  if (state_->parsed()) return ShowState(state_args_);
  return ResetState(reset_args_);
}

arrow::Status PipelineCommands::RunPipelines(const RunArgs& a) {
  ARROW_ASSIGN_OR_RAISE(auto pipelines,
                        SelectPipelines(a.file, a.pipeline, /*streams=*/false));
  if (a.from.empty() != a.to.empty())
    return arrow::Status::Invalid("--from and --to go together");
  RunOptions options;
  options.dry_run = a.dry_run;
  if (!a.from.empty()) {
    options.backfill_from = a.from;
    options.backfill_to = a.to;
  }
  // Every pipeline runs; a failure is reported and the others still run.
  arrow::Status first_failure;
  int failures = 0;
  for (const auto& p : pipelines) {
    auto result = RunPipeline(p, options);
    RunReport report;
    if (result.ok()) {
      report = *result;
      // Committed, but its maintenance failed.
      if (!report.error.empty() && failures++ == 0)
        first_failure = arrow::Status::IOError(report.error);
    } else {
      report = FailedReport(p, result.status());
      if (failures++ == 0) first_failure = result.status();
    }
    if (a.json) {
      std::cout << report.ToJson() << std::endl;
      g_printed_report = true;
    } else {
      std::cout << report.ToText() << std::flush;
    }
  }
  if (failures > 1) {
    return first_failure.WithMessage(first_failure.message(), " (and ", failures - 1,
                                     " more failed pipelines)");
  }
  return first_failure;
}

// Every selected stream runs in its own thread until SIGINT/SIGTERM; the first failure
// stops the others (each commits what it holds).
arrow::Status PipelineCommands::RunStreams(const StreamArgs& a) {
  ARROW_ASSIGN_OR_RAISE(auto pipelines,
                        SelectPipelines(a.file, a.pipeline, /*streams=*/true));
  std::atomic<bool> stop{false};
  StreamOptions options;
  options.idle_exit_ms = static_cast<int64_t>(a.idle_exit * 1000);
  options.catch_up = a.catch_up;
  options.stop = &stop;
  std::vector<arrow::Result<StreamReport>> results(
      pipelines.size(), arrow::Status::UnknownError("not run"));
  std::vector<StreamReport> initial;
  for (const auto& p : pipelines)
    initial.push_back(BlankReport(p, StreamStatus::kRunning));
  StreamProgress progress(std::move(initial));
  ARROW_RETURN_NOT_OK(progress.WriteMetrics(a.metrics_file));
  std::atomic<size_t> running{pipelines.size()};
  std::vector<std::thread> threads;
  for (size_t i = 0; i < pipelines.size(); ++i) {
    threads.emplace_back([&, i]() {
      StreamOptions mine = options;
      if (!a.metrics_file.empty()) {
        mine.progress_interval_ms =
            std::min<int64_t>(1000, static_cast<int64_t>(a.metrics_interval * 1000));
        mine.on_progress = [&, i](const StreamReport& r) { progress.Set(i, r); };
      }
      results[i] = RunStream(pipelines[i], mine);
      if (!results[i].ok()) stop.store(true);
      --running;
    });
  }
  // The metrics file is rewritten every interval while streams run, and once at the end.
  auto next_write = std::chrono::steady_clock::now();
  while (running.load() > 0 && !a.metrics_file.empty()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (std::chrono::steady_clock::now() < next_write) continue;
    next_write +=
        std::chrono::milliseconds(static_cast<int64_t>(a.metrics_interval * 1000));
    if (auto st = progress.WriteMetrics(a.metrics_file); !st.ok()) {
      std::cerr << "inlet stream: metrics: " << st.message() << std::endl;
    }
  }
  for (auto& t : threads) t.join();
  arrow::Status first_failure;
  for (size_t i = 0; i < pipelines.size(); ++i) {
    StreamReport report;
    if (results[i].ok()) {
      report = *results[i];
    } else {
      report = BlankReport(pipelines[i], StreamStatus::kFailed);
      report.error = ErrorText(results[i].status());
      if (first_failure.ok()) first_failure = results[i].status();
    }
    progress.Finish(i, report);
    report = progress.Get(i);
    if (a.json) {
      std::cout << report.ToJson() << std::endl;
      g_printed_report = true;
    } else {
      std::cout << report.pipeline << ": " << StreamStatusName(report.status) << ", "
                << report.messages << " messages, " << report.rows_written << " rows and "
                << report.dead_letters << " dead letters committed in " << report.commits
                << " commits (table version " << report.table_version << ")\n";
    }
  }
  if (auto st = progress.WriteMetrics(a.metrics_file); !st.ok()) {
    std::cerr << "inlet stream: metrics: " << st.message() << std::endl;
  }
  return first_failure;
}

arrow::Status PipelineCommands::ShowState(const StateArgs& a) {
  ARROW_ASSIGN_OR_RAISE(auto table, OpenTable(a.table));
  ARROW_ASSIGN_OR_RAISE(auto snapshot, table->GetSnapshot({}));
  Json out = Json::object();
  ARROW_ASSIGN_OR_RAISE(auto states, PipelineStates(*snapshot));
  for (const auto& [name, document] : states) {
    try {
      out[name] = Json::parse(document);
    } catch (const Json::exception& e) {
      return arrow::Status::Invalid("state of pipeline ", name,
                                    ": invalid JSON: ", e.what());
    }
  }
  if (a.json) {
    std::cout << Pretty(out) << std::endl;
    return arrow::Status::OK();
  }
  if (out.empty())
    std::cout << "no pipeline state in " << a.table << " (version " << snapshot->version()
              << ")\n";
  auto text = [](const Json& s, const char* key, const char* fallback) {
    return s.contains(key) && s[key].is_string() ? s[key].get<std::string>()
                                                 : std::string(fallback);
  };
  for (auto it = out.begin(); it != out.end(); ++it) {
    const Json& s = it.value();
    int64_t run =
        s.contains("run") && s["run"].is_number_integer() ? s["run"].get<int64_t>() : 0;
    std::cout << it.key() << ": strategy " << text(s, "strategy", "?") << ", run " << run;
    if (s.contains("watermark") && s["watermark"].is_string()) {
      std::cout << ", watermark " << s["watermark"].get<std::string>() << " ("
                << text(s, "cursor", "") << ")";
    }
    for (const char* key : {"files", "loaded_files"}) {  // loaded_files: earlier versions
      if (s.contains(key) && !s[key].empty())
        std::cout << ", " << s[key].size() << " files loaded";
    }
    std::cout << ", updated " << text(s, "updated_at", "?") << "\n";
  }
  return arrow::Status::OK();
}

arrow::Status PipelineCommands::ResetState(const StateArgs& a) {
  ARROW_ASSIGN_OR_RAISE(auto table, OpenTable(a.table));
  // Checks that the pipeline has a state, without reading it: one that cannot be read
  // can still be cleared.
  ARROW_ASSIGN_OR_RAISE(int64_t version, ResetPipelineState(*table, a.pipeline));
  std::cout << "cleared the state of pipeline " << a.pipeline << " in " << a.table
            << " at version " << version << std::endl;
  return arrow::Status::OK();
}

}  // namespace inlet::cli
